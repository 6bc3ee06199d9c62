import { readFileSync } from 'node:fs';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { StoredAccount } from '../adapters/aws/dynamodb-account-repository.js';
import type { StoredSubscription } from '../adapters/aws/dynamodb-subscription-repository.js';
import { DEFAULT_SECRET_PREFIX, type SecretKind, secretName } from '../config/aws-environment.js';
import type { AccountConfig } from '../config/config.js';
import { ConfigError } from '../config/load-config.js';
import { PROVIDER_NAMES, PROVIDERS, type ProviderPreset } from '../config/providers.js';
import { errorMessage } from '../domain/errors.js';
import { EVENT_TYPES } from '../domain/event-schemas.js';
import { ownValue } from '../domain/null-prototype.js';
import { decodeWebhookSecret } from '../domain/signing.js';

const list = (text: string | undefined) =>
  text
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

const identifier = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'use 1-64 letters, digits, ".", "_" or "-"');

function parseOrExplain<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    what,
    parsed.error.issues.map((i) => ({ path: `--${String(i.path[0] ?? '')}`, message: i.message })),
  );
}

/**
 * Stores a secret value under idlehook/<kind>/<id> in Secrets Manager (creating or updating it) and returns its
 * ARN. The value comes from an environment variable, so it never appears in shell history or process lists.
 */
async function storeSecret(prefix: string, kind: SecretKind, id: string, value: string): Promise<string> {
  const client = new SecretsManagerClient({});
  const name = secretName(prefix, kind, id);
  try {
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    return created.ARN ?? name;
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    const updated = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    return updated.ARN ?? name;
  } finally {
    client.destroy();
  }
}

async function secretArn(
  prefix: string,
  kind: SecretKind,
  id: string,
  options: { arn?: string; env?: string },
  env: NodeJS.ProcessEnv,
  check: (value: string) => void = () => undefined,
  resolve?: (arn: string) => Promise<string>,
): Promise<string> {
  if (options.arn) {
    if (resolve) await checkStoredSecret('--secret-arn', options.arn, resolve, check);
    return options.arn;
  }
  if (!options.env)
    throw new ConfigError('the command line', [
      { path: '--secret', message: 'give --*-secret-arn ARN or --*-env NAME' },
    ]);
  const value = ownValue(env, options.env);
  if (!value)
    throw new ConfigError('the command line', [
      { path: options.env, message: 'environment variable is not set' },
    ]);
  check(value);
  return storeSecret(prefix, kind, id, value);
}

export interface AccountOptions {
  id?: string;
  host?: string;
  port?: string;
  security?: string;
  user?: string;
  'password-secret-arn'?: string;
  'password-env'?: string;
  mailboxes?: string;
  'initial-sync'?: string;
  ca?: string;
  servername?: string;
  provider?: string;
  'oauth2-client-id'?: string;
  'oauth2-token-url'?: string;
  'oauth2-scope'?: string;
  'oauth2-refresh-token-env'?: string;
  'oauth2-client-secret-env'?: string;
}

/** Runs before anything is stored: the doctor's walk with the credentials about to be stored. */
export interface AccountPrecheck {
  resolveSecret(arn: string): Promise<string>;
  check(account: AccountConfig): Promise<void>;
}

export async function accountFromOptions(
  options: AccountOptions,
  env: NodeJS.ProcessEnv,
  precheck?: AccountPrecheck,
  secretPrefix = DEFAULT_SECRET_PREFIX,
): Promise<StoredAccount> {
  const preset = options.provider ? ownValue<ProviderPreset>(PROVIDERS, options.provider) : undefined;
  const security = (options.security ?? preset?.security ?? 'tls') as 'tls' | 'starttls' | 'none';
  const oauth2 = options['oauth2-client-id'] !== undefined;
  const fields = parseOrExplain(
    z.object({
      id: identifier,
      provider: z.enum(PROVIDER_NAMES).optional(),
      host: z.string().min(1),
      port: z.coerce.number().int().min(1).max(65535),
      security: z.enum(['tls', 'starttls']),
      user: z.string().min(1),
      mailboxes: z.array(z.string().min(1)).min(1),
      'initial-sync': z.enum(['new', 'all']),
      'oauth2-token-url': oauth2 ? z.url({ protocol: /^https?$/ }) : z.undefined().optional(),
      'oauth2-refresh-token-env': oauth2 ? z.string().min(1) : z.undefined().optional(),
    }),
    {
      ...options,
      host: options.host ?? preset?.host,
      security,
      port: options.port ?? preset?.port ?? (security === 'tls' ? 993 : 143),
      mailboxes: list(options.mailboxes) ?? ['INBOX'],
      'initial-sync': options['initial-sync'] ?? 'new',
      ...(oauth2 ? { 'oauth2-token-url': options['oauth2-token-url'] ?? preset?.tokenUrl } : {}),
    },
    'the command line',
  );
  const tlsCa = options.ca ? readFileSync(options.ca, 'utf8') : undefined;
  const oauth2Settings = oauth2
    ? {
        tokenUrl: fields['oauth2-token-url'] ?? '',
        clientId: options['oauth2-client-id'] ?? '',
        ...(options['oauth2-scope'] ? { scope: options['oauth2-scope'] } : {}),
      }
    : undefined;
  const oauth2Secret = oauth2
    ? {
        refreshToken: requiredEnv(env, fields['oauth2-refresh-token-env'] ?? ''),
        ...(options['oauth2-client-secret-env']
          ? { clientSecret: requiredEnv(env, options['oauth2-client-secret-env']) }
          : {}),
      }
    : undefined;
  if (precheck) {
    const arn = options['password-secret-arn'];
    await precheck.check({
      id: fields.id,
      host: fields.host,
      port: fields.port,
      security: fields.security,
      user: fields.user,
      auth:
        oauth2Settings && oauth2Secret
          ? {
              kind: 'oauth2',
              ...oauth2Settings,
              scope: oauth2Settings.scope,
              clientSecret: oauth2Secret.clientSecret,
              refreshToken: oauth2Secret.refreshToken,
            }
          : {
              kind: 'password',
              password:
                (arn ? await precheck.resolveSecret(arn) : ownValue(env, options['password-env'] ?? '')) ??
                '',
            },
      connectionLimit: preset?.connectionLimit,
      tls: { ca: tlsCa, servername: options.servername },
      mailboxes: fields.mailboxes,
      initialSync: fields['initial-sync'],
    });
  }
  const credentials =
    oauth2Settings && oauth2Secret
      ? {
          oauth2: {
            ...oauth2Settings,
            secretArn: await storeSecret(secretPrefix, 'accounts', fields.id, JSON.stringify(oauth2Secret)),
          },
        }
      : {
          passwordSecretArn: await secretArn(
            secretPrefix,
            'accounts',
            fields.id,
            { arn: options['password-secret-arn'], env: options['password-env'] },
            env,
          ),
        };
  return {
    id: fields.id,
    host: fields.host,
    port: fields.port,
    security: fields.security,
    user: fields.user,
    ...credentials,
    ...(preset?.connectionLimit ? { connectionLimit: preset.connectionLimit } : {}),
    tlsCa,
    tlsServername: options.servername,
    mailboxes: fields.mailboxes,
    initialSync: fields['initial-sync'],
  };
}

function requiredEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = ownValue(env, name);
  if (!value)
    throw new ConfigError('the command line', [{ path: name, message: 'environment variable is not set' }]);
  return value;
}

export interface SubscriptionOptions {
  id?: string;
  url?: string;
  'secret-arn'?: string;
  'secret-env'?: string;
  'previous-secret-arn'?: string;
  events?: string;
  accounts?: string;
  'rate-limit'?: string;
}

/** New secrets go under `secrets.prefix`; `secrets.resolve` reads ones given by ARN, to check them first. */
export async function subscriptionFromOptions(
  options: SubscriptionOptions,
  env: NodeJS.ProcessEnv,
  secrets: { readonly prefix: string; readonly resolve?: (arn: string) => Promise<string> } = {
    prefix: DEFAULT_SECRET_PREFIX,
  },
): Promise<StoredSubscription> {
  const resolveSecret = secrets.resolve;
  const fields = parseOrExplain(
    z.object({
      id: identifier,
      url: z.url({ protocol: /^https?$/ }),
      events: z.array(z.enum(EVENT_TYPES)).min(1).optional(),
      accounts: z.array(identifier).min(1).optional(),
      rateLimitPerSecond: z.coerce.number().positive().max(10_000).optional(),
    }),
    {
      id: options.id,
      url: options.url,
      events: list(options.events),
      accounts: list(options.accounts),
      rateLimitPerSecond: options['rate-limit'],
    },
    'the command line',
  );
  const previousSecretArn = options['previous-secret-arn'];
  if (previousSecretArn && resolveSecret)
    await checkStoredSecret('--previous-secret-arn', previousSecretArn, resolveSecret, isWebhookSecret);
  return {
    ...fields,
    previousSecretArn,
    secretArn: await secretArn(
      secrets.prefix,
      'subscriptions',
      fields.id,
      { arn: options['secret-arn'], env: options['secret-env'] },
      env,
      isWebhookSecret,
      resolveSecret,
    ),
  };
}

const isWebhookSecret = (value: string) => void decodeWebhookSecret(value);

/** Reads a secret given by ARN and checks it, so that a subscription is never stored with one it cannot use. */
async function checkStoredSecret(
  option: string,
  arn: string,
  resolve: (arn: string) => Promise<string>,
  check: (value: string) => void,
): Promise<void> {
  let value: string;
  try {
    value = await resolve(arn);
  } catch (error) {
    throw new ConfigError(
      'the command line',
      [{ path: option, message: `${arn} cannot be read: ${errorMessage(error)}` }],
      { cause: error },
    );
  }
  try {
    check(value);
  } catch (error) {
    throw new ConfigError(
      'the command line',
      [{ path: option, message: `the secret ${errorMessage(error)}` }],
      {
        cause: error,
      },
    );
  }
}
