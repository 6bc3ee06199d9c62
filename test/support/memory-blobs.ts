import type { MessageArrival } from '../../src/pipeline/records.js';
import type { BlobStore, NotedBlobs } from '../../src/ports/services.js';

/**
 * An in-memory BlobStore that keeps notes, capped as S3 caps user metadata (2 KB): the port's contract is
 * tested against the real stores elsewhere.
 */
export function memoryBlobs(): BlobStore & NotedBlobs & { keys(): string[] } {
  const blobs = new Map<string, { content: Buffer; note: string | undefined }>();
  return {
    put: async (key, content, note) => {
      if ((note?.length ?? 0) > 2000) throw new Error(`a note of ${note?.length} characters: S3 refuses it`);
      blobs.set(key, { content, note });
    },
    get: async (key) => blobs.get(key)?.content,
    getNoted: async (key) => blobs.get(key),
    delete: async (key) => void blobs.delete(key),
    url: async (key) => `https://blobs.example/${key}`,
    keys: () => [...blobs.keys()],
  };
}

/** A message's arrival as the watcher queues it, for parsing tests. */
export const SAMPLE_ARRIVAL: MessageArrival = {
  kind: 'message',
  eventId: 'evt_0123456789abcdef0123456789abcdef',
  account: 'a',
  mailbox: 'INBOX',
  uidValidity: '1',
  uid: 1,
  modseq: null,
  flags: [],
  internalDate: null,
  size: 0,
  rawKey: 'raw/evt.eml',
  detectedAt: '2026-11-27T00:00:00Z',
};
