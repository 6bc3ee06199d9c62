import EmailReplyParser from 'email-reply-parser';
import { type AddressObject, type EmailAddress, type HeaderLines, simpleParser } from 'mailparser';
import { autoSubmittedReason } from '../domain/auto-submitted.js';
import {
  type Bounce,
  looksLikeBounce,
  originalMessageIdOf,
  readDeliveryStatus,
  readTextBounce,
} from '../domain/bounces.js';
import { errorMessage } from '../domain/errors.js';
import type { EventData } from '../domain/events.js';
import { emptyRecord } from '../domain/null-prototype.js';
import { threadIdOf } from '../domain/threads.js';
import type { BlobStore } from '../ports/services.js';
import { decodeEncodedWords, hasUtf7EncodedWord } from './encoded-words.js';
import { attachmentBlobKey, type MessageArrival } from './records.js';

/** The `data` of a `message.received` event (the public webhook contract, see event-schemas.ts). */
export type MessageReceivedData = EventData<'message.received'>;
/** A name and an email address, as in From or To. */
type NamedAddress = MessageReceivedData['from'] & {};
type AttachmentSummary = MessageReceivedData['attachments'][number];

function flattenAddresses(field: AddressObject | AddressObject[] | undefined): NamedAddress[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  const flatten = (address: EmailAddress): NamedAddress[] =>
    address.group
      ? address.group.flatMap(flatten)
      : [{ name: address.name ?? '', address: address.address ?? '' }];
  return objects.flatMap((o) => o.value.flatMap(flatten)).filter((m) => m.address !== '' || m.name !== '');
}

/** Header names come from the sender: see `emptyRecord`. */
function headerMap(lines: HeaderLines): Record<string, string[]> {
  const headers = emptyRecord<string[]>();
  for (const { key, line } of lines) {
    const colon = line.indexOf(':');
    const value = (colon >= 0 ? line.slice(colon + 1) : '').replace(/\r?\n[ \t]+/g, ' ').trim();
    const list = headers[key];
    if (list) list.push(value);
    else headers[key] = [value];
  }
  return headers;
}

/** When the MIME parser gives up, the header block is still worth delivering: read it leniently. */
function readHeaderBlock(raw: Buffer): HeaderLines {
  const text = raw.subarray(0, 256 * 1024).toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const block = end >= 0 ? text.slice(0, end) : text;
  const lines: { key: string; line: string }[] = [];
  for (const line of block.split(/\r?\n(?![ \t])/)) {
    const colon = line.indexOf(':');
    if (colon > 0) lines.push({ key: line.slice(0, colon).trim().toLowerCase(), line });
  }
  return lines;
}

function splitIds(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : value.split(/\s+/)).map((v) => v.trim()).filter(Boolean);
}

/**
 * Text and HTML are inlined up to 256 Ki characters each: events stay well inside webhook, SQS (1 MiB) and
 * DynamoDB (400 KB) limits, and receivers fetch the rest from the raw message when they need it.
 */
export const MAX_BODY_CHARACTERS = 256 * 1024;

function bodies(text: string | null, html: string | null) {
  const cut = (value: string | null) =>
    value !== null && value.length > MAX_BODY_CHARACTERS ? value.slice(0, MAX_BODY_CHARACTERS) : value;
  return {
    text: cut(text),
    html: cut(html),
    truncated: {
      text: text !== null && text.length > MAX_BODY_CHARACTERS,
      html: html !== null && html.length > MAX_BODY_CHARACTERS,
    },
  };
}

/**
 * The newest reply without quoted history. Only replies and forwards can quote history, so only they go
 * through the reply parser (it costs about 0.2 us per character, the largest CPU cost per message); for a
 * new message the whole text is the newest reply.
 */
function newestReply(parsed: ParsedMail): string | null {
  if (!parsed.text) return null;
  const text = parsed.text.slice(0, MAX_BODY_CHARACTERS);
  const isReply =
    parsed.inReplyTo !== undefined ||
    (parsed.references !== undefined && parsed.references.length > 0) ||
    /^\s*(re|fwd?|aw|wg|sv|vs|tr|rv)\s*(\[\d+\])?\s*:/i.test(parsed.subject ?? '');
  return (isReply ? new EmailReplyParser().parseReply(text) : text).trim();
}

function machineSignals(headers: Record<string, string[]>, fromAddress: string | null) {
  const reason = autoSubmittedReason(headers, fromAddress);
  return { autoSubmitted: reason !== null, autoSubmittedReason: reason };
}

const REPORT_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const RETURNED_TYPES = new Set([
  'message/rfc822',
  'text/rfc822-headers',
  'message/global',
  'message/global-headers',
]);
/** The returned message's headers are at its start; 64 KiB is more than any header block needs. */
const RETURNED_HEADER_BYTES = 64 * 1024;

type ParsedMail = Awaited<ReturnType<typeof simpleParser>>;

/** The report of a delivery status notification, or of a plain-text bounce; null for other mail. */
function bounceOf(parsed: ParsedMail, autoSubmitted: string | null): Bounce | null {
  // Read only once the message is a bounce: forwarded messages are attached as message/rfc822 too.
  const returnedId = () => {
    const returned = parsed.attachments.find((a) => RETURNED_TYPES.has(a.contentType));
    return returned ? originalMessageIdOf(returned.content.toString('utf8', 0, RETURNED_HEADER_BYTES)) : null;
  };
  const reports = parsed.attachments.filter((a) => REPORT_TYPES.has(a.contentType));
  if (reports.length > 0) {
    const read = reports.map((report) => readDeliveryStatus(report.content.toString('utf8')));
    return {
      source: 'delivery-status',
      reportingMta: read.find((r) => r.reportingMta !== null)?.reportingMta ?? null,
      originalMessageId: returnedId(),
      recipients: read.flatMap((r) => r.recipients),
    };
  }
  if (
    !parsed.text ||
    !looksLikeBounce({ autoSubmittedReason: autoSubmitted, subject: parsed.subject ?? null })
  )
    return null;
  const { recipients, returnedCopy } = readTextBounce(parsed.text.slice(0, MAX_BODY_CHARACTERS));
  if (recipients.length === 0) return null;
  return {
    source: 'text',
    reportingMta: null,
    originalMessageId: returnedId() ?? (returnedCopy === null ? null : originalMessageIdOf(returnedCopy)),
    recipients,
  };
}

function isoDate(date: Date | undefined): string | null {
  return date && !Number.isNaN(date.getTime()) ? date.toISOString() : null;
}

/** How every message is parsed (bench/library-floor.ts times mailparser alone with the same options). */
export const MAILPARSER_OPTIONS = {
  checksumAlgo: 'sha256',
  // A delivery status report stays a part of its own (an attachment) rather than joining the text: `bounce`
  // reads it, and `text` keeps only the human-readable explanation.
  keepDeliveryStatus: true,
  skipImageLinks: true,
  skipTextToHtml: true,
  skipTextLinks: true,
} as const;

/**
 * Turns a raw message into event data. Attachments go to the blob store and are referenced by URL.
 * Never throws for bad MIME: the event carries `parseError` and whatever could be read.
 */
export async function parseMessage(
  arrival: MessageArrival,
  raw: Buffer,
  blobs: BlobStore,
): Promise<MessageReceivedData> {
  const base = {
    account: arrival.account,
    mailbox: arrival.mailbox,
    uidValidity: arrival.uidValidity,
    uid: arrival.uid,
    modseq: arrival.modseq,
    flags: arrival.flags,
    internalDate: arrival.internalDate,
    size: arrival.size,
    raw: { url: await blobs.url(arrival.rawKey), size: raw.length },
  };
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(raw, MAILPARSER_OPTIONS);
  } catch (error) {
    const headers = headerMap(readHeaderBlock(raw));
    const first = (name: string) => headers[name]?.[0] ?? null;
    const rawSubject = first('subject');
    const subject = rawSubject === null ? null : decodeEncodedWords(rawSubject);
    const fromAddress = /<([^>]*)>/.exec(first('from') ?? '')?.[1] ?? first('from');
    const threading = {
      account: arrival.account,
      providerThreadId: arrival.providerThreadId,
      messageId: first('message-id'),
      inReplyTo: first('in-reply-to'),
      references: splitIds(first('references') ?? undefined),
      subject,
    };
    return {
      ...base,
      ...machineSignals(headers, fromAddress),
      bounce: null,
      messageId: threading.messageId,
      inReplyTo: threading.inReplyTo,
      references: threading.references,
      threadId: threadIdOf(threading),
      subject,
      date: isoDate(first('date') ? new Date(first('date') as string) : undefined),
      from: null,
      sender: null,
      replyTo: [],
      to: [],
      cc: [],
      bcc: [],
      ...bodies(null, null),
      replyText: null,
      attachments: [],
      headers,
      parseError: errorMessage(error) || 'the message could not be parsed',
    };
  }

  const attachments = await Promise.all(
    parsed.attachments.map(async (attachment, index): Promise<AttachmentSummary> => {
      const key = attachmentBlobKey(arrival.eventId, index);
      await blobs.put(key, attachment.content);
      return {
        filename: attachment.filename ?? null,
        contentType: attachment.contentType,
        size: attachment.size,
        contentId: attachment.contentId ?? null,
        disposition: attachment.contentDisposition ?? null,
        checksum: attachment.checksum,
        url: await blobs.url(key),
      };
    }),
  );
  const senderField = parsed.headers.get('sender') as AddressObject | undefined;
  const headers = headerMap(parsed.headerLines);
  const rawSubject = headers.subject?.[0];
  const from = flattenAddresses(parsed.from)[0] ?? null;
  const signals = machineSignals(headers, from?.address ?? null);
  const threading = {
    account: arrival.account,
    providerThreadId: arrival.providerThreadId,
    messageId: parsed.messageId ?? null,
    inReplyTo: parsed.inReplyTo ?? null,
    references: splitIds(parsed.references),
    subject:
      rawSubject && hasUtf7EncodedWord(rawSubject)
        ? decodeEncodedWords(rawSubject)
        : (parsed.subject ?? null),
  };
  return {
    ...base,
    messageId: threading.messageId,
    inReplyTo: threading.inReplyTo,
    references: threading.references,
    threadId: threadIdOf(threading),
    subject: threading.subject,
    date: isoDate(parsed.date),
    from,
    sender: flattenAddresses(senderField)[0] ?? null,
    replyTo: flattenAddresses(parsed.replyTo),
    to: flattenAddresses(parsed.to),
    cc: flattenAddresses(parsed.cc),
    bcc: flattenAddresses(parsed.bcc),
    ...bodies(parsed.text ?? null, typeof parsed.html === 'string' ? parsed.html : null),
    replyText: newestReply(parsed),
    ...signals,
    bounce: bounceOf(parsed, signals.autoSubmittedReason),
    attachments,
    headers,
    parseError: null,
  };
}
