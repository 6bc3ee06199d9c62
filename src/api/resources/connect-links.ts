import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { ManagementBackend } from '../../ports/management.js';
import { EXAMPLES, json, jsonBody, needs, problems } from '../contract.js';
import { problemResponse } from '../problem.js';
import { iso } from '../views.js';

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

/** Registers the connect links routes' handlers. */
export function registerConnectLinks(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(createConnectLinkRoute, async (c) => {
    if (!backend.connectLink)
      return problemResponse(c, 404, {
        detail:
          'the connect flow is not configured: add connect.providers to the config (AWS mode: managementApi.connect)',
      });
    const link = backend.connectLink(c.req.valid('json'), c.req.url);
    return c.json({ url: link.url, expiresAt: iso(link.expiresAt) }, 201);
  });
}
