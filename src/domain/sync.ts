import { IdlehookError } from './errors.js';

/** Where the bridge stands in one mailbox. UIDs only grow within one UIDVALIDITY (RFC 9051 2.3.1.1). */
export interface MailboxCursor {
  readonly uidValidity: string;
  /** Every UID up to and including this one has been handed to the queue. */
  readonly lastUid: number;
  /** HIGHESTMODSEQ (RFC 7162) when the cursor was written; null on servers without CONDSTORE. */
  readonly highestModseq: string | null;
}

/** What the server told us about the mailbox just now (SELECT/EXAMINE, completed where it left gaps). */
export interface MailboxSnapshot {
  readonly uidValidity: string;
  /**
   * At most the UID the next message will get: SELECT's UIDNEXT, else STATUS's, else one above the highest UID
   * present (Courier's SELECT sends no UIDNEXT, though RFC 3501 6.3.1 requires it there).
   */
  readonly uidNext: number;
  readonly highestModseq: string | null;
}

/** The server's answers left the sync nothing it can use; reconnecting at once would only ask again. */
export class UnusableMailboxStateError extends IdlehookError {
  override readonly name = 'UnusableMailboxStateError';
  constructor(message: string) {
    super('SERVER_PROTOCOL', true, message);
  }
}

export type SyncPlan =
  /** First time we see this mailbox: start from here (`new`) or from the beginning (`all`). */
  | { readonly kind: 'baseline'; readonly cursor: MailboxCursor }
  /** Same UIDVALIDITY: announce every UID above the cursor. */
  | { readonly kind: 'catch-up'; readonly cursor: MailboxCursor }
  /**
   * UIDVALIDITY changed: every UID we knew is meaningless now (RFC 9051 2.3.1.1). Announce one reset and
   * re-baseline at the current end, rather than re-announcing what is already in the mailbox as new mail.
   */
  | { readonly kind: 'reset'; readonly previousUidValidity: string; readonly cursor: MailboxCursor };

export function planSync(
  stored: MailboxCursor | undefined,
  snapshot: MailboxSnapshot,
  initialSync: 'new' | 'all',
): SyncPlan {
  if (!Number.isSafeInteger(snapshot.uidNext) || snapshot.uidNext < 1)
    throw new UnusableMailboxStateError(`the server gave no usable UIDNEXT (${snapshot.uidNext})`);
  const atEnd: MailboxCursor = {
    uidValidity: snapshot.uidValidity,
    lastUid: Math.max(0, snapshot.uidNext - 1),
    highestModseq: snapshot.highestModseq,
  };
  // A cursor that never passed a message announced nothing under its UIDVALIDITY, so a new one invalidates
  // nothing a subscriber holds: first sight again, no reset. Courier hands an empty folder a new UIDVALIDITY at
  // every SELECT until it holds mail; a reset each time would be noise.
  if (!stored || (stored.lastUid === 0 && stored.uidValidity !== snapshot.uidValidity)) {
    return {
      kind: 'baseline',
      cursor: initialSync === 'all' ? { ...atEnd, lastUid: 0, highestModseq: null } : atEnd,
    };
  }
  if (stored.uidValidity !== snapshot.uidValidity) {
    return { kind: 'reset', previousUidValidity: stored.uidValidity, cursor: atEnd };
  }
  return { kind: 'catch-up', cursor: stored };
}

/** Splits UIDs into fetch batches bounded by count and by total size, so a catch-up never holds too much mail. */
export function batchBySize<T extends { size: number }>(
  items: readonly T[],
  maxCount: number,
  maxBytes: number,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length > 0 && (current.length >= maxCount || bytes + item.size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
