import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { type ParseError, parse as parseJsonc, printParseErrorCode } from 'jsonc-parser';
import type { z } from 'zod';
import { type ErrorCause, errorMessage, IdlehookError } from '../domain/errors.js';
import { ownValue, recordOf } from '../domain/null-prototype.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import { accountSettings, oauth2TokenUrl, presetOf } from './account-settings.js';
import type { AccountConfig, Config, ConnectConfig, ConnectProviderConfig } from './config.js';
import { didYouMean, knownFieldsAt } from './field-suggestions.js';
import { CONNECT_PRESETS, CONNECT_PROVIDER_NAMES } from './providers.js';
import {
  type AccountInput,
  accountSchema,
  type ConfigContext,
  type ConfigFile,
  configFileSchema,
  connectSchema,
  INLINE_SECRETS,
  isLoopbackHost,
  type SubscriptionInput,
  subscriptionSchema,
} from './schema.js';

export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

/** A configuration that cannot be used; lists every bad field by path. Not retryable: fix the file. */
export class ConfigError extends IdlehookError {
  override readonly name = 'ConfigError';
  constructor(
    readonly source: string,
    readonly problems: readonly ConfigProblem[],
    options: ErrorCause = {},
  ) {
    super(
      'CONFIG_INVALID',
      false,
      `Invalid configuration in ${source}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
      options,
    );
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  const text = path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    return out ? `${out}.${String(key)}` : String(key);
  }, '');
  return text || '(root)';
}

/** One zod issue as a problem; an unknown field gets the nearest known one of `schema` as a suggestion. */
export function zodProblem(issue: z.core.$ZodIssue, schema?: z.ZodType): ConfigProblem {
  if (issue.code === 'unrecognized_keys') {
    const known = schema ? knownFieldsAt(schema, issue.path) : [];
    const named = issue.keys.map((key) => `${key}${didYouMean(key, known)}`);
    return { path: formatPath(issue.path), message: `unknown field(s): ${named.join(', ')}` };
  }
  return { path: formatPath(issue.path), message: issue.message };
}

/**
 * Rules that span fields. Checked on the raw input, defensively, so they are reported in the same error as
 * the schema's problems rather than only once those are fixed.
 */
function crossFieldProblems(json: unknown): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const root = (json ?? {}) as { accounts?: unknown; subscriptions?: unknown };
  const accounts = Array.isArray(root.accounts) ? (root.accounts as Record<string, unknown>[]) : [];
  const subscriptions = Array.isArray(root.subscriptions)
    ? (root.subscriptions as Record<string, unknown>[])
    : [];
  const duplicates = (items: Record<string, unknown>[], prefix: string, kind: string) => {
    const seen = new Set<unknown>();
    items.forEach((item, index) => {
      if (typeof item?.id !== 'string') return;
      if (seen.has(item.id))
        problems.push({ path: `${prefix}[${index}].id`, message: `duplicate ${kind} id "${item.id}"` });
      seen.add(item.id);
    });
  };
  duplicates(accounts, 'accounts', 'account');
  duplicates(subscriptions, 'subscriptions', 'subscription');
  accounts.forEach((account, index) => {
    problems.push(...accountProblems(account, `accounts[${index}]`));
  });
  const accountIds = new Set(accounts.map((a) => a?.id));
  subscriptions.forEach((subscription, index) => {
    if (!Array.isArray(subscription?.accounts)) return;
    subscription.accounts.forEach((id: unknown, i: number) => {
      if (typeof id === 'string' && !accountIds.has(id)) {
        problems.push({
          path: `subscriptions[${index}].accounts[${i}]`,
          message: `no account with id "${id}"`,
        });
      }
    });
  });
  return problems;
}

/** Rules across one account's fields (`path` prefixes the fields named; empty for a document of its own): the host or a preset, one kind of credentials, no plain text off loopback. */
export function accountProblems(json: unknown, path: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const at = (field: string) => (path ? `${path}.${field}` : field);
  const account = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const preset = typeof account.provider === 'string' ? presetOf(account.provider) : undefined;
  if (account.host === undefined && account.provider === undefined) {
    problems.push({ path: at('host'), message: 'give a host, or a provider preset' });
  }
  if (account && (account.password === undefined) === (account.oauth2 === undefined)) {
    problems.push({
      path: at('password'),
      message: 'give either a password (or app password) or an "oauth2" object, not both',
    });
  }
  const oauth2 = account.oauth2 as Record<string, unknown> | undefined;
  if (oauth2 && oauth2.tokenUrl === undefined && !preset?.tokenUrl) {
    problems.push({
      path: at('oauth2.tokenUrl'),
      message: `required${typeof account.provider === 'string' ? ` (the ${account.provider} preset has none)` : ' unless a provider preset gives it'}`,
    });
  }
  if (typeof oauth2?.tokenUrl === 'string' && /^http:/i.test(oauth2.tokenUrl)) {
    const host = URL.canParse(oauth2.tokenUrl) ? new URL(oauth2.tokenUrl).hostname : '';
    if (!isLoopbackHost(host))
      problems.push({
        path: at('oauth2.tokenUrl'),
        message:
          'must be https:// (the client secret and refresh token travel in it); http:// only for loopback hosts',
      });
  }
  // The host may come from the preset: the rule holds for it as for one written out.
  const host = typeof account.host === 'string' ? account.host : preset?.host;
  if (account.security === 'none' && account.allowInsecure !== true && host !== undefined) {
    if (!isLoopbackHost(host)) {
      problems.push({
        path: at('security'),
        message:
          '"none" sends the password in plain text; allowed only for loopback hosts or with "allowInsecure": true',
      });
    }
  }
  return problems;
}

function toConfig(file: ConfigFile): Omit<Config, 'credentialSources'> {
  return {
    dataDir: file.dataDir,
    logLevel: file.logLevel,
    http: {
      port: file.http.port,
      public: file.http.public && {
        url: file.http.public.url.replace(/\/$/, ''),
        host: file.http.public.host ?? (file.http.public.behindProxy ? '127.0.0.1' : '0.0.0.0'),
        port: file.http.public.port,
        tls: file.http.public.tls,
      },
    },
    delivery: {
      ...file.delivery,
      // A token holder on another machine could otherwise subscribe an internal URL and read its answer back in
      // the attempt log: reachable from other machines, internal addresses are blocked unless said otherwise.
      blockInternalAddresses: file.delivery.blockInternalAddresses ?? file.http.public !== undefined,
      // One endpoint may use most of the slots, never all: a slow one leaves room for the others.
      maxInFlightPerEndpoint:
        file.delivery.maxInFlightPerEndpoint ?? Math.max(1, Math.floor(file.delivery.concurrency * 0.75)),
    },
    reconnect: file.reconnect,
    imap: file.imap,
    retention: file.retention,
    accounts: file.accounts.map(toAccountConfig),
    subscriptions: file.subscriptions.map(toSubscriptionConfig),
    dashboard: file.dashboard,
    connect: file.connect && toConnectConfig(file.connect),
  };
}

/** The connect flow's settings as AWS mode reads them: the config file's `connect`, secrets inline. */
export function parseConnectDocument(json: unknown, source: string): ConnectConfig {
  const schema = connectSchema(INLINE_SECRETS);
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new ConfigError(
      source,
      parsed.error.issues.map((issue) => zodProblem(issue, schema)),
    );
  return toConnectConfig(parsed.data);
}

function toConnectConfig(connect: z.output<ReturnType<typeof connectSchema>>): ConnectConfig {
  const providers = new Map<string, ConnectProviderConfig>();
  for (const name of CONNECT_PROVIDER_NAMES) {
    const client = connect.providers[name];
    const preset = CONNECT_PRESETS.get(name);
    if (!client || !preset) continue;
    providers.set(name, {
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      authorizeUrl: client.authorizeUrl ?? preset.authorizeUrl,
      tokenUrl: client.tokenUrl ?? oauth2TokenUrl(name, undefined) ?? '',
      scope: client.scope ?? preset.scope,
      extraParameters: preset.extraParameters,
      imap: client.imap && { ...client.imap, ca: client.imap.ca },
    });
  }
  return {
    allowedRedirects: connect.allowedRedirects,
    linkValidSeconds: connect.linkValidSeconds,
    providers,
  };
}

/** An account as the rest of the bridge uses it: defaults of the provider filled in, credentials resolved. */
export function toAccountConfig(account: AccountInput): AccountConfig {
  return {
    ...accountSettings({ ...account, tls: { ca: account.tls.ca, servername: account.tls.servername } }),
    auth: account.oauth2
      ? {
          kind: 'oauth2' as const,
          tokenUrl: oauth2TokenUrl(account.provider, account.oauth2.tokenUrl) ?? '',
          clientId: account.oauth2.clientId,
          clientSecret: account.oauth2.clientSecret,
          refreshToken: account.oauth2.refreshToken,
          scope: account.oauth2.scope,
        }
      : { kind: 'password' as const, password: account.password ?? '' },
  };
}

export function toSubscriptionConfig(subscription: SubscriptionInput): SubscriptionConfig {
  return {
    id: subscription.id,
    url: subscription.url,
    secrets: subscription.previousSecret
      ? [subscription.secret, subscription.previousSecret]
      : [subscription.secret],
    events: subscription.events ? new Set(subscription.events) : undefined,
    accounts: subscription.accounts ? new Set(subscription.accounts) : undefined,
    rateLimitPerSecond: subscription.rateLimitPerSecond,
    filter: subscription.filter,
    afterDelivery: subscription.afterDelivery,
    previousSecretUntil:
      subscription.previousSecret && subscription.previousSecretExpiresAt
        ? Date.parse(subscription.previousSecretExpiresAt)
        : undefined,
  };
}

/**
 * An account document of the management API: the config file's account, with its secrets and CA certificate
 * inline. Every problem goes into one ConfigError, paths relative to the document.
 */
export function parseAccountDocument(json: unknown, source: string): AccountConfig {
  const schema = accountSchema(INLINE_SECRETS);
  const parsed = schema.safeParse(json);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => zodProblem(issue, schema))),
    ...accountProblems(json, ''),
  ];
  if (problems.length > 0 || !parsed.success) throw new ConfigError(source, problems);
  return toAccountConfig(parsed.data);
}

/**
 * A subscription document of the management API; `accountIds` are the accounts it may name (undefined: any, for
 * a stored document, which keeps working when an account it names is deleted later).
 */
export function parseSubscriptionDocument(
  json: unknown,
  source: string,
  accountIds: ReadonlySet<string> | undefined,
): SubscriptionConfig {
  const schema = subscriptionSchema(INLINE_SECRETS);
  const parsed = schema.safeParse(json);
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => zodProblem(issue, schema));
  if (parsed.success)
    parsed.data.accounts?.forEach((id, i) => {
      if (accountIds && !accountIds.has(id))
        problems.push({ path: `accounts[${i}]`, message: `no account with id "${id}"` });
    });
  if (problems.length > 0 || !parsed.success) throw new ConfigError(source, problems);
  return toSubscriptionConfig(parsed.data);
}

/**
 * The environment secrets are resolved in: the process's, over the variables of the config's `envFile` (the
 * process wins, as with dotenv, so a deployment can override a file written by `idlehook init`).
 */
function environmentOf(
  json: unknown,
  context: ConfigContext,
): { readonly env: NodeJS.ProcessEnv } | { readonly problem: ConfigProblem } {
  const envFile = (json as { envFile?: unknown } | null)?.envFile;
  if (typeof envFile !== 'string' || envFile === '') return { env: context.env };
  const path = isAbsolute(envFile) ? envFile : resolve(context.baseDir, envFile);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return { problem: { path: 'envFile', message: `cannot read ${path}: ${code}` } };
  }
  const fromProcess = Object.entries(context.env).filter(
    (entry): entry is [string, string] => entry[1] !== undefined,
  );
  return { env: recordOf([...Object.entries(parseEnv(text)), ...fromProcess]) };
}

/** Validates a parsed config document and resolves it; every problem goes into one ConfigError. */
export function parseConfig(json: unknown, context: ConfigContext & { readonly source: string }): Config {
  const environment = environmentOf(json, context);
  if ('problem' in environment) throw new ConfigError(context.source, [environment.problem]);
  const schema = configFileSchema({ ...context, env: environment.env });
  const parsed = schema.safeParse(json);
  const problems = [
    ...(parsed.success ? [] : parsed.error.issues.map((issue) => zodProblem(issue, schema))),
    ...crossFieldProblems(json),
  ];
  if (problems.length > 0 || !parsed.success) throw new ConfigError(context.source, problems);
  const config = toConfig(parsed.data);
  const sources = config.accounts.flatMap((account) => {
    const source = credentialSourceOf(json, account.id, context);
    return source ? [[account.id, source] as const] : [];
  });
  return { ...config, credentialSources: new Map(sources) };
}

/**
 * Where an account's password or refresh token was taken from, as the config names it: so that a rejected login
 * can say which value to check (an environment variable set in the shell overrides the envFile's).
 */
function credentialSourceOf(json: unknown, accountId: string, context: ConfigContext): string | undefined {
  const accounts = (json as { accounts?: unknown } | null)?.accounts;
  const account = Array.isArray(accounts)
    ? (accounts as Record<string, unknown>[]).find((a) => a?.id === accountId)
    : undefined;
  const oauth2 = account?.oauth2 as Record<string, unknown> | undefined;
  const reference = account?.password ?? oauth2?.refreshToken;
  if (typeof reference === 'string') return 'the config file itself';
  if (reference === null || typeof reference !== 'object') return undefined;
  const { env, file } = reference as { env?: unknown; file?: unknown };
  if (typeof file === 'string') return `the file ${file}`;
  if (typeof env !== 'string') return undefined;
  const envFile = (json as { envFile?: unknown }).envFile;
  if (ownValue(context.env, env) !== undefined)
    return typeof envFile === 'string'
      ? `environment variable ${env}, set in the environment (which overrides ${envFile})`
      : `environment variable ${env}`;
  return typeof envFile === 'string' ? `${env} in ${envFile}` : `environment variable ${env}`;
}

/** Where JSON.parse gave up, as the line and column an editor shows, and what was expected there. */
function jsonErrorAt(text: string): string {
  const errors: ParseError[] = [];
  parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false });
  const [first] = errors;
  if (!first) return 'cannot be parsed';
  const before = text.slice(0, first.offset).split('\n');
  const line = before.length;
  const column = (before.at(-1)?.length ?? 0) + 1;
  const what = printParseErrorCode(first.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
  return `line ${line}, column ${column}: ${what}`;
}

/** Reads, validates and resolves a config file; relative paths are relative to the file's folder. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const hint =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? ' (write one with idlehook init, or start from idlehook.config.example.json)'
        : '';
    throw new ConfigError(file, [{ path: '(file)', message: `cannot read: ${errorMessage(error)}${hint}` }], {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(file, [{ path: '(file)', message: `not valid JSON: ${jsonErrorAt(text)}` }], {
      cause: error,
    });
  }
  return parseConfig(json, { source: file, baseDir: dirname(resolve(file)), env });
}
