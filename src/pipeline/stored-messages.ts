import { type MessageCoordinates, messageEventId } from '../domain/events.js';
import type { StoredMessage } from '../ports/management.js';
import type { BlobStore, NotedBlobs } from '../ports/services.js';
import { arrivalDetailsOf } from './arrival-notes.js';
import { messageEventOf } from './handle-ingest.js';
import { type MessageArrival, rawBlobKey } from './records.js';

/**
 * A message's `message.received` event as it was delivered, built again from its stored source, with fresh links
 * to the source and the attachments (which the first parse stored; they are not written again).
 */
export async function readStoredMessage(
  blobs: BlobStore & NotedBlobs,
  coordinates: MessageCoordinates,
): Promise<StoredMessage> {
  const eventId = messageEventId('message.received', coordinates);
  const rawKey = rawBlobKey(eventId);
  const stored = await blobs.getNoted(rawKey);
  if (!stored) return { missing: 'not-stored' };
  const details = arrivalDetailsOf(stored.note);
  if (!details) return { missing: 'stored-without-details' };
  const { providerThreadId, sourceUnavailable, ...rest } = details;
  const arrival: MessageArrival = {
    kind: 'message',
    eventId,
    rawKey,
    ...coordinates,
    ...rest,
    ...(providerThreadId === undefined ? {} : { providerThreadId }),
    ...(sourceUnavailable ? { sourceUnavailable } : {}),
  };
  const attachmentsStoredAlready: BlobStore = {
    put: async () => undefined,
    get: (key) => blobs.get(key),
    delete: async () => undefined,
    url: (key) => blobs.url(key),
  };
  return { event: await messageEventOf(arrival, stored.content, attachmentsStoredAlready) };
}
