import { readFileSync } from 'node:fs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import { sealCredentials } from '../adapters/aws/aws-directory.js';
import type { StoredSubscription } from '../adapters/aws/dynamodb-subscription-repository.js';
import { SecretsManagerWriter } from '../adapters/aws/secrets-manager-writer.js';
import { type StoredAccount, storedAccountOf } from '../adapters/aws/stored-account.js';
import {
  accountFields,
  accountSettings,
  oauth2Fields,
  oauth2TokenUrl,
  subscriptionFields,
} from '../config/account-settings.js';
import { DEFAULT_SECRET_PREFIX, type SecretKind, secretName } from '../config/aws-environment.js';
import type { AccountConfig } from '../config/config.js';
import { ConfigError } from '../config/load-config.js';
import { errorMessage } from '../domain/errors.js';
import { ownValue } from '../domain/null-prototype.js';
import { decodeWebhookSecret } from '../domain/signing.js';
import type { CredentialSealer } from '../ports/services.js';

const list = (text: string | undefined) =>
  text
    ? text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;

/** The command-line option that fills each field, so that an error names what the user typed. */
const OPTION_OF_FIELD = new Map([
  ['initialSync', '--initial-sync'],
  ['tokenUrl', '--oauth2-token-url'],
  ['clientId', '--oauth2-client-id'],
  ['scope', '--oauth2-scope'],
  ['rateLimitPerSecond', '--rate-limit'],
]);

function parseOrExplain<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    'the command line',
    parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      return { path: OPTION_OF_FIELD.get(field) ?? `--${field}`, message: issue.message };
    }),
  );
}

const optionalNumber = (text: string | undefined) => (text === undefined ? undefined : Number(text));

/** AWS mode refuses plain text outright: the watcher runs far from any loopback server. */
const awsAccountFields = z
  .object({
    ...accountFields,
    security: z.enum(['tls', 'starttls']).default('tls'),
    oauth2: z.object(oauth2Fields).optional(),
  })
  .refine((fields) => fields.host !== undefined || fields.provider !== undefined, {
    path: ['host'],
    message: 'give a host, or a provider preset',
  })
  .refine((fields) => !fields.oauth2 || oauth2TokenUrl(fields.provider, fields.oauth2.tokenUrl), {
    path: ['tokenUrl'],
    message: 'required unless a provider preset gives it',
  });

/**
 * Stores a secret value under idlehook/<kind>/<id> in Secrets Manager (creating or updating it) and returns its
 * ARN. The value comes from an environment variable, so it never appears in shell history or process lists.
 */
async function storeSecret(prefix: string, kind: SecretKind, id: string, value: string): Promise<string> {
  const client = new SecretsManagerClient({});
  try {
    return await new SecretsManagerWriter(client).store(secretName(prefix, kind, id), value);
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
  precheck: AccountPrecheck | undefined,
  /** Seals passwords and refresh tokens given through the environment (a secret given by ARN is kept as such). */
  sealer: CredentialSealer | undefined,
): Promise<StoredAccount> {
  const oauth2 = options['oauth2-client-id'] !== undefined;
  const fields = parseOrExplain(awsAccountFields, {
    id: options.id,
    provider: options.provider,
    host: options.host,
    port: optionalNumber(options.port),
    security: options.security,
    user: options.user,
    mailboxes: list(options.mailboxes),
    initialSync: options['initial-sync'],
    ...(oauth2
      ? {
          oauth2: {
            tokenUrl: options['oauth2-token-url'],
            clientId: options['oauth2-client-id'],
            scope: options['oauth2-scope'],
          },
        }
      : {}),
  });
  const settings = accountSettings({
    ...fields,
    tls: { ca: options.ca ? readFileSync(options.ca, 'utf8') : undefined, servername: options.servername },
  });
  const oauth2Settings = fields.oauth2
    ? {
        tokenUrl: oauth2TokenUrl(fields.provider, fields.oauth2.tokenUrl) ?? '',
        clientId: fields.oauth2.clientId,
        scope: fields.oauth2.scope,
      }
    : undefined;
  const oauth2Secret = oauth2Settings
    ? {
        refreshToken: requiredEnv(env, '--oauth2-refresh-token-env', options['oauth2-refresh-token-env']),
        clientSecret: options['oauth2-client-secret-env']
          ? requiredEnv(env, '--oauth2-client-secret-env', options['oauth2-client-secret-env'])
          : undefined,
      }
    : undefined;
  if (precheck) {
    const arn = options['password-secret-arn'];
    await precheck.check({
      ...settings,
      auth:
        oauth2Settings && oauth2Secret
          ? { kind: 'oauth2', ...oauth2Settings, ...oauth2Secret }
          : {
              kind: 'password',
              password:
                (arn ? await precheck.resolveSecret(arn) : ownValue(env, options['password-env'] ?? '')) ??
                '',
            },
    });
  }
  const passwordArn = options['password-secret-arn'];
  const credentials =
    oauth2Settings && oauth2Secret
      ? await sealCredentials(sealer, settings.id, { kind: 'oauth2', ...oauth2Settings, ...oauth2Secret })
      : passwordArn
        ? { passwordSecretArn: passwordArn }
        : await sealCredentials(sealer, settings.id, {
            kind: 'password',
            password: requiredEnv(
              env,
              '--password-env',
              options['password-env'],
              'give --password-env NAME or --password-secret-arn ARN',
            ),
          });
  return storedAccountOf(settings, credentials);
}

function requiredEnv(
  env: NodeJS.ProcessEnv,
  option: string,
  name: string | undefined,
  missing = 'is required with OAuth2',
): string {
  if (!name) throw new ConfigError('the command line', [{ path: option, message: missing }]);
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
  const fields = parseOrExplain(z.object(subscriptionFields), {
    id: options.id,
    url: options.url,
    events: list(options.events),
    accounts: list(options.accounts),
    rateLimitPerSecond: optionalNumber(options['rate-limit']),
  });
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
