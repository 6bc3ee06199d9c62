import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { identifier } from '../../config/account-settings.js';
import { decodeCursor, encodeCursor } from '../../domain/pages.js';
import { deadLetterOrderKey } from '../../pipeline/dead-letter-pages.js';
import type { ManagementBackend } from '../../ports/management.js';
import type { DeadLetterFilter } from '../../ports/pipeline.js';
import {
  DeadLetterSchema,
  EXAMPLES,
  isoTime,
  json,
  jsonBody,
  needs,
  PageQuery,
  page,
  problems,
} from '../contract.js';
import { deadLetterView } from '../views.js';

const DeadLetterFilterFields = {
  subscription: identifier.optional(),
  event: z.string().min(1).optional(),
  since: isoTime.optional().describe('failed at or after this time'),
  until: isoTime.optional().describe('failed before this time'),
};

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

const filterOf = (query: {
  subscription?: string | undefined;
  event?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}): DeadLetterFilter => ({
  ...(query.subscription ? { subscriptionId: query.subscription } : {}),
  ...(query.event ? { eventId: query.event } : {}),
  ...(query.since ? { since: Date.parse(query.since) } : {}),
  ...(query.until ? { until: Date.parse(query.until) } : {}),
});

/** Registers the dead letters routes' handlers. */
export function registerDeadLetters(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(listDeadLettersRoute, async (c) => {
    const query = c.req.valid('query');
    const { letters, more } = await backend.deadLetterPage({
      limit: query.limit,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      filter: filterOf(query),
    });
    const last = letters.at(-1);
    return c.json(
      {
        data: letters.map(deadLetterView),
        nextCursor: more && last ? encodeCursor(deadLetterOrderKey(last)) : null,
      },
      200,
    );
  });
  app.openapi(replayRoute, async (c) => {
    const results = await backend.replay(filterOf(c.req.valid('json')));
    const delivered = results.filter((r) => r.delivered).length;
    return c.json(
      {
        delivered,
        failed: results.length - delivered,
        results: results.map((r) => ({
          eventId: r.letter.eventId,
          subscriptionId: r.letter.subscriptionId,
          delivered: r.delivered,
          detail: r.detail,
        })),
      },
      200,
    );
  });
}
