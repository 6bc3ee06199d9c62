/**
 * Where each kind of blob lives in the blob store (an S3 bucket in AWS). The prefixes are a contract with the
 * bucket's lifecycle rules: content that exists for receivers expires with the retention period; a dead letter's
 * body and the watcher's large state stay until idlehook deletes them.
 */
export const BLOB_PREFIXES = {
  raw: 'raw/',
  attachments: 'attachments/',
  queueOverflow: 'queue-overflow/',
  deadLetters: 'dead-letters/',
  state: 'state/',
} as const;

/** Prefixes the retention period applies to. */
export const EXPIRING_BLOB_PREFIXES = [
  BLOB_PREFIXES.raw,
  BLOB_PREFIXES.attachments,
  BLOB_PREFIXES.queueOverflow,
];

export function rawBlobKey(eventId: string): string {
  return `${BLOB_PREFIXES.raw}${eventId}.eml`;
}

export function attachmentBlobKey(eventId: string, index: number): string {
  return `${BLOB_PREFIXES.attachments}${eventId}/${index}`;
}

export function deadLetterBodyKey(eventId: string, subscriptionId: string): string {
  return `${BLOB_PREFIXES.deadLetters}${eventId}/${subscriptionId}.json`;
}

/** A value of the watcher's state too large for its DynamoDB item; `scope` and `content` are hashes. */
export function stateBlobKey(scope: string, content: string): string {
  return `${BLOB_PREFIXES.state}${scope}/${content}.json`;
}

export function queueOverflowKey(hash: string): string {
  return `${BLOB_PREFIXES.queueOverflow}${hash}.json`;
}
