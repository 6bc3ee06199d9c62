import { z } from 'zod';

// The webhook contract, as schemas: `npm run schemas` writes them to schemas/*.schema.json for receivers, and
// the tests validate real deliveries against those files with an independent validator (ajv).

const namedAddress = z.object({ name: z.string(), address: z.string() }).strict();
const isoTime = z.iso.datetime({ offset: true });
const decimal = z.string().regex(/^\d+$/);

const envelope = <Type extends string, Data extends z.ZodType>(type: Type, data: Data) =>
  z.object({ type: z.literal(type), timestamp: isoTime, data }).strict();

const messageReceivedSchema = envelope(
  'message.received',
  z
    .object({
      account: z.string(),
      mailbox: z.string(),
      uidValidity: decimal,
      uid: z.number().int().positive(),
      modseq: decimal.nullable(),
      flags: z.array(z.string()),
      internalDate: isoTime.nullable(),
      size: z.number().int().nonnegative(),
      messageId: z.string().nullable(),
      inReplyTo: z.string().nullable(),
      references: z.array(z.string()),
      threadId: z
        .string()
        .describe(
          'the conversation: the same for every message of a reply chain (from References, In-Reply-To or Message-ID; see docs/events.md)',
        ),
      subject: z.string().nullable(),
      date: isoTime.nullable(),
      from: namedAddress.nullable(),
      sender: namedAddress.nullable(),
      replyTo: z.array(namedAddress),
      to: z.array(namedAddress),
      cc: z.array(namedAddress),
      bcc: z.array(namedAddress),
      text: z.string().nullable(),
      html: z.string().nullable(),
      // Which of text/html were cut at MAX_BODY_CHARACTERS; the whole message stays behind `raw.url`.
      truncated: z.object({ text: z.boolean(), html: z.boolean() }).strict(),
      // The newest reply without quoted history or signature, from `text` (null without a text part).
      replyText: z.string().nullable(),
      // Machine-generated (autoreply, bounce, bulk): do not answer it automatically.
      autoSubmitted: z.boolean(),
      // Which signal made it so, e.g. "Auto-Submitted: auto-replied" or "empty Return-Path".
      autoSubmittedReason: z.string().nullable(),
      // A bounce's report per recipient (RFC 3464, or read from a non-standard bounce's text); null otherwise.
      bounce: z
        .object({
          source: z.enum(['delivery-status', 'text']),
          reportingMta: z.string().nullable(),
          originalMessageId: z.string().nullable(),
          recipients: z.array(
            z
              .object({
                recipient: z.string(),
                action: z.string().nullable(),
                status: z
                  .string()
                  .regex(/^[245]\.\d{1,3}\.\d{1,3}$/)
                  .nullable(),
                diagnosticCode: z.string().nullable(),
                remoteMta: z.string().nullable(),
              })
              .strict(),
          ),
        })
        .strict()
        .nullable()
        .describe(
          'what a bounce says per recipient (see docs/events.md); null when the message is not a bounce',
        ),
      attachments: z.array(
        z
          .object({
            filename: z.string().nullable(),
            contentType: z.string(),
            size: z.number().int().nonnegative(),
            contentId: z.string().nullable(),
            disposition: z.string().nullable(),
            // sha256 of the decoded content, hex.
            checksum: z.string().regex(/^[0-9a-f]{64}$/),
            url: z.url(),
          })
          .strict(),
      ),
      // Raw header values (unfolded, not decoded) by lower-case name, in message order.
      headers: z.record(z.string(), z.array(z.string())),
      raw: z.object({ url: z.url(), size: z.number().int().nonnegative() }).strict(),
      // Set when the MIME structure could not be fully parsed; the event is delivered anyway.
      parseError: z.string().nullable(),
    })
    .strict(),
);

const messageRef = {
  account: z.string(),
  mailbox: z.string(),
  uidValidity: decimal,
  uid: z.number().int().positive(),
};

/** Present where an action the application asked for (`POST .../actions`) caused the change: its own echo. */
const causedBy = z
  .object({
    action: z.enum(['mark-seen', 'add-flags', 'remove-flags', 'move', 'delete']),
    requestId: z.string(),
  })
  .strict()
  .optional();

const messageFlagsChangedSchema = envelope(
  'message.flags_changed',
  z.object({ ...messageRef, flags: z.array(z.string()), modseq: decimal, causedBy }).strict(),
);

const messageDeletedSchema = envelope(
  'message.deleted',
  z.object({ ...messageRef, detectedBy: z.enum(['vanished', 'uid-comparison']), causedBy }).strict(),
);

const mailboxResetSchema = envelope(
  'mailbox.reset',
  z
    .object({
      account: z.string(),
      mailbox: z.string(),
      previousUidValidity: decimal,
      uidValidity: decimal,
      uidNext: z.number().int().positive(),
    })
    .strict(),
);

const folder = {
  account: z.string(),
  mailbox: z.string(),
  uidValidity: decimal.nullable(),
  specialUse: z.string().nullable(),
};
const mailboxCreatedSchema = envelope('mailbox.created', z.object(folder).strict());
const mailboxDeletedSchema = envelope('mailbox.deleted', z.object(folder).strict());
const mailboxRenamedSchema = envelope(
  'mailbox.renamed',
  z.object({ ...folder, previousMailbox: z.string() }).strict(),
);

const accountErrorSchema = envelope(
  'account.error',
  z
    .object({
      account: z.string(),
      code: z.string(),
      kind: z.enum(['network', 'authentication', 'sync']),
      message: z.string(),
      host: z.string(),
      port: z.number().int(),
      nextLoginAttemptAt: isoTime.nullable(),
    })
    .strict(),
);

const endpointDisabledSchema = envelope(
  'endpoint.disabled',
  z
    .object({
      subscriptionId: z.string(),
      /** The endpoint's host (and port), never its full URL: webhook URLs often carry tokens. */
      host: z.string(),
      reason: z.string(),
      failingSince: isoTime.nullable(),
      disabledAt: isoTime,
    })
    .strict(),
);

/** Every event idlehook emits, by type: the one definition the event types, builders and JSON Schemas derive from. */
export const EVENT_SCHEMAS = {
  'message.received': messageReceivedSchema,
  'message.flags_changed': messageFlagsChangedSchema,
  'message.deleted': messageDeletedSchema,
  'mailbox.reset': mailboxResetSchema,
  'mailbox.created': mailboxCreatedSchema,
  'mailbox.deleted': mailboxDeletedSchema,
  'mailbox.renamed': mailboxRenamedSchema,
  'account.error': accountErrorSchema,
  'endpoint.disabled': endpointDisabledSchema,
} as const;

export type EventType = keyof typeof EVENT_SCHEMAS;

/** Every event type, in the order above; subscriptions filter on these names. */
export const EVENT_TYPES = Object.keys(EVENT_SCHEMAS) as [EventType, ...EventType[]];

export function jsonSchemaOf(type: EventType): Record<string, unknown> {
  return {
    $id: `urn:idlehook:event:${type}`,
    title: type,
    ...z.toJSONSchema(EVENT_SCHEMAS[type]), // trusted key: an event type, checked by the compiler
  };
}
