import { z } from 'zod';
import { CIDR_MESSAGE, isCidr } from '../domain/networks.js';
import { ownValue } from '../domain/null-prototype.js';
import { DEFAULT_OVERLOAD_FLOOR_SECONDS, DEFAULT_RETRY_SCHEDULE_SECONDS } from '../domain/retry.js';
import { DEFAULT_LOGIN_LIMITS } from './config.js';
import { ConfigError } from './load-config.js';
/** The watcher's /health port inside its task, when IDLEHOOK_HEALTH_PORT does not say otherwise. */
export const DEFAULT_HEALTH_PORT = 8080;

/**
 * Secrets idlehook creates and reads live under a prefix in Secrets Manager, one per deployment (the construct
 * uses `idlehook/<stack name>/`), so that stacks in one account cannot read each other's secrets. Under it, one
 * folder per kind, each readable only by the component that needs it (see the construct's grants).
 */
export const DEFAULT_SECRET_PREFIX = 'idlehook/';
export const DEFAULT_SHARD_COUNT = 256;
export type SecretKind = 'accounts' | 'subscriptions' | 'oauth2-tokens';

export function secretName(prefix: string, kind: SecretKind, id: string): string {
  return `${prefix}${kind}/${id}`;
}

const queueUrl = z
  .string()
  .regex(/^https?:\/\/\S+$/, 'must be an SQS queue URL (https://sqs.<region>.amazonaws.com/...)');

const schema = z.object({
  IDLEHOOK_TABLE_NAME: z.string().min(1),
  IDLEHOOK_INGEST_QUEUE_URL: queueUrl,
  IDLEHOOK_DELIVERY_QUEUE_URL: queueUrl,
  IDLEHOOK_BLOB_BUCKET: z.string().min(1),
  IDLEHOOK_SECRET_PREFIX: z
    .string()
    .regex(
      /^[A-Za-z0-9/_+=.@-]+\/$/,
      'must be a Secrets Manager name prefix ending in "/", e.g. idlehook/prod/',
    )
    .default(DEFAULT_SECRET_PREFIX),
  /**
   * The KMS key (ARN) that protects the stack's credential wrapping key, and the stack's name, which the
   * encryption context names: account passwords and refresh tokens are sealed under it in the table. Without
   * them (a stack deployed before), credentials stored in Secrets Manager are still read, and new ones refused.
   */
  IDLEHOOK_CREDENTIALS_KEY_ID: z.string().min(1).optional(),
  IDLEHOOK_STACK_NAME: z.string().min(1).default('idlehook'),
  IDLEHOOK_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  IDLEHOOK_DELIVERY_TIMEOUT_SECONDS: z.coerce.number().positive().max(60).default(15),
  /**
   * Watcher task: how often it checks the accounts' shard versions and re-reads the shards that changed (every
   * account anyway every 10 minutes): an account added, changed or removed takes effect within about this long.
   */
  IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: z.coerce.number().min(1).default(2),
  /** Watcher task: how often an idle mailbox connection is checked (UIDVALIDITY, and that it still answers). */
  IDLEHOOK_MAILBOX_CHECK_SECONDS: z.coerce.number().min(1).default(60),
  /** Watcher task: TLS handshakes and logins in progress at once (a start must not be a login storm). */
  IDLEHOOK_MAX_CONCURRENT_LOGINS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(DEFAULT_LOGIN_LIMITS.maxConcurrent),
  /** Watcher task: logins started per second, across all its mailboxes. */
  IDLEHOOK_LOGINS_PER_SECOND: z.coerce
    .number()
    .positive()
    .max(10_000)
    .default(DEFAULT_LOGIN_LIMITS.perSecond),
  /** Watcher tasks: the mailboxes are spread over this many shards, whose leases the tasks share. Fixed per deployment. */
  IDLEHOOK_SHARD_COUNT: z.coerce.number().int().min(1).max(10_000).default(DEFAULT_SHARD_COUNT),
  /**
   * Watcher task: the most mailboxes it takes shards for (what its memory holds; the construct sets it from the
   * task's memory). A task at this many leaves further shards to others, so losing a task cannot run the next one
   * out of memory. Unbounded when unset.
   */
  IDLEHOOK_MAX_MAILBOXES_PER_TASK: z.coerce.number().int().min(1).optional(),
  /** Watcher tasks: a task whose heartbeat stood still this long is gone, and others take its shards. */
  IDLEHOOK_LEASE_SECONDS: z.coerce.number().min(3).max(300).default(15),
  /** Watcher task: port of its /health endpoint (container health check). */
  IDLEHOOK_HEALTH_PORT: z.coerce.number().int().min(1).max(65535).default(DEFAULT_HEALTH_PORT),
  /**
   * The link endpoint (the blobs function's URL) and the secret holding its HMAC key: events link to raw mail and
   * attachments through it, so links outlive the credentials that made them (the parse function needs both).
   */
  IDLEHOOK_BLOB_LINK_URL: z.url({ protocol: /^https?$/ }).optional(),
  IDLEHOOK_BLOB_LINK_KEY_ARN: z.string().min(1).optional(),
  /**
   * The management API's hosted connect flow: the secret holding its settings (the config file's `connect`, as
   * JSON with secrets inline) and the one holding the key its links and `state` are signed with. Both or neither.
   */
  IDLEHOOK_CONNECT_CONFIG_ARN: z.string().min(1).optional(),
  IDLEHOOK_CONNECT_KEY_ARN: z.string().min(1).optional(),
  /** The management API's dashboard shows subjects and senders (read from the raw messages in S3). */
  IDLEHOOK_DASHBOARD_MESSAGE_DETAILS: z.enum(['true', 'false']).default('false'),
  /**
   * The stack serves the management API at an IAM (SigV4) function URL too: only then is a caller that Lambda
   * says IAM authenticated trusted without a token.
   */
  IDLEHOOK_IAM_ACCESS: z.enum(['true', 'false']).default('false'),
  /** Internal networks webhooks may reach despite SSRF protection, comma-separated CIDR ranges. */
  IDLEHOOK_ALLOWED_NETWORKS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const ranges = text
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean);
      for (const range of ranges)
        if (!isCidr(range)) ctx.addIssue({ code: 'custom', message: `${range}: ${CIDR_MESSAGE}` });
      return ranges;
    }),
  /** A subscription whose endpoint failed every attempt for this long is disabled (default 5 days). */
  IDLEHOOK_DISABLE_AFTER_FAILING_SECONDS: z.coerce
    .number()
    .positive()
    .default(5 * 86_400),
  /** The least wait before retrying an endpoint that answered 429 or 503 or timed out. */
  IDLEHOOK_OVERLOAD_FLOOR_SECONDS: z.coerce.number().positive().default(DEFAULT_OVERLOAD_FLOOR_SECONDS),
  IDLEHOOK_RETRY_SCHEDULE_SECONDS: z
    .string()
    .default(DEFAULT_RETRY_SCHEDULE_SECONDS.join(','))
    .transform((text, ctx) => {
      const values = text.split(',').map((part) => Number(part.trim()));
      if (values.some((v) => !Number.isFinite(v) || v <= 0)) {
        ctx.addIssue({ code: 'custom', message: 'a comma-separated list of positive seconds' });
        return z.NEVER;
      }
      return values;
    }),
});

export type AwsEnvironment = z.output<typeof schema>;
/** Every environment variable the Lambdas and the watcher task read. */
export type AwsEnvironmentVariable = keyof z.input<typeof schema>;
/** Environment variables as the construct sets them: only names the runtimes read. */
export type AwsEnvironmentVariables = { readonly [Name in AwsEnvironmentVariable]?: string };

/** The Lambdas' and the watcher task's configuration: environment variables set by the CDK stack. */
export function loadAwsEnvironment(env: NodeJS.ProcessEnv = process.env): AwsEnvironment {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    'the environment',
    parsed.error.issues.map((issue) => {
      const name = issue.path.join('.');
      return { path: name, message: ownValue(env, name) === undefined ? 'is not set' : issue.message };
    }),
  );
}
