import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { z } from 'zod';
import { decodeWebhookSecret } from '../domain/signing.js';
import type { AccountConfig, Config, SubscriptionConfig } from './config.js';
import { type ConfigFile, configFileSchema, type SecretReference } from './schema.js';

/** A configuration that cannot be used; lists every bad field by path. Not retryable: fix the file. */
export class ConfigError extends Error {
  readonly retryable = false;
  constructor(
    readonly source: string,
    readonly problems: readonly { path: string; message: string }[],
  ) {
    super(
      `Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

type Problems = { path: string; message: string }[];

function formatPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>((out, key) => {
      if (typeof key === 'number') return `${out}[${key}]`;
      return out ? `${out}.${String(key)}` : String(key);
    }, '') || '(root)'
  );
}

const LOOPBACK_NAMES = new Set(['localhost', 'ip6-localhost']);
function isLoopbackHost(host: string): boolean {
  if (LOOPBACK_NAMES.has(host.toLowerCase())) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * Reads and validates a config file, resolves relative paths against the file's folder and resolves
 * every secret reference. All problems are collected into one ConfigError.
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ path: '(file)', message: `cannot read: ${(error as Error).message}` }]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [{ path: '(file)', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  return parseConfig(json, { source: file, baseDir: dirname(resolve(file)), env });
}

export function parseConfig(
  json: unknown,
  context: { source: string; baseDir: string; env: NodeJS.ProcessEnv },
): Config {
  const parsed = configFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(context.source, parsed.error.issues.map(zodProblem));
  }
  const problems: Problems = [];
  const config = resolveConfig(parsed.data, context, problems);
  if (problems.length > 0) throw new ConfigError(context.source, problems);
  return config;
}

function zodProblem(issue: z.core.$ZodIssue): { path: string; message: string } {
  if (issue.code === 'unrecognized_keys') {
    return { path: formatPath(issue.path), message: `unknown field(s): ${issue.keys.join(', ')}` };
  }
  if (issue.code === 'invalid_union' && issue.path.length > 0) {
    return {
      path: formatPath(issue.path),
      message: 'expected a string, { "env": NAME } or { "file": PATH }',
    };
  }
  return { path: formatPath(issue.path), message: issue.message };
}

function resolveConfig(
  file: ConfigFile,
  context: { baseDir: string; env: NodeJS.ProcessEnv },
  problems: Problems,
): Config {
  const resolvePath = (p: string) => (isAbsolute(p) ? p : resolve(context.baseDir, p));
  const readSecret = (reference: SecretReference, path: string): string => {
    if (typeof reference === 'string') return reference;
    if ('env' in reference) {
      const value = context.env[reference.env];
      if (value === undefined || value === '') {
        problems.push({ path: `${path}.env`, message: `environment variable ${reference.env} is not set` });
        return '';
      }
      return value;
    }
    try {
      return readFileSync(resolvePath(reference.file), 'utf8').trim();
    } catch (error) {
      problems.push({
        path: `${path}.file`,
        message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
      });
      return '';
    }
  };

  const accountIds = new Set<string>();
  const accounts = file.accounts.map((account, index): AccountConfig => {
    const path = `accounts[${index}]`;
    if (accountIds.has(account.id))
      problems.push({ path: `${path}.id`, message: `duplicate account id "${account.id}"` });
    accountIds.add(account.id);
    if (account.security === 'none' && !account.allowInsecure && !isLoopbackHost(account.host)) {
      problems.push({
        path: `${path}.security`,
        message: `"none" sends the password in plain text; allowed only for loopback hosts or with "allowInsecure": true`,
      });
    }
    const mailboxes = new Set(account.mailboxes);
    if (mailboxes.size !== account.mailboxes.length) {
      problems.push({ path: `${path}.mailboxes`, message: 'lists a mailbox twice' });
    }
    let ca: string | undefined;
    if (account.tls.ca) {
      try {
        ca = readFileSync(resolvePath(account.tls.ca), 'utf8');
      } catch (error) {
        problems.push({
          path: `${path}.tls.ca`,
          message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
        });
      }
    }
    return {
      id: account.id,
      host: account.host,
      port: account.port ?? (account.security === 'tls' ? 993 : 143),
      security: account.security,
      user: account.user,
      password: readSecret(account.password, `${path}.password`),
      tls: { ca, servername: account.tls.servername },
      mailboxes: [...mailboxes],
      initialSync: account.initialSync,
    };
  });

  const subscriptionIds = new Set<string>();
  const subscriptions = file.subscriptions.map((subscription, index): SubscriptionConfig => {
    const path = `subscriptions[${index}]`;
    if (subscriptionIds.has(subscription.id)) {
      problems.push({ path: `${path}.id`, message: `duplicate subscription id "${subscription.id}"` });
    }
    subscriptionIds.add(subscription.id);
    subscription.accounts?.forEach((accountId, i) => {
      if (!accountIds.has(accountId)) {
        problems.push({ path: `${path}.accounts[${i}]`, message: `no account with id "${accountId}"` });
      }
    });
    const secretText = readSecret(subscription.secret, `${path}.secret`);
    let secret: Buffer = Buffer.alloc(0);
    if (secretText) {
      try {
        secret = decodeWebhookSecret(secretText);
      } catch (error) {
        problems.push({ path: `${path}.secret`, message: (error as Error).message });
      }
    }
    return {
      id: subscription.id,
      url: subscription.url,
      secret,
      events: subscription.events ? new Set(subscription.events) : undefined,
      accounts: subscription.accounts ? new Set(subscription.accounts) : undefined,
    };
  });

  return {
    dataDir: resolvePath(file.dataDir),
    logLevel: file.logLevel,
    http: file.http,
    delivery: file.delivery,
    reconnect: file.reconnect,
    imap: file.imap,
    accounts,
    subscriptions,
  };
}
