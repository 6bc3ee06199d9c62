import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { identifier } from '../../config/account-settings.js';
import type { ManagementBackend } from '../../ports/management.js';
import { json, needs, problems } from '../contract.js';
import { iso } from '../views.js';

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

/** Registers the deliveries routes' handlers. */
export function registerDeliveries(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(listPendingRoute, async (c) => {
    const { subscription } = c.req.valid('query');
    const pending = (await backend.retries.pending()).filter(
      (p) => subscription === undefined || p.subscriptionId === subscription,
    );
    return c.json({ data: pending.map((p) => ({ ...p, nextAttemptAt: iso(p.nextAttemptAt) })) }, 200);
  });
}
