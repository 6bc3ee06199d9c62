import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { identifier } from '../config/account-settings.js';
import { accountSchema, INLINE_SECRETS, subscriptionSchema } from '../config/schema.js';
import type { TokenScope } from '../domain/api-tokens.js';
import { EVENT_SCHEMAS, EVENT_TYPES } from '../domain/event-schemas.js';
import { requireScope } from './tokens.js';

/** The management API's contract: every route's request and response schemas, from which requests are validated and /v1/openapi.json is made. */

const ProblemSchema = z
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
const needs = (scope: TokenScope) => ({ security: [{ bearer: [scope] }], middleware: requireScope(scope) });

const PROBLEM = {
  description: 'RFC 9457 problem details',
  content: { 'application/problem+json': { schema: ProblemSchema } },
};

/** The problem responses a route documents, by status (keys from code). */
const problems = <const S extends readonly number[]>(...statuses: S) =>
  statuses.reduce((out, status) => Object.assign(out, { [status]: PROBLEM }), {}) as {
    [K in S[number]]: typeof PROBLEM;
  };

const MailboxSchema = z
  .object({
    name: z.string(),
    state: z.enum(['connecting', 'syncing', 'idle', 'polling', 'error', 'stopped']),
    lastError: z.string().nullable(),
    uidValidity: z.string().nullable(),
    lastUid: z.number().int().nullable(),
    lastEventAt: z.string().nullable(),
  })
  .openapi('MailboxStatus');

const AccountStatusSchema = z
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

const AccountSchema = z
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

const SubscriptionSchema = z
  .object({
    id: z.string(),
    origin: z.enum(['config', 'api']),
    url: z.string(),
    events: z.array(z.string()).nullable().describe('null: every event type'),
    accounts: z.array(z.string()).nullable().describe('null: every account'),
    rateLimitPerSecond: z.number().nullable(),
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

const CreatedSubscriptionSchema = SubscriptionSchema.extend({
  secret: z
    .string()
    .optional()
    .describe('the signing secret, when idlehook made it: shown this once, never again'),
}).openapi('CreatedSubscription');

const DeadLetterSchema = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    subscriptionId: z.string(),
    failedAt: z.string(),
    attempts: z.number().int(),
    reason: z.string(),
  })
  .openapi('DeadLetter');

const AttemptSchema = z
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

const page = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      data: z.array(item),
      nextCursor: z.string().nullable().describe('pass as `cursor` for the next page; null on the last'),
    })
    .openapi(name);

const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().min(1).optional(),
});

// A fresh schema takes .openapi() metadata; `identifier` may exist before the OpenAPI extension is loaded (zod 4
// adds methods per instance), so it is piped through rather than annotated.
const IdParam = z.object({ id: z.string().pipe(identifier).openapi({ example: 'support' }) });

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
    previousSecretExpiresAt: null,
    health: { enabled: true, disabledReason: null, failingSince: null },
  },
  status: { accounts: { total: 3, failing: 0 }, queues: { ingest: 0, delivery: 2 } },
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

const isoTime = z.iso.datetime({ offset: true });

const AccountInput = accountSchema(INLINE_SECRETS).openapi('AccountInput');
const SubscriptionInput = subscriptionSchema(INLINE_SECRETS)
  .omit({ previousSecret: true, previousSecretExpiresAt: true })
  .extend({ secret: INLINE_SECRETS.webhookSecret.optional() })
  .openapi('SubscriptionInput');

const AccountPatch = accountSchema(INLINE_SECRETS).omit({ id: true }).partial().openapi('AccountPatch');

const SubscriptionPatch = subscriptionSchema(INLINE_SECRETS)
  .omit({ id: true, secret: true, previousSecret: true, previousSecretExpiresAt: true })
  .partial()
  .openapi('SubscriptionPatch');

const RotationInput = z
  .object({
    secret: INLINE_SECRETS.webhookSecret
      .optional()
      .describe('the new whsec_ secret; without it idlehook makes one and returns it'),
    previousSecretValidSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400)
      .default(86_400)
      .describe('how long requests also carry the old secret’s signature (default a day)'),
  })
  .strict()
  .openapi('SecretRotation');

const json = <T extends z.ZodType>(schema: T, description: string, example?: unknown) => ({
  description,
  content: { 'application/json': { schema, ...(example === undefined ? {} : { example }) } },
});
const jsonBody = <T extends z.ZodType>(schema: T, example: unknown) => ({
  required: true,
  content: { 'application/json': { schema, example } },
});

const DeadLetterFilterFields = {
  subscription: identifier.optional(),
  event: z.string().min(1).optional(),
  since: isoTime.optional().describe('failed at or after this time'),
  until: isoTime.optional().describe('failed before this time'),
};

export const statusRoute = createRoute({
  operationId: 'getStatus',
  method: 'get',
  path: '/v1/status',
  ...needs('read'),
  summary: 'Queue depths and the number of accounts by state',
  responses: {
    200: json(
      z
        .object({
          accounts: z.object({ total: z.number().int(), failing: z.number().int() }),
          queues: z.object({ ingest: z.number().int(), delivery: z.number().int() }),
        })
        .openapi('Status'),
      'overall status',
      EXAMPLES.status,
    ),
    ...problems(401),
  },
});

export const listAccountsRoute = createRoute({
  operationId: 'listAccounts',
  method: 'get',
  path: '/v1/accounts',
  ...needs('read'),
  summary: 'List accounts, with their mailboxes’ state',
  request: { query: PageQuery },
  responses: {
    200: json(page(AccountSchema, 'AccountPage'), 'a page of accounts', {
      data: [EXAMPLES.account],
      nextCursor: null,
    }),
    ...problems(401, 422),
  },
});

export const createAccountRoute = createRoute({
  operationId: 'createAccount',
  method: 'post',
  path: '/v1/accounts',
  ...needs('full'),
  summary: 'Create an account; the doctor checks it first',
  description:
    'The id is chosen by the client, so a retried create cannot make a second account: it answers 409. ' +
    'Unless `check=false`, the connection is tried (DNS, TCP, TLS, login, mailboxes) and a failure answers 422 ' +
    'with the doctor’s report. Secrets never come back out of the API.',
  request: {
    query: z.object({ check: z.enum(['true', 'false']).default('true') }),
    body: jsonBody(AccountInput, EXAMPLES.accountInput),
  },
  responses: {
    201: json(AccountSchema, 'created', EXAMPLES.account),
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
});

export const getAccountRoute = createRoute({
  operationId: 'getAccount',
  method: 'get',
  path: '/v1/accounts/{id}',
  ...needs('read'),
  summary: 'One account, with its mailboxes’ state, last error and next login attempt',
  request: { params: IdParam },
  responses: { 200: json(AccountSchema, 'the account', EXAMPLES.account), ...problems(401, 404, 422) },
});

export const deleteAccountRoute = createRoute({
  operationId: 'deleteAccount',
  method: 'delete',
  path: '/v1/accounts/{id}',
  ...needs('full'),
  summary: 'Delete an account: its connections close, and no more events come from it',
  request: { params: IdParam },
  responses: { 204: { description: 'deleted' }, ...problems(401, 403, 404, 409, 422) },
});

export const listSubscriptionsRoute = createRoute({
  operationId: 'listSubscriptions',
  method: 'get',
  path: '/v1/subscriptions',
  ...needs('read'),
  summary: 'List subscriptions',
  request: { query: PageQuery },
  responses: {
    200: json(page(SubscriptionSchema, 'SubscriptionPage'), 'a page of subscriptions', {
      data: [EXAMPLES.subscription],
      nextCursor: null,
    }),
    ...problems(401, 422),
  },
});

export const createSubscriptionRoute = createRoute({
  operationId: 'createSubscription',
  method: 'post',
  path: '/v1/subscriptions',
  ...needs('full'),
  summary: 'Create a subscription',
  description:
    'Without `secret`, idlehook makes a signing secret and returns it in this response only. The id is chosen ' +
    'by the client: a retried create answers 409.',
  request: { body: jsonBody(SubscriptionInput, EXAMPLES.subscriptionInput) },
  responses: {
    201: json(CreatedSubscriptionSchema, 'created'),
    ...problems(400, 401, 403, 409, 413, 415, 422),
  },
});

export const getSubscriptionRoute = createRoute({
  operationId: 'getSubscription',
  method: 'get',
  path: '/v1/subscriptions/{id}',
  ...needs('read'),
  summary: 'One subscription',
  request: { params: IdParam },
  responses: {
    200: json(SubscriptionSchema, 'the subscription', EXAMPLES.subscription),
    ...problems(401, 404, 422),
  },
});

export const deleteSubscriptionRoute = createRoute({
  operationId: 'deleteSubscription',
  method: 'delete',
  path: '/v1/subscriptions/{id}',
  ...needs('full'),
  summary: 'Delete a subscription: no more deliveries are made to it',
  request: { params: IdParam },
  responses: { 204: { description: 'deleted' }, ...problems(401, 403, 404, 409, 422) },
});

export const updateAccountRoute = createRoute({
  operationId: 'updateAccount',
  method: 'patch',
  path: '/v1/accounts/{id}',
  ...needs('full'),
  summary: 'Change an account: send the fields to change; the doctor checks the result first',
  description:
    'Fields sent replace the stored ones (an object such as `tls` as a whole); the id cannot change. The sessions ' +
    'reconnect with the new settings. Unless `check=false`, a failing check answers 422 with the doctor’s report.',
  request: {
    params: IdParam,
    query: z.object({ check: z.enum(['true', 'false']).default('true') }),
    body: jsonBody(AccountPatch, EXAMPLES.accountPatch),
  },
  responses: {
    200: json(AccountSchema, 'the account as changed'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

export const updateSubscriptionRoute = createRoute({
  operationId: 'updateSubscription',
  method: 'patch',
  path: '/v1/subscriptions/{id}',
  ...needs('full'),
  summary: 'Change a subscription’s URL, events, accounts or rate limit (the secret: rotate-secret)',
  request: { params: IdParam, body: jsonBody(SubscriptionPatch, EXAMPLES.subscriptionPatch) },
  responses: {
    200: json(SubscriptionSchema, 'the subscription as changed'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

export const rotateSecretRoute = createRoute({
  operationId: 'rotateSubscriptionSecret',
  method: 'post',
  path: '/v1/subscriptions/{id}/rotate-secret',
  ...needs('full'),
  summary: 'Rotate the signing secret; requests carry both signatures for a while',
  description:
    'The new secret signs from now on. Until `previousSecretExpiresAt` every request carries the old secret’s ' +
    'signature as well (space-separated in webhook-signature), so receivers can switch at their own pace.',
  request: { params: IdParam, body: jsonBody(RotationInput, EXAMPLES.rotation) },
  responses: {
    200: json(
      z
        .object({
          secret: z.string().optional().describe('the new secret, when idlehook made it: shown this once'),
          previousSecretExpiresAt: z.string(),
        })
        .openapi('RotatedSecret'),
      'rotated',
    ),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422),
  },
});

export const enableSubscriptionRoute = createRoute({
  operationId: 'enableSubscription',
  method: 'post',
  path: '/v1/subscriptions/{id}/enable',
  ...needs('full'),
  summary: 'Re-enable a subscription disabled by a 410 Gone or by failing too long',
  request: { params: IdParam },
  responses: { 204: { description: 'enabled' }, ...problems(401, 403, 404, 422) },
});

export const listAttemptsRoute = createRoute({
  operationId: 'listAttempts',
  method: 'get',
  path: '/v1/subscriptions/{id}/attempts',
  ...needs('read'),
  summary: 'The latest delivery attempts to a subscription’s endpoint, newest first',
  request: {
    params: IdParam,
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
  },
  responses: {
    200: json(
      z.object({ data: z.array(AttemptSchema) }).openapi('AttemptList'),
      'attempts',
      EXAMPLES.attempts,
    ),
    ...problems(401, 404, 422),
  },
});

export const listDeadLettersRoute = createRoute({
  operationId: 'listDeadLetters',
  method: 'get',
  path: '/v1/dead-letters',
  ...needs('read'),
  summary: 'Deliveries that failed every attempt, oldest first',
  request: { query: PageQuery.extend(DeadLetterFilterFields) },
  responses: {
    200: json(page(DeadLetterSchema, 'DeadLetterPage'), 'a page of dead letters', EXAMPLES.deadLetters),
    ...problems(401, 422),
  },
});

export const replayRoute = createRoute({
  operationId: 'replayDeadLetters',
  method: 'post',
  path: '/v1/dead-letters/replay',
  ...needs('full'),
  summary: 'Send the dead letters that match again, once each, with their original webhook-id and body',
  request: {
    body: jsonBody(z.object(DeadLetterFilterFields).strict().openapi('DeadLetterFilter'), EXAMPLES.replay),
  },
  responses: {
    200: json(
      z
        .object({
          delivered: z.number().int(),
          failed: z.number().int(),
          results: z.array(
            z.object({
              eventId: z.string(),
              subscriptionId: z.string(),
              delivered: z.boolean(),
              detail: z.string(),
            }),
          ),
        })
        .openapi('ReplayOutcome'),
      'what each replay did; failed ones stay dead letters with the new reason',
    ),
    ...problems(400, 401, 403, 413, 415, 422),
  },
});

const PendingSchema = z
  .object({
    eventId: z.string(),
    eventType: z.string(),
    subscriptionId: z.string(),
    attempts: z.number().int().describe('attempts made so far, all failed'),
    nextAttemptAt: z.string().describe('when the next attempt is due'),
  })
  .openapi('PendingDelivery');

export const listPendingRoute = createRoute({
  operationId: 'listPendingDeliveries',
  method: 'get',
  path: '/v1/deliveries/pending',
  ...needs('read'),
  summary: 'Deliveries being retried, each with its attempts so far and when the next is due',
  request: { query: z.object({ subscription: identifier.optional() }) },
  responses: {
    200: json(
      z.object({ data: z.array(PendingSchema) }).openapi('PendingDeliveries'),
      'deliveries waiting to be retried',
      {
        data: [
          {
            eventId: 'evt_3f1c0d2a9b8e7f6a5b4c3d2e1f0a9b8c',
            eventType: 'message.received',
            subscriptionId: 'crm',
            attempts: 2,
            nextAttemptAt: '2026-12-06T12:05:05.000Z',
          },
        ],
      },
    ),
    ...problems(401, 422),
  },
});

export const retryNowRoute = createRoute({
  operationId: 'retrySubscriptionNow',
  method: 'post',
  path: '/v1/subscriptions/{id}/retry-now',
  ...needs('full'),
  summary: 'Make the subscription’s deliveries being retried due now, for an endpoint that is back',
  request: { params: IdParam },
  responses: {
    200: json(
      z.object({ retried: z.number().int() }).openapi('RetryNow'),
      'how many deliveries were made due',
      {
        retried: 2,
      },
    ),
    ...problems(401, 403, 404, 422),
  },
});

export const createConnectLinkRoute = createRoute({
  operationId: 'createConnectLink',
  method: 'post',
  path: '/v1/connect-links',
  ...needs('full'),
  summary:
    "A link that sends a user's browser through the provider's OAuth2 consent; the account is created or updated when they come back",
  request: {
    body: jsonBody(
      z
        .object({
          provider: z.enum(['gmail', 'outlook']),
          account: z.string().min(1),
          redirect: z.string().min(1),
        })
        .strict()
        .openapi('ConnectLinkRequest'),
      EXAMPLES.connectLink,
    ),
  },
  responses: {
    201: json(
      z.object({ url: z.string(), expiresAt: z.string() }).openapi('ConnectLink'),
      "open `url` in the user's browser before `expiresAt`; it comes back to `redirect` with `account`, `status` (`connected` or `error`) and `error`",
    ),
    ...problems(400, 401, 403, 404, 413, 415, 422),
  },
});

export const ROUTES = [
  statusRoute,
  listAccountsRoute,
  createAccountRoute,
  getAccountRoute,
  deleteAccountRoute,
  listSubscriptionsRoute,
  createSubscriptionRoute,
  getSubscriptionRoute,
  deleteSubscriptionRoute,
  updateAccountRoute,
  updateSubscriptionRoute,
  rotateSecretRoute,
  enableSubscriptionRoute,
  listAttemptsRoute,
  listDeadLettersRoute,
  replayRoute,
  listPendingRoute,
  retryNowRoute,
  createConnectLinkRoute,
];

/** The OpenAPI 3.1 document of the routes: served at /v1/openapi.json, kept in schemas/ (`npm run schemas`). */
export function openApiDocument(): unknown {
  const documented = new OpenAPIHono();
  const registry = documented.openAPIRegistry;
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'a token made with `idlehook tokens create`',
  });
  for (const route of ROUTES) registry.registerPath(route);
  // What idlehook sends to subscriptions, from the same schemas as schemas/<type>.schema.json: client generators
  // and documentation tools show the events beside the routes.
  for (const type of EVENT_TYPES)
    registry.registerWebhook({
      method: 'post',
      path: type,
      operationId: `on${type.replace(/(^|[._])(\w)/g, (_, _separator: string, letter: string) => letter.toUpperCase())}`,
      summary: `The ${type} event, signed the Standard Webhooks way (webhook-id, webhook-timestamp, webhook-signature)`,
      request: {
        body: { content: { 'application/json': { schema: EVENT_SCHEMAS[type] } }, required: true }, // trusted key: an event type, from EVENT_TYPES
      },
      responses: {
        200: { description: 'any 2xx: delivered' },
        410: { description: 'the endpoint is gone: the subscription is disabled' },
      },
    });
  return documented.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'idlehook management API',
      version: '1',
      description:
        'Accounts, subscriptions and dead letters of an idlehook bridge. Every route needs a bearer token; this document does not. `webhooks` lists the events idlehook sends to subscriptions.',
    },
    security: [{ bearer: [] }],
  });
}
