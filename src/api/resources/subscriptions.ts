import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { parseSubscriptionDocument } from '../../config/load-config.js';
import { INLINE_SECRETS } from '../../config/schema.js';
import { paginate } from '../../domain/pages.js';
import { newWebhookSecret } from '../../domain/signing.js';
import { namedAccountsThatExist } from '../../domain/subscriptions.js';
import type { ManagementBackend } from '../../ports/management.js';
import { changeable, notFound, patched, readOnly } from '../answers.js';
import {
  AttemptSchema,
  CreatedSubscriptionSchema,
  EXAMPLES,
  IdParam,
  json,
  jsonBody,
  needs,
  PageQuery,
  page,
  problems,
  SubscriptionInput,
  SubscriptionPatch,
  SubscriptionSchema,
} from '../contract.js';
import { problemResponse } from '../problem.js';
import { attemptView, iso, subscriptionView } from '../views.js';

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

/** Registers the subscriptions routes' handlers. */
export function registerSubscriptions(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(listSubscriptionsRoute, async (c) => {
    const listed = await backend.directory.listSubscriptions();
    const { data, nextCursor } = paginate(listed, (s) => s.value.id, c.req.valid('query'));
    return c.json(
      { data: await Promise.all(data.map((s) => subscriptionView(backend, s))), nextCursor },
      200,
    );
  });
  app.openapi(createSubscriptionRoute, async (c) => {
    const given = (await c.req.json()) as Record<string, unknown>;
    const secret = typeof given.secret === 'string' ? undefined : newWebhookSecret();
    const document = secret === undefined ? given : { ...given, secret };
    const subscription = parseSubscriptionDocument(
      document,
      'the request body',
      await namedAccountsThatExist(document, backend.directory),
    );
    if (!(await backend.directory.addSubscription(document, subscription)))
      return problemResponse(c, 409, { detail: `a subscription with id "${subscription.id}" exists` });
    return c.json(
      {
        ...(await subscriptionView(backend, { value: subscription, origin: 'api' })),
        ...(secret ? { secret } : {}),
      },
      201,
    );
  });
  app.openapi(getSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const subscription = await backend.directory.subscription(id);
    return subscription
      ? c.json(await subscriptionView(backend, subscription), 200)
      : notFound(c, `subscription "${id}"`);
  });
  app.openapi(deleteSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = await backend.directory.removeSubscription(id);
    if (outcome === 'not-found') return notFound(c, `subscription "${id}"`);
    if (outcome === 'read-only') return readOnly(c, `subscription "${id}"`);
    return c.body(null, 204);
  });
  app.openapi(updateSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { document, answer } = await changeable(c, backend, 'subscription', id);
    if (!document) return answer;
    const changed = await patched(c, document, id);
    const subscription = parseSubscriptionDocument(
      changed,
      'the request body',
      await namedAccountsThatExist(changed, backend.directory),
    );
    if (!(await backend.directory.replaceSubscription(changed, subscription)))
      return notFound(c, `subscription "${id}"`);
    return c.json(await subscriptionView(backend, { value: subscription, origin: 'api' }), 200);
  });
  app.openapi(rotateSecretRoute, async (c) => {
    const { id } = c.req.valid('param');
    const { document, answer } = await changeable(c, backend, 'subscription', id);
    if (!document) return answer;
    const given = (await c.req.json()) as { secret?: unknown };
    const made = typeof given.secret === 'string' ? undefined : newWebhookSecret();
    const previousSecretExpiresAt = iso(
      backend.clock.now() + c.req.valid('json').previousSecretValidSeconds * 1000,
    );
    const changed = {
      ...document,
      secret: made ?? given.secret,
      previousSecret: document.secret,
      previousSecretExpiresAt,
    };
    const subscription = parseSubscriptionDocument(
      changed,
      'the stored subscription',
      await namedAccountsThatExist(changed, backend.directory),
    );
    if (!(await backend.directory.replaceSubscription(changed, subscription)))
      return notFound(c, `subscription "${id}"`);
    return c.json({ ...(made ? { secret: made } : {}), previousSecretExpiresAt }, 200);
  });
  app.openapi(enableSubscriptionRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await backend.directory.subscription(id))) return notFound(c, `subscription "${id}"`);
    await backend.subscriptionStatus.enable(id);
    return c.body(null, 204);
  });
  app.openapi(listAttemptsRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await backend.directory.subscription(id))) return notFound(c, `subscription "${id}"`);
    const attempts = await backend.attempts.listAttempts(id, c.req.valid('query').limit);
    return c.json(
      {
        data: attempts.map(attemptView),
      },
      200,
    );
  });
  app.openapi(retryNowRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await backend.directory.subscription(id))) return notFound(c, `subscription "${id}"`);
    return c.json({ retried: await backend.retries.retryNow(id) }, 200);
  });
}
