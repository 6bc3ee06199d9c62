import type { ImapFlow } from 'imapflow';
import type { MailboxCursor } from '../domain/sync.js';
import {
  absentUpTo,
  difference,
  formatRanges,
  parseRanges,
  rangesOf,
  type UidRanges,
  uidsIn,
  union,
} from '../domain/uid-ranges.js';
import type { IngestRecord } from '../pipeline/records.js';
import type { OutgoingMessage } from '../ports/pipeline.js';
import type { CursorStore } from '../ports/watcher.js';
import { messageDeleted } from './mailbox-changes.js';

/**
 * Deletions on servers without QRESYNC (Gmail among them), where an expunge names only a sequence number and
 * nothing reports what was expunged while disconnected. The mailbox's UIDs (UID SEARCH) are compared with the
 * gaps known from the last comparison: a UID announced before and absent now was deleted. It costs one UID
 * SEARCH of the whole mailbox per session start and per expunge, and one write when the gaps change; the
 * gaps are stored as ranges, so a mailbox costs a few bytes per run of deleted messages.
 */
export class UidComparison {
  private gaps: UidRanges | undefined;
  private due = true;

  constructor(
    private readonly account: string,
    private readonly mailbox: string,
    private readonly store: CursorStore,
  ) {}

  /** An EXPUNGE without a UID arrived: compare at the next sync. */
  expungedBySequence(): void {
    this.due = true;
  }

  /**
   * After a catch-up: UIDs that the cursor passed without announcing (expunged before they were fetched) are
   * gaps too, or a later comparison would report them. Then compares, if one is due. The caller queues the
   * records, then calls `commit` to store the new gaps (a crash in between repeats the deletions, never loses them).
   */
  async afterCatchUp(
    client: ImapFlow,
    cursor: MailboxCursor,
    passed: { readonly from: number; readonly announced: Iterable<number> },
    detectedAt: string,
  ): Promise<{ records: OutgoingMessage<IngestRecord>[]; commit: () => Promise<void> }> {
    const stored = await this.knownGaps(cursor.uidValidity);
    const skipped =
      cursor.lastUid > passed.from
        ? difference([[passed.from + 1, cursor.lastUid]], rangesOf(passed.announced))
        : [];
    if (!this.due) {
      const commit = () =>
        stored && skipped.length > 0
          ? this.save(cursor.uidValidity, union(stored, skipped))
          : Promise.resolve();
      return { records: [], commit };
    }
    this.due = false;
    const present =
      cursor.lastUid > 0 ? await client.search({ uid: `1:${cursor.lastUid}` }, { uid: true }) : [];
    const absent = absentUpTo(cursor.lastUid, rangesOf(present || []));
    const commit = () => this.save(cursor.uidValidity, absent);
    // First comparison in this UIDVALIDITY: what is absent now is the baseline, not news.
    if (!stored) return { records: [], commit };
    const deleted = difference(absent, union(stored, skipped));
    const records = [...uidsIn(deleted)].map((uid) =>
      messageDeleted(
        { account: this.account, mailbox: this.mailbox, uidValidity: cursor.uidValidity, uid },
        'uid-comparison',
        detectedAt,
      ),
    );
    return { records, commit };
  }

  private async knownGaps(uidValidity: string): Promise<UidRanges | undefined> {
    if (this.gaps === undefined) {
      const stored = await this.store.getUidGaps(this.account, this.mailbox);
      if (stored?.uidValidity === uidValidity) this.gaps = parseRanges(stored.gaps);
    }
    return this.gaps;
  }

  private async save(uidValidity: string, gaps: UidRanges): Promise<void> {
    const text = formatRanges(gaps);
    if (this.gaps !== undefined && formatRanges(this.gaps) === text) return;
    await this.store.setUidGaps(this.account, this.mailbox, { uidValidity, gaps: text });
    this.gaps = gaps;
  }
}
