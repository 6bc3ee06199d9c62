import { randomUUID } from 'node:crypto';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { identifier, messageActionSchema } from '../../config/account-settings.js';
import { errorMessage } from '../../domain/errors.js';
import { EVENT_SCHEMAS } from '../../domain/event-schemas.js';
import type { MessageCoordinates } from '../../domain/events.js';
import type { ActionOutcome } from '../../domain/message-actions.js';
import type { ManagementBackend } from '../../ports/management.js';
import { notFound } from '../answers.js';
import { json, needs, problems } from '../contract.js';
import { problemResponse } from '../problem.js';

/**
 * A message as its event named it: `<uidValidity>:<uid>:<mailbox>`, the mailbox last because its name may hold
 * colons (and, percent-encoded, slashes). UIDVALIDITY and UID name one message forever (RFC 9051).
 */
const MESSAGE_REF = /^(\d{1,20}):(\d{1,10}):(.+)$/s;

export const MessageParams = z.object({
  id: z.string().pipe(identifier).openapi({ example: 'support' }),
  messageRef: z
    .string()
    .regex(MESSAGE_REF, 'use <uidValidity>:<uid>:<mailbox> from the event, e.g. 1795799994:4211:INBOX')
    .openapi({ example: '1795799994:4211:INBOX' }),
});

const StoredMessageSchema = EVENT_SCHEMAS['message.received']
  .extend({ id: z.string().describe('the webhook-id it was delivered with') })
  .openapi('StoredMessage');

export const getMessageRoute = createRoute({
  operationId: 'getMessage',
  method: 'get',
  path: '/v1/accounts/{id}/messages/{messageRef}',
  // Mail content: a read token (a wall dashboard's) sees states and counts, never a message.
  ...needs('full'),
  summary: 'A message read again: its message.received event as delivered, with fresh links',
  description:
    'For a webhook lost on the receiver’s side after its 2xx. The event is built again from the stored source ' +
    '(parsed the same way, so the body is the one delivered) for as long as the retention period keeps it; ' +
    'the raw and attachment links are signed anew. `messageRef` is `<uidValidity>:<uid>:<mailbox>` from the ' +
    'event’s data, percent-encoded as one path segment.',
  request: { params: MessageParams },
  responses: {
    200: json(StoredMessageSchema, 'the event as delivered'),
    ...problems(401, 404, 422),
  },
});

const MessageActionRequest = messageActionSchema({
  requestId: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{1,100}$/, 'up to 100 letters, digits and . _ : -')
    .optional()
    .describe(
      'yours, to retry safely: the same id within 10 minutes gets the first answer and acts no more (one is made when absent); the events the action causes carry it in `causedBy`',
    ),
}).openapi('MessageAction', { example: { type: 'move', to: 'Tickets', requestId: 'ticket-4711' } });

const MovedTo = z
  .object({ mailbox: z.string(), uidValidity: z.string().nullable(), uid: z.number().int().nullable() })
  .openapi('MovedMessage');

const MessageActionDone = z
  .object({
    requestId: z.string(),
    movedTo: MovedTo.optional().describe(
      'where a moved message is now (uidValidity and uid where the server says: COPYUID)',
    ),
  })
  .openapi('MessageActionDone');

export const messageActionRoute = createRoute({
  operationId: 'actOnMessage',
  method: 'post',
  path: '/v1/accounts/{id}/messages/{messageRef}/actions',
  ...needs('full'),
  summary: 'Act on a message: mark it seen, add or remove flags, move it, or delete it',
  description:
    'Runs on a connection of the account’s own (the watching ones stay read-only), within its `connectionLimit`. ' +
    'Nothing is done when the reference is stale (409: the folder’s UIDVALIDITY changed, so its UIDs name other ' +
    'messages) or the message is gone (404). The `message.flags_changed` and `message.deleted` events the action ' +
    'causes carry `causedBy: { action, requestId }`. In AWS mode the watcher task holding the account runs it: the ' +
    'request waits up to 20 s for it (503 after that: try again with the same requestId).',
  request: {
    params: MessageParams,
    body: { content: { 'application/json': { schema: MessageActionRequest } }, required: true },
  },
  responses: {
    200: json(MessageActionDone, 'done'),
    ...problems(401, 403, 404, 409, 413, 415, 422, 503),
  },
});

const ActionRecordSchema = z
  .object({
    id: z
      .string()
      .describe(
        '`request_<requestId>` (through this API) or `after_<eventId>` (a subscription’s afterDelivery)',
      ),
    messageRef: z.string().describe('`<uidValidity>:<uid>:<mailbox>`, as the event named the message'),
    actions: z.array(
      messageActionSchema({
        requestId: z.string().describe('what the events the action caused carry in `causedBy`'),
      }),
    ),
    outcomes: z
      .array(
        z.object({
          kind: z.enum(['done', 'stale', 'gone', 'refused']),
          requestId: z.string().optional(),
          movedTo: MovedTo.optional(),
          detail: z.string().optional(),
        }),
      )
      .describe('one per action run, in order: the actions after one not done were skipped'),
    unreached: z
      .string()
      .nullable()
      .describe('why the action after the last outcome could not run: the server could not be reached'),
    filedAt: z.string().describe('ISO 8601'),
    finishedAt: z.string().describe('ISO 8601'),
  })
  .openapi('ActionRecord');

export const listActionsRoute = createRoute({
  operationId: 'listActions',
  method: 'get',
  path: '/v1/accounts/{id}/actions',
  ...needs('read'),
  summary: 'The message actions run on an account, newest first: through this API and after delivery',
  description:
    'What each action came to, for a message that did not move or a flag that was not set. Kept as long as the ' +
    'retention period (local mode) or a day (AWS mode, where the commands themselves are the log).',
  request: {
    params: z.object({ id: z.string().pipe(identifier).openapi({ example: 'support' }) }),
    query: z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }),
  },
  responses: {
    200: json(z.object({ data: z.array(ActionRecordSchema) }).openapi('ActionList'), 'actions'),
    ...problems(401, 404, 422),
  },
});

function coordinatesOf(account: string, messageRef: string): MessageCoordinates {
  const [, uidValidity = '', uid = '', mailbox = ''] = MESSAGE_REF.exec(messageRef) ?? [];
  return { account, mailbox, uidValidity, uid: Number(uid) };
}

/** Registers the message routes' handlers. */
export function registerMessages(app: OpenAPIHono, backend: ManagementBackend): void {
  app.openapi(getMessageRoute, async (c) => {
    const { id, messageRef } = c.req.valid('param');
    if (!(await backend.directory.account(id))) return notFound(c, `account "${id}"`);
    const read = await backend.readMessage(coordinatesOf(id, messageRef));
    // The schema's output type is mutable; the event is the same shape, read-only.
    if ('event' in read) return c.json(read.event as z.output<typeof StoredMessageSchema>, 200);
    return problemResponse(c, 404, {
      title: 'Message not stored',
      detail:
        read.missing === 'not-stored'
          ? `no stored message ${messageRef} in account "${id}": never seen by idlehook, or older than the retention period`
          : `message ${messageRef} was stored by an earlier version of idlehook, without what reading it again needs`,
    });
  });

  app.openapi(listActionsRoute, async (c) => {
    const { id } = c.req.valid('param');
    if (!(await backend.directory.account(id))) return notFound(c, `account "${id}"`);
    const records = await backend.actions.listActions(id, c.req.valid('query').limit);
    return c.json(
      {
        data: records.map(({ command, result, finishedAt }) => ({
          id: command.id,
          messageRef: `${command.message.uidValidity}:${command.message.uid}:${command.message.mailbox}`,
          actions: command.steps.map(({ action, requestId }) =>
            'flags' in action ? { ...action, flags: [...action.flags], requestId } : { ...action, requestId },
          ),
          outcomes: result.outcomes.map((outcome) => ({ ...outcome })),
          unreached: result.unreached ?? null,
          filedAt: new Date(command.filedAt).toISOString(),
          finishedAt: new Date(finishedAt).toISOString(),
        })),
      },
      200,
    );
  });

  app.openapi(messageActionRoute, async (c) => {
    const { id, messageRef } = c.req.valid('param');
    const { requestId = `act_${randomUUID()}`, ...action } = c.req.valid('json');
    if (!(await backend.directory.account(id))) return notFound(c, `account "${id}"`);
    const message = coordinatesOf(id, messageRef);
    if (action.type === 'move' && action.to === message.mailbox)
      return problemResponse(c, 422, { detail: `the message is in ${action.to} already` });
    let outcome: ActionOutcome | undefined;
    try {
      outcome = await backend.actOnMessage(message, action, requestId);
    } catch (error) {
      return problemResponse(c, 503, {
        title: 'The mail server could not be reached',
        detail: `nothing is known to be done; try again with the same requestId: ${errorMessage(error)}`,
      });
    }
    if (!outcome)
      return problemResponse(c, 503, {
        title: 'Account not watched yet',
        detail: `no watcher holds account "${id}" yet, or none answered in time: try again in a few seconds with the same requestId`,
      });
    switch (outcome.kind) {
      case 'done':
        return c.json(
          { requestId: outcome.requestId, ...(outcome.movedTo ? { movedTo: outcome.movedTo } : {}) },
          200,
        );
      case 'stale':
        return problemResponse(c, 409, { title: 'Stale message reference', detail: outcome.detail });
      case 'gone':
        return problemResponse(c, 404, { title: 'Message gone', detail: outcome.detail });
      case 'refused':
        return problemResponse(c, 409, { title: 'Action refused', detail: outcome.detail });
    }
  });
}
