import { simpleParser } from 'mailparser';
import { rawBlobKey } from '../domain/blob-keys.js';
import type { BlobStore } from '../ports/services.js';

/** The header part of a message is all that is read: a subject and a sender never need the body. */
const HEADER_BYTES = 64 * 1024;
/** Messages remembered, so that polling does not read the same blobs every two seconds. */
const REMEMBERED = 500;

export interface MessageDetails {
  readonly subject: string | null;
  readonly from: string | null;
}

/**
 * Subject and sender of a received message, from its raw source, for a dashboard whose operator turned them on
 * (`dashboard.showMessageDetails`). Undefined when the raw message is gone (retention) or the event is no message.
 */
export function messageDetailsReader(
  blobs: Pick<BlobStore, 'get'>,
): (eventId: string) => Promise<MessageDetails | undefined> {
  const remembered = new Map<string, MessageDetails>();
  return async (eventId) => {
    const known = remembered.get(eventId);
    if (known) return known;
    const raw = await blobs.get(rawBlobKey(eventId));
    if (!raw) return undefined;
    const end = raw.indexOf('\r\n\r\n');
    const header = raw.subarray(
      0,
      end < 0 ? Math.min(raw.length, HEADER_BYTES) : Math.min(end + 4, HEADER_BYTES),
    );
    const parsed = await simpleParser(header, {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipImageLinks: true,
    });
    const details = { subject: parsed.subject ?? null, from: parsed.from?.text ?? null };
    if (remembered.size >= REMEMBERED) remembered.delete(remembered.keys().next().value ?? '');
    remembered.set(eventId, details);
    return details;
  };
}
