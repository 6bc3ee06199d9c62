import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ManagementBackend } from '../../ports/management.js';
import { EXAMPLES, json, needs, problems } from '../contract.js';

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

/** Registers the status routes' handlers. */
export function registerStatus(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(statusRoute, async (c) => {
    const [accounts, statuses] = await Promise.all([
      backend.directory.listAccounts(),
      backend.accountStatuses(),
    ]);
    const failing = accounts.filter((a) => statuses.get(a.value.id)?.status.state === 'error').length;
    return c.json(
      { accounts: { total: accounts.length, failing }, queues: await backend.queueDepths() },
      200,
    );
  });
}
