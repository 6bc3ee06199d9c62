import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ManagementBackend } from '../../ports/management.js';
import { EXAMPLES, json, needs, problems } from '../contract.js';

export const statusRoute = createRoute({
  operationId: 'getStatus',
  method: 'get',
  path: '/v1/status',
  ...needs('read'),
  summary: 'Queue depths, and how many accounts there are and how many are failing',
  responses: {
    200: json(
      z
        .object({
          accounts: z.object({
            total: z.number().int(),
            failing: z.number().int(),
            failingIds: z.array(z.string()).openapi({ description: 'The first 20 failing accounts, by id' }),
          }),
          queues: z.object({ ingest: z.number().int(), delivery: z.number().int() }),
        })
        .openapi('Status'),
      'overall status',
      EXAMPLES.status,
    ),
    ...problems(401),
  },
});

/** Registers the status routes' handlers. */
export function registerStatus(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(statusRoute, async (c) => {
    const [accounts, queues] = await Promise.all([backend.accountCounts(), backend.queueDepths()]);
    return c.json(
      {
        accounts: { total: accounts.total, failing: accounts.failing, failingIds: [...accounts.failingIds] },
        queues,
      },
      200,
    );
  });
}
