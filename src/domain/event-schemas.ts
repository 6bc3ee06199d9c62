import { z } from 'zod';

// The webhook contract, as schemas: `npm run schemas` writes them to schemas/*.schema.json for receivers, and
// the tests validate real deliveries against those files with an independent validator (ajv).

const mailbox = z.object({ name: z.string(), address: z.string() }).strict();
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
      subject: z.string().nullable(),
      date: isoTime.nullable(),
      from: mailbox.nullable(),
      sender: mailbox.nullable(),
      replyTo: z.array(mailbox),
      to: z.array(mailbox),
      cc: z.array(mailbox),
      bcc: z.array(mailbox),
      text: z.string().nullable(),
      html: z.string().nullable(),
      truncated: z.object({ text: z.boolean(), html: z.boolean() }).strict(),
      replyText: z.string().nullable(),
      autoSubmitted: z.boolean(),
      autoSubmittedReason: z.string().nullable(),
      attachments: z.array(
        z
          .object({
            filename: z.string().nullable(),
            contentType: z.string(),
            size: z.number().int().nonnegative(),
            contentId: z.string().nullable(),
            disposition: z.string().nullable(),
            checksum: z.string().regex(/^[0-9a-f]{64}$/),
            url: z.url(),
          })
          .strict(),
      ),
      headers: z.record(z.string(), z.array(z.string())),
      raw: z.object({ url: z.url(), size: z.number().int().nonnegative() }).strict(),
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

const messageFlagsChangedSchema = envelope(
  'message.flags_changed',
  z.object({ ...messageRef, flags: z.array(z.string()), modseq: decimal }).strict(),
);

const messageDeletedSchema = envelope(
  'message.deleted',
  z.object({ ...messageRef, detectedBy: z.enum(['vanished', 'uid-comparison']) }).strict(),
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
      kind: z.enum(['network', 'authentication']),
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

/** Event type -> schema, for every type in EVENT_TYPES. */
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

export function jsonSchemaOf(type: keyof typeof EVENT_SCHEMAS): Record<string, unknown> {
  return {
    $id: `urn:idlehook:event:${type}`,
    title: type,
    ...z.toJSONSchema(EVENT_SCHEMAS[type]), // trusted key: an event type, checked by the compiler
  };
}
