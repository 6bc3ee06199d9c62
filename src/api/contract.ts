import { z } from '@hono/zod-openapi';
import { identifier, messageActionSchema } from '../config/account-settings.js';
import { accountSchema, INLINE_SECRETS, subscriptionSchema } from '../config/schema.js';
import type { TokenScope } from '../domain/api-tokens.js';
import { requireScope } from './tokens.js';

/** What the management API's routes share: problem responses, schemas, examples and response helpers (src/api/resources/ define the routes). */

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ in: z.string(), path: z.string(), message: z.string() }))
      .optional()
      .describe('each bad field: where it is (body, query, path), its path, and what is wrong with it'),
  })
  .openapi('Problem');

/**
 * The token scope a route needs: checked by its middleware, and shown as its security requirement (OpenAPI 3.1
 * lets a bearer requirement name roles).
 */
export const needs = (scope: TokenScope) => ({
  security: [{ bearer: [scope] }],
  middleware: requireScope(scope),
});

export const PROBLEM = {
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: ProblemSchema } },
};

/** The problem responses a route documents, by status (keys from code). */
export const problems = <const S extends readonly number[]>(...statuses: S) =>
  statuses.reduce((out, status) => Object.assign(out, { [status]: PROBLEM }), {}) as {
    [K in S[number]]: typeof PROBLEM;
  };

export const MailboxSchema = z
  .object({
    name: z.string(),
    state: z.enum(['connecting', 'syncing', 'idle', 'polling', 'error', 'stopped']),
    lastError: z.string().nullable(),
    uidValidity: z.string().nullable(),
    lastUid: z.number().int().nullable(),
    lastEventAt: z.string().nullable(),
  })
  .openapi('MailboxStatus');

export const AccountStatusSchema = z
  .object({
    state: z
      .enum(['ok', 'error', 'starting', 'unknown'])
      .describe(
        'starting: local mode, the watcher has not reached the account yet. unknown: AWS mode, no watcher task has reported it (or its report is over 7 hours old)',
      ),
    lastError: z.string().nullable(),
    errorCode: z.string().nullable(),
    nextLoginAttemptAt: z.string().nullable(),
    mailboxes: z.array(MailboxSchema),
    reportedAt: z
      .string()
      .nullable()
      .describe(
        'AWS mode: when the watcher task holding the account reported this (states and errors within seconds, counters every 5 minutes). null: live (local mode)',
      ),
    omittedMailboxes: z
      .number()
      .int()
      .describe(
        'AWS mode: mailboxes missing from `mailboxes` because the report would not fit in one DynamoDB item (thousands of folders; those in error are kept first)',
      ),
  })
  .openapi('AccountStatus');

export const AccountSchema = z
  .object({
    id: z.string(),
    origin: z.enum(['config', 'api']).describe('config: defined in the config file, read-only here'),
    host: z.string(),
    port: z.number().int(),
    security: z.enum(['tls', 'starttls', 'none']),
    user: z.string(),
    auth: z.enum(['password', 'oauth2']),
    mailboxes: z.array(z.string()),
    initialSync: z.enum(['new', 'all']),
    connectionLimit: z.number().int().nullable(),
    status: AccountStatusSchema,
  })
  .openapi('Account');

export const SubscriptionSchema = z
  .object({
    id: z.string(),
    origin: z.enum(['config', 'api']),
    url: z.string(),
    events: z.array(z.string()).nullable().describe('null: every event type'),
    accounts: z.array(z.string()).nullable().describe('null: every account'),
    rateLimitPerSecond: z.number().nullable(),
    filter: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe('the event pattern events must match (docs/filters.md); null: no filter'),
    afterDelivery: z
      .array(messageActionSchema({}))
      .nullable()
      .describe('actions on a received message once this endpoint answered 2xx; null: none'),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .describe('during a rotation: until when requests also carry the previous secret’s signature'),
    health: z
      .object({
        enabled: z.boolean(),
        disabledReason: z.string().nullable(),
        failingSince: z.string().nullable().describe('when the current run of failed attempts began'),
      })
      .openapi('EndpointHealth'),
  })
  .openapi('Subscription');

export const CreatedSubscriptionSchema = SubscriptionSchema.extend({
  secret: z
    .string()
    .optional()
    .describe('the signing secret, when idlehook made it: shown this once, never again'),
}).openapi('CreatedSubscription');

export const DeadLetterSchema = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    subscriptionId: z.string(),
    failedAt: z.string(),
    attempts: z.number().int(),
    reason: z.string(),
  })
  .openapi('DeadLetter');

export const AttemptSchema = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    attempt: z.number().int(),
    attemptedAt: z.string(),
    durationMs: z.number(),
    succeeded: z.boolean(),
    status: z.number().int().nullable(),
    error: z.string().nullable(),
    responseExcerpt: z.string().nullable(),
  })
  .openapi('DeliveryAttempt');

export const page = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      data: z.array(item),
      nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last'),
    })
    .openapi(name);

export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).optional(),
});

// A fresh schema takes .openapi() metadata; `identifier` may exist before the OpenAPI extension is loaded (zod 4
// adds methods per instance), so it is piped through rather than annotated.
export const IdParam = z.object({ id: z.string().pipe(identifier).openapi({ example: 'support' }) });

/** One example per operation, in the document; a test parses each with the schema it illustrates. */
export const EXAMPLES = {
  accountInput: {
    id: 'support',
    host: 'imap.example.com',
    port: 993,
    user: 'support@example.com',
    password: 'an app password',
    mailboxes: ['INBOX', 'Support'],
  },
  accountPatch: { mailboxes: ['INBOX', 'Support', 'Billing'] },
  subscriptionInput: {
    id: 'crm',
    url: 'https://crm.example.com/hooks/mail',
    events: ['message.received'],
    accounts: ['support'],
    filter: { data: { from: { address: [{ suffix: '@customer.example' }] } } },
  },
  subscriptionPatch: { rateLimitPerSecond: 5 },
  rotation: { previousSecretValidSeconds: 3600 },
  replay: { subscription: 'crm', since: '2026-12-06T00:00:00Z' },
  connectLink: {
    provider: 'gmail',
    account: 'customer-42',
    redirect: 'https://app.example.com/mail/connected',
  },
  account: {
    id: 'support',
    origin: 'api',
    host: 'imap.example.com',
    port: 993,
    security: 'tls',
    user: 'support@example.com',
    auth: 'password',
    mailboxes: ['INBOX', 'Support'],
    initialSync: 'new',
    connectionLimit: null,
    status: {
      state: 'ok',
      lastError: null,
      errorCode: null,
      nextLoginAttemptAt: null,
      mailboxes: [
        {
          name: 'INBOX',
          state: 'idle',
          lastError: null,
          uidValidity: '1764979200',
          lastUid: 4182,
          lastEventAt: '2026-12-06T11:58:03.412Z',
        },
      ],
      reportedAt: null,
      omittedMailboxes: 0,
    },
  },
  subscription: {
    id: 'crm',
    origin: 'api',
    url: 'https://crm.example.com/hooks/mail',
    events: ['message.received'],
    accounts: ['support'],
    rateLimitPerSecond: null,
    filter: { data: { from: { address: [{ suffix: '@customer.example' }] } } },
    afterDelivery: [{ type: 'add-flags', flags: ['$Ticketed'] }],
    previousSecretExpiresAt: null,
    health: { enabled: true, disabledReason: null, failingSince: null },
  },
  status: {
    accounts: { total: 3, failing: 1, failingIds: ['support-eu'] },
    queues: { ingest: 0, delivery: 2 },
  },
  attempts: {
    data: [
      {
        eventId: 'evt_3f1c0d2a9b8e7f6a5b4c3d2e1f0a9b8c',
        eventType: 'message.received',
        attempt: 2,
        attemptedAt: '2026-12-06T12:00:05.120Z',
        durationMs: 84,
        succeeded: true,
        status: 204,
        error: null,
        responseExcerpt: null,
      },
    ],
  },
  deadLetters: {
    data: [
      {
        eventId: 'evt_3f1c0d2a9b8e7f6a5b4c3d2e1f0a9b8c',
        eventType: 'message.received',
        subscriptionId: 'crm',
        failedAt: '2026-12-06T16:05:00.000Z',
        attempts: 8,
        reason: 'HTTP 503 after 8 attempts',
      },
    ],
    nextCursor: null,
  },
} as const;

export const isoTime = z.iso.datetime({ offset: true });

export const AccountInput = accountSchema(INLINE_SECRETS).openapi('AccountInput');
export const SubscriptionInput = subscriptionSchema(INLINE_SECRETS)
  .omit({ previousSecret: true, previousSecretExpiresAt: true })
  .extend({ secret: INLINE_SECRETS.webhookSecret.optional() })
  .openapi('SubscriptionInput');

export const AccountPatch = accountSchema(INLINE_SECRETS)
  .omit({ id: true })
  .partial()
  .openapi('AccountPatch');

export const SubscriptionPatch = subscriptionSchema(INLINE_SECRETS)
  .omit({ id: true, secret: true, previousSecret: true, previousSecretExpiresAt: true })
  .partial()
  .openapi('SubscriptionPatch');

export const json = <T extends z.ZodType>(schema: T, description: string, example?: unknown) => ({
  description,
  content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } },
});
export const jsonBody = <T extends z.ZodType>(schema: T, example: unknown) => ({
  required: true,
  content: { 'application/json': { schema, example } },
});
