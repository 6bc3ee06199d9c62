import { z } from 'zod';
import type { BlobStore } from '../ports/services.js';
import type { MessageArrival } from './records.js';

/**
 * What the raw blob's note keeps of a message's arrival: everything the event carries that is not in the
 * message itself, so that reading it again yields the event as delivered. S3 allows 2 KB of user metadata; a
 * note that would be longer leaves out the flags (read again, the message then shows none).
 */
const MAX_NOTE = 1800;
const arrivalNote = z.object({
  modseq: z.string().nullable(),
  flags: z.array(z.string()).default([]),
  internalDate: z.string().nullable(),
  size: z.number(),
  detectedAt: z.string(),
  providerThreadId: z.string().optional(),
  sourceUnavailable: z.literal(true).optional(),
});

function noteOf(arrival: MessageArrival): string {
  const { modseq, flags, internalDate, size, detectedAt, providerThreadId, sourceUnavailable } = arrival;
  const details = { modseq, internalDate, size, detectedAt, providerThreadId, sourceUnavailable };
  const withFlags = Buffer.from(JSON.stringify({ ...details, flags })).toString('base64url');
  return withFlags.length <= MAX_NOTE
    ? withFlags
    : Buffer.from(JSON.stringify(details)).toString('base64url');
}

/** The watcher's write of a new message's source, with what reading it again needs. */
export function storeRawMessage(blobs: BlobStore, arrival: MessageArrival, source: Buffer): Promise<void> {
  return blobs.put(arrival.rawKey, source, noteOf(arrival));
}

/** The arrival details a note keeps; undefined for a blob without a (readable) note. */
export function arrivalDetailsOf(note: string | undefined): z.output<typeof arrivalNote> | undefined {
  if (note === undefined) return undefined;
  try {
    return arrivalNote.parse(JSON.parse(Buffer.from(note, 'base64url').toString('utf8')));
  } catch {
    return undefined;
  }
}
