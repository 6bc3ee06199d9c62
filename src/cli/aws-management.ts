import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { SecretsByArn } from '../adapters/aws/aws-directory.js';
import {
  accountFields,
  accountSettings,
  oauth2Fields,
  oauth2TokenUrl,
  subscriptionFields,
} from '../config/account-settings.js';
import type { AccountConfig } from '../config/config.js';
import { ConfigError, formatPath } from '../config/load-config.js';
import { errorMessage } from '../domain/errors.js';
import { ownValue } from '../domain/null-prototype.js';
import { decodeWebhookSecret } from '../domain/signing.js';

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
  ['filter', '--filter'],
]);

function parseOrExplain<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    'the command line',
    parsed.error.issues.map((issue) => {
      const [first, ...inside] = issue.path;
      const field = String(first ?? '');
      const option = OPTION_OF_FIELD.get(field) ?? `--${field}`;
      // Inside a JSON option (--filter), say where: `--filter data.subject[0]`.
      return { path: inside.length > 0 ? `${option} ${formatPath(inside)}` : option, message: issue.message };
    }),
  );
}

const optionalNumber = (text: string | undefined) => (text === undefined ? undefined : Number(text));

function jsonOption(option: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError('the command line', [
      {
        path: option,
        message: `is not JSON (${(error as Error).message}); quote it for the shell: '{"data": ...}'`,
      },
    ]);
  }
}

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

/**
 * The account the options describe, for AwsDirectory (the API's write path): credentials from the environment are
 * sealed there; a password secret given by ARN is stored as that reference (`byArn`).
 */
export async function accountFromOptions(
  options: AccountOptions,
  env: NodeJS.ProcessEnv,
  precheck: AccountPrecheck | undefined,
): Promise<{ readonly account: AccountConfig; readonly byArn: SecretsByArn }> {
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
  const passwordSecretArn = options['password-secret-arn'];
  let auth: AccountConfig['auth'];
  if (fields.oauth2)
    auth = {
      kind: 'oauth2',
      tokenUrl: oauth2TokenUrl(fields.provider, fields.oauth2.tokenUrl) ?? '',
      clientId: fields.oauth2.clientId,
      scope: fields.oauth2.scope,
      refreshToken: requiredEnv(env, '--oauth2-refresh-token-env', options['oauth2-refresh-token-env']),
      clientSecret: options['oauth2-client-secret-env']
        ? requiredEnv(env, '--oauth2-client-secret-env', options['oauth2-client-secret-env'])
        : undefined,
    };
  else if (passwordSecretArn)
    // Read only for the doctor's login: the directory stores the reference, never this value.
    auth = { kind: 'password', password: precheck ? await precheck.resolveSecret(passwordSecretArn) : '' };
  else
    auth = {
      kind: 'password',
      password: requiredEnv(
        env,
        '--password-env',
        options['password-env'],
        'give --password-env NAME or --password-secret-arn ARN',
      ),
    };
  const account: AccountConfig = { ...settings, auth };
  await precheck?.check(account);
  return { account, byArn: !fields.oauth2 && passwordSecretArn ? { passwordSecretArn } : {} };
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
  /** An event pattern, as JSON. */
  filter?: string;
}

/**
 * The subscription the options describe, as the API's document (secrets inline, for AwsDirectory to store as the
 * API does), and the secrets given by ARN, which are stored as those references after being read and checked.
 */
export async function subscriptionFromOptions(
  options: SubscriptionOptions,
  env: NodeJS.ProcessEnv,
  resolveSecret: (arn: string) => Promise<string>,
): Promise<{ readonly document: Record<string, unknown>; readonly byArn: SecretsByArn }> {
  const filter = options.filter === undefined ? undefined : jsonOption('--filter', options.filter);
  const fields = parseOrExplain(z.object(subscriptionFields), {
    id: options.id,
    url: options.url,
    events: list(options.events),
    accounts: list(options.accounts),
    rateLimitPerSecond: optionalNumber(options['rate-limit']),
    filter,
  });
  const secretArn = options['secret-arn'];
  const previousSecretArn = options['previous-secret-arn'];
  const secret = secretArn
    ? await checkStoredSecret('--secret-arn', secretArn, resolveSecret, isWebhookSecret)
    : givenSecret(env, options['secret-env']);
  const previousSecret =
    previousSecretArn &&
    (await checkStoredSecret('--previous-secret-arn', previousSecretArn, resolveSecret, isWebhookSecret));
  return {
    // The pattern as given, not as compiled: the document is parsed again on the API's write path.
    document: { ...fields, filter, secret, ...(previousSecret ? { previousSecret } : {}) },
    byArn: { ...(secretArn ? { secretArn } : {}), ...(previousSecretArn ? { previousSecretArn } : {}) },
  };
}

/** A webhook secret from the environment variable `--secret-env` names. */
function givenSecret(env: NodeJS.ProcessEnv, variable: string | undefined): string {
  if (!variable)
    throw new ConfigError('the command line', [
      { path: '--secret', message: 'give --secret-arn ARN or --secret-env NAME' },
    ]);
  const value = ownValue(env, variable);
  if (!value)
    throw new ConfigError('the command line', [
      { path: variable, message: 'environment variable is not set' },
    ]);
  try {
    isWebhookSecret(value);
  } catch (error) {
    throw new ConfigError('the command line', [
      { path: variable, message: `the secret ${errorMessage(error)}` },
    ]);
  }
  return value;
}

const isWebhookSecret = (value: string) => void decodeWebhookSecret(value);

/** Reads a secret given by ARN and checks it, so that a subscription is never stored with one it cannot use. */
async function checkStoredSecret(
  option: string,
  arn: string,
  resolve: (arn: string) => Promise<string>,
  check: (value: string) => void,
): Promise<string> {
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
  return value;
}
