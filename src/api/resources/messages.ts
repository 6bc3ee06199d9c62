import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { identifier } from '../../config/account-settings.js';
import { EVENT_SCHEMAS } from '../../domain/event-schemas.js';
import type { MessageCoordinates } from '../../domain/events.js';
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
}
