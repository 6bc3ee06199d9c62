import type { FetchMessageObject, ImapFlow, StatusObject } from 'imapflow';
import type { AccountConfig } from '../config/config.js';
import type { MailboxStatus } from '../domain/account-status.js';
import type { ByteBudget } from '../domain/byte-budget.js';
import { MailboxNotOwnedError } from '../domain/errors.js';
import { mailboxResetEvent, messageEventId } from '../domain/events.js';
import {
  batchBySize,
  type MailboxCursor,
  type MailboxSnapshot,
  planSync,
  UnusableMailboxStateError,
} from '../domain/sync.js';
import { storeRawMessage } from '../pipeline/arrival-notes.js';
import {
  arrivalRecord,
  eventRecord,
  type IngestRecord,
  type MessageArrival,
  type MessageMetadata,
  rawBlobKey,
} from '../pipeline/records.js';
import type { EventQueue, OutgoingMessage } from '../ports/pipeline.js';
import type { BlobStore, Clock, Logger } from '../ports/services.js';
import type { CursorStore, LeaseFence, MailboxOwnership } from '../ports/watcher.js';
import { UidValidityChangedError } from './connection-failure.js';
import { type FolderListing, type FolderReporter, listFolders } from './folder-listing.js';
import { Liveness } from './liveness.js';
import { changesSince, maxModseq, sharedFlags } from './mailbox-changes.js';
import { pollsWhenIdleStarts } from './server-quirks.js';
import { UidComparison } from './uid-comparison.js';

/** Bounds one FETCH of message sources, so catching up on a large backlog never holds too much mail. */
const FETCH_BATCH_MESSAGES = 250;
const FETCH_BATCH_BYTES = 32 * 1024 * 1024;
/** Up to this many new messages (by EXISTS count) are fetched with their sources in a single FETCH. */
const SINGLE_FETCH_MAX_MESSAGES = 8;

export interface MailboxSyncDependencies {
  /** Set for sessions that may list the account's folders (see FolderReporter.designated). */
  readonly folders?: FolderReporter;
  readonly cursors: CursorStore;
  readonly ingest: Pick<EventQueue<IngestRecord>, 'send'>;
  readonly blobs: BlobStore;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Shared by every mailbox of the process: caps the message sources held at once. */
  readonly sourceBudget: ByteBudget;
  /** Asked before every event and cursor write (see MailboxOwnership.lease). */
  readonly ownership?: MailboxOwnership;
}

/**
 * The lease to write an account's events, cursors and folders under (undefined where one process owns
 * everything); MailboxNotOwnedError once another watcher owns the account.
 */
export function leaseToActUnder(
  ownership: MailboxOwnership | undefined,
  accountId: string,
): LeaseFence | undefined {
  if (!ownership?.lease) return undefined;
  const held = ownership.lease(accountId);
  if (!held) throw new MailboxNotOwnedError(accountId);
  return held;
}

const minModseq = (a: string, b: string): string => (BigInt(a) < BigInt(b) ? a : b);

/** A message as one FETCH of a mailbox lists it: its metadata without the coordinates the session knows. */
type FetchedMessage = Pick<
  MessageMetadata,
  'uid' | 'size' | 'flags' | 'internalDate' | 'modseq' | 'providerThreadId'
>;

/** UIDVALIDITY as SELECT gave it; imapflow's type promises one, servers do not. */
function uidValidityOf(mailbox: { readonly uidValidity?: bigint }): string | undefined {
  return mailbox.uidValidity?.toString();
}

/** A UID as the server gave it, or undefined where it gave none (or nonsense: UIDs are positive, RFC 9051 2.3.1.1). */
function positiveUid(value: number | undefined): number | undefined {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function toIso(date: Date | string | undefined): string | null {
  if (date === undefined) return null;
  const d = typeof date === 'string' ? new Date(date) : date;
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/**
 * Brings one selected mailbox's cursor up to date: every UID above it is fetched, its source stored and an
 * arrival queued, and only then is the cursor advanced (at-least-once: a crash re-announces, never skips).
 */
export class MailboxSync {
  private cursor: MailboxCursor | undefined;
  /** The EXISTS count when the last catch-up finished; undefined before the first. */
  private knownExists: number | undefined;
  private requested = false;
  /** A sync was asked for by the server's news (EXISTS, flags, expunges) or our own, not only by the check. */
  private signalled = false;
  private checkRequested = false;
  /**
   * The mailbox as the check's STATUS described it (UIDVALIDITY, UIDNEXT, MESSAGES, HIGHESTMODSEQ) before a sync
   * that then completed: a later check finding the same has nothing to catch up on, and skips the FETCHes.
   */
  private settledAs: string | undefined;
  /** The account's folders are listed with the periodic check, by the designated session only. */
  private foldersDue = false;
  private running: Promise<void> | undefined;
  /** UIDs the server reported expunged (VANISHED), not yet announced. */
  private vanished = new Set<number>();
  /** UIDs announced deleted whose expunge the cursor's MODSEQ may not have passed yet. */
  private readonly deletedAnnounced = new Set<number>();
  /** An expunge was reported since HIGHESTMODSEQ was last read: the next look for changes reads it afresh. */
  private expungesSeen = false;
  private readonly uidComparison: UidComparison;
  private failure: ((error: unknown) => void) | undefined;
  private synced: (() => void) | undefined;
  /** Whether the server answers: the session and the poller close a connection that stopped. */
  readonly liveness: Liveness;

  constructor(
    private readonly client: ImapFlow,
    private readonly account: AccountConfig,
    private readonly mailbox: string,
    private readonly status: MailboxStatus,
    private readonly deps: MailboxSyncDependencies,
  ) {
    this.uidComparison = new UidComparison(account.id, mailbox, deps.cursors);
    this.liveness = new Liveness(deps.clock);
  }

  /** Called on open and on every EXISTS; runs coalesced, one sync at a time. */
  request(): void {
    this.signalled = true;
    this.schedule();
  }

  private schedule(): void {
    this.requested = true;
    this.running ??= this.drain().finally(() => {
      this.running = undefined;
    });
  }

  /** An EXPUNGE naming only a sequence number (no QRESYNC): the next sync compares UIDs. */
  expungedBySequence(): void {
    this.uidComparison.expungedBySequence();
    this.request();
  }

  /** A VANISHED UID (QRESYNC): announced as deleted by the next sync. */
  noteVanished(uid: number): void {
    this.rememberVanished(uid);
    this.request();
  }

  /**
   * A VANISHED UID reported while a sync runs: the answer to its own CHANGEDSINCE (VANISHED (EARLIER)), or a
   * poller's. That sync announces it; one already announced is not again (a UID is never reused, RFC 9051
   * 2.3.1.1, and the server repeats it until the cursor's MODSEQ passes the expunge).
   */
  rememberVanished(uid: number): void {
    if (this.deletedAnnounced.has(uid)) return;
    this.vanished.add(uid);
    this.expungesSeen = true;
  }

  /** Schedules a check that the selected mailbox is still the one on the server (see checkMailbox). */
  requestCheck(): void {
    this.checkRequested = true;
    this.foldersDue = true;
    this.liveness.asked();
    this.schedule();
  }

  onFailure(listener: (error: unknown) => void): void {
    this.failure = listener;
  }

  /** Called after each sync that completed: the session works, whatever failed before. */
  onSynced(listener: () => void): void {
    this.synced = listener;
  }

  /**
   * One sync for a mailbox that shares its connection with others (a poller): selecting it again may show a
   * new UIDVALIDITY, which is then handled like one seen at connect. Errors reject, for the poller to handle.
   */
  async pollOnce(): Promise<void> {
    this.checkRequested = false;
    // Nothing tells a poller about expunges between polls: without QRESYNC, compare UIDs at every poll.
    this.uidComparison.expungedBySequence();
    // The poll itself is the liveness check: the server must answer it.
    this.liveness.askedAfresh();
    try {
      await this.syncOnce({ reselected: true });
    } finally {
      this.liveness.answered();
    }
  }

  /**
   * Refuses to act for a mailbox another watcher owns now (a lease lost during a pause or a long sync); else the
   * lease this process acts under, which cursor writes carry so that the store refuses them once a later owner
   * has written. Undefined where one process owns everything.
   */
  private fence(): LeaseFence | undefined {
    return leaseToActUnder(this.deps.ownership, this.account.id);
  }

  /** Resolves when no sync is running (for a graceful shutdown). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.requested) {
        this.requested = false;
        await this.syncOnce();
        this.synced?.();
      }
    } catch (error) {
      this.failure?.(error);
    }
  }

  private async syncOnce(options: { readonly reselected?: boolean } = {}): Promise<void> {
    const lock = await this.client.getMailboxLock(this.mailbox, { readOnly: true });
    try {
      const selected = this.client.mailbox;
      if (options.reselected && selected && this.cursor?.uidValidity !== uidValidityOf(selected)) {
        this.cursor = undefined;
        this.knownExists = undefined;
      }
      const firstSync = this.cursor === undefined;
      let seenAs: string | undefined;
      // The first sync reads STATUS too: what it leaves settled lets the first check be a quiet one.
      if (this.checkRequested || firstSync) {
        const checking = this.checkRequested;
        this.checkRequested = false;
        // NOOP first, the poll RFC 9051 6.1.2 names: a server that has not told us of a change yet (one without
        // IDLE, or whose IDLE lags) reports it now, and each report signals. STATUS alone would not do: of the
        // selected mailbox, Dovecot answers with the session's own view, stale until the session looks. Where
        // the server polls as IDLE starts, the IDLE that ends this check is the poll, and what it finds signals.
        if (checking && !this.idleEndsInPoll()) await this.client.noop();
        const folders =
          (firstSync || this.foldersDue) && this.deps.folders?.designated() ? this.deps.folders : undefined;
        // The designated session's listing carries the selected mailbox's STATUS too: one command, not two.
        const listing = folders ? await listFolders(this.client) : undefined;
        seenAs = await this.checkMailbox(listing);
        if (checking) this.liveness.answered();
        if (folders && listing) {
          this.foldersDue = false;
          await folders.report(listing.folders);
        }
      }
      // A check with no news since the last completed sync, of a mailbox that shows what that sync saw (a
      // notification lost on the way would show as a different UIDNEXT, MESSAGES or HIGHESTMODSEQ).
      if (!this.signalled && !options.reselected && seenAs !== undefined && seenAs === this.settledAs) return;
      // Whatever signalled so far is caught up on below.
      this.signalled = false;
      this.status.state = 'syncing';
      this.cursor ??= await this.startingCursor();
      const lastUidBefore = this.cursor.lastUid;
      // What this sync announces (new mail, changes), by UID, with the MODSEQ each was announced at.
      const told = new Map<number, string | null>();
      const { announced, changesQueued } = await this.catchUp(this.cursor, told);
      if (!changesQueued) await this.catchUpChanges(told);
      if (!this.client.enabled.has('QRESYNC')) await this.compareUids(lastUidBefore, announced);
      // What the check's STATUS saw is caught up on now (the sync ran after it).
      if (seenAs !== undefined) this.settledAs = seenAs;
      this.status.state = 'idle';
    } finally {
      lock.release();
    }
  }

  /** Whether this connection returns to IDLE after a check, on a server that looks for changes as IDLE starts. */
  private idleEndsInPoll(): boolean {
    return this.client.capabilities.has('IDLE') && pollsWhenIdleStarts(this.client.greeting);
  }

  /**
   * A mailbox deleted and recreated under an open session can leave that session on the old, dead mailbox:
   * Dovecot sends nothing, and IDLE would wait forever. STATUS reads the mailbox as it is now; a different
   * UIDVALIDITY (RFC 9051 2.3.1.1) means the session must reconnect and re-baseline.
   */
  private async checkMailbox(listing?: FolderListing): Promise<string | undefined> {
    const selected = this.client.mailbox;
    if (!selected) return undefined;
    const condstore = this.client.enabled.has('CONDSTORE');
    const listed = listing?.statusByPath.get(selected.path);
    const complete = (status: StatusObject | undefined) =>
      status?.uidNext !== undefined &&
      status.messages !== undefined &&
      (!condstore || status.highestModseq !== undefined);
    const current = complete(listed)
      ? listed
      : await this.client.status(this.mailbox, {
          uidValidity: true,
          uidNext: true,
          messages: true,
          ...(condstore ? { highestModseq: true } : {}),
        });
    // The cursor's UIDVALIDITY where SELECT gave none (it was then asked for by STATUS).
    const known = this.cursor?.uidValidity ?? uidValidityOf(selected);
    if (
      !current ||
      (current.uidValidity !== undefined && known !== undefined && current.uidValidity.toString() !== known)
    ) {
      throw new UidValidityChangedError(this.mailbox);
    }
    // A server that leaves out UIDNEXT or MESSAGES describes too little to skip a sync on.
    if (current.uidNext === undefined || current.messages === undefined) return undefined;
    return [current.uidValidity, current.uidNext, current.messages, current.highestModseq].join('/');
  }

  private async startingCursor(): Promise<MailboxCursor> {
    const stored = await this.deps.cursors.getCursor(this.account.id, this.mailbox);
    const plan = planSync(stored, await this.snapshot(), this.account.initialSync);
    if (plan.kind === 'reset') {
      this.deps.logger.warn('UIDVALIDITY changed; re-baselining', {
        account: this.account.id,
        mailbox: this.mailbox,
        previousUidValidity: plan.previousUidValidity,
        uidValidity: plan.cursor.uidValidity,
      });
      const now = new Date(this.deps.clock.now()).toISOString();
      const reset = mailboxResetEvent(
        {
          account: this.account.id,
          mailbox: this.mailbox,
          previousUidValidity: plan.previousUidValidity,
          uidValidity: plan.cursor.uidValidity,
          uidNext: plan.cursor.lastUid + 1,
        },
        now,
      );
      this.fence();
      await this.deps.ingest.send([eventRecord(reset)]);
    }
    await this.deps.cursors.resetCursor(this.account.id, this.mailbox, plan.cursor, this.fence());
    this.status.uidValidity = plan.cursor.uidValidity;
    this.status.lastUid = plan.cursor.lastUid;
    return plan.cursor;
  }

  /**
   * The selected mailbox as the server describes it, asking again where SELECT left a gap: Courier's SELECT
   * carries no UIDNEXT (RFC 3501 6.3.1 requires it, yet tells clients to cope without), its STATUS does. Each gap is logged with the
   * server behaviour behind it; a mailbox without any UIDVALIDITY cannot be synced and fails the session.
   */
  private async snapshot(): Promise<MailboxSnapshot> {
    const selected = this.client.mailbox;
    if (!selected) throw new Error(`mailbox ${this.mailbox} is not selected`);
    const fields = { account: this.account.id, mailbox: this.mailbox };
    let uidValidity: bigint | string | undefined = uidValidityOf(selected);
    let uidNext = positiveUid(selected.uidNext);
    if (uidValidity === undefined || uidNext === undefined) {
      const status =
        (await this.client.status(this.mailbox, { uidValidity: true, uidNext: true })) || undefined;
      this.liveness.heardFrom();
      this.deps.logger.info('SELECT left out UIDVALIDITY or UIDNEXT; asked STATUS', {
        ...fields,
        uidValidityAtSelect: uidValidity !== undefined,
        uidNextAtSelect: uidNext !== undefined,
        uidValidityInStatus: status?.uidValidity !== undefined,
        uidNextInStatus: positiveUid(status?.uidNext) !== undefined,
      });
      uidValidity ??= status?.uidValidity;
      uidNext ??= positiveUid(status?.uidNext);
    }
    if (uidValidity === undefined)
      throw new UnusableMailboxStateError(
        `the server sent no UIDVALIDITY for ${this.mailbox}, neither at SELECT nor in STATUS (RFC 9051 requires it)`,
      );
    if (uidNext === undefined) {
      // Neither told us: one above the highest UID present. An empty mailbox can start from 0, as nothing in
      // it could be announced twice.
      const exists = this.client.mailbox ? this.client.mailbox.exists : 0;
      const last = exists > 0 ? await this.client.fetchOne('*', { uid: true }) : false;
      this.liveness.heardFrom();
      uidNext = (last ? last.uid : 0) + 1;
      this.deps.logger.warn('the server gave no UIDNEXT; starting above the highest UID present', {
        ...fields,
        uidNext,
      });
    }
    return {
      uidValidity: uidValidity.toString(),
      uidNext,
      highestModseq: selected.highestModseq?.toString() ?? null,
    };
  }

  /**
   * Announces new mail above the cursor (adding it to `told`); returns the UIDs announced, and whether the cursor
   * now stands where the changes were last queued up to (a change after that brings its own untagged FETCH).
   */
  private async catchUp(
    from: MailboxCursor,
    told: Map<number, string | null>,
  ): Promise<{ readonly announced: readonly number[]; readonly changesQueued: boolean }> {
    const condstore = this.client.enabled.has('CONDSTORE') || this.client.capabilities.has('CONDSTORE');
    // Live mail usually comes one message at a time: then metadata and source travel in one FETCH. A backlog
    // of unknown size is fetched metadata first, so the sources can be fetched in size-bounded batches.
    const exists = this.client.mailbox ? this.client.mailbox.exists : 0;
    const expectedNew = this.knownExists === undefined ? Number.POSITIVE_INFINITY : exists - this.knownExists;
    const withSource = expectedNew > 0 && expectedNew <= SINGLE_FETCH_MAX_MESSAGES;
    const pending: FetchedMessage[] = [];
    const sources = new Map<number, Buffer>();
    // "n:*" always matches at least the highest UID, even when it is below n (RFC 9051 6.4.8): filter.
    for await (const message of this.client.fetch(
      `${from.lastUid + 1}:*`,
      {
        uid: true,
        size: true,
        flags: true,
        internalDate: true,
        // imapflow asks only servers that have one (OBJECTID's THREADID, Gmail's X-GM-THRID).
        threadId: true,
        ...(condstore ? { modseq: true } : {}),
        ...(withSource ? { source: true } : {}),
      },
      { uid: true },
    )) {
      this.liveness.heardFrom();
      if (message.uid <= from.lastUid) continue;
      if (message.source) sources.set(message.uid, message.source);
      pending.push({
        uid: message.uid,
        size: message.size ?? 0,
        flags: sharedFlags(message.flags),
        internalDate: toIso(message.internalDate),
        modseq: message.modseq?.toString() ?? null,
        ...(message.threadId ? { providerThreadId: message.threadId } : {}),
      });
    }
    this.knownExists = this.client.mailbox ? this.client.mailbox.exists : exists;
    pending.sort((a, b) => a.uid - b.uid);
    let cursor = from;
    let changesQueued = false;
    // What the FETCH above saw is the mailbox as of one moment; its highest MODSEQ bounds what a batch's cursor
    // may claim: a change after that moment to a message of a later batch is not in that batch's metadata.
    const seenUpTo = condstore ? maxModseq(pending.map((m) => m.modseq)) : null;
    for (const batch of batchBySize(pending, FETCH_BATCH_MESSAGES, FETCH_BATCH_BYTES)) {
      const bytes = batch.reduce((sum, m) => sum + (sources.has(m.uid) ? 0 : m.size), 0);
      const release = await this.liveness.waitingOnUsFor(this.deps.sourceBudget.acquire(bytes));
      try {
        ({ cursor, changesQueued } = await this.announce(batch, cursor, sources, told, seenUpTo));
      } finally {
        release();
      }
    }
    return { announced: [...told.keys()].filter((uid) => uid > from.lastUid), changesQueued };
  }

  private async compareUids(from: number, announced: Iterable<number>): Promise<void> {
    if (!this.cursor) return;
    const detectedAt = new Date(this.deps.clock.now()).toISOString();
    const { records, commit } = await this.uidComparison.afterCatchUp(
      this.client,
      this.cursor,
      { from, announced },
      detectedAt,
    );
    this.fence();
    if (records.length > 0) await this.deps.ingest.send(records);
    await commit();
  }

  /**
   * Flag changes and deletions since the cursor's MODSEQ (servers with CONDSTORE; deletions need QRESYNC), for a
   * sync that announced no new mail or to pick up what changed during one.
   */
  private async catchUpChanges(justAnnounced: Map<number, string | null>): Promise<void> {
    const cursor = this.cursor;
    if (!cursor || !this.client.enabled.has('CONDSTORE')) return;
    const modseq = await this.queueChanges(cursor, justAnnounced);
    if (modseq === cursor.highestModseq) return;
    const next: MailboxCursor = { ...cursor, highestModseq: modseq };
    await this.deps.cursors.advanceCursor(this.account.id, this.mailbox, next, this.fence());
    this.cursor = next;
  }

  /**
   * Queues the flag changes and deletions among the messages up to `cursor.lastUid` since its MODSEQ, and returns
   * the MODSEQ they are queued up to. Messages announced by this sync (`justAnnounced`) show up as changed with
   * their own MODSEQ: not a change unless it moved on since.
   */
  private async queueChanges(
    cursor: MailboxCursor,
    justAnnounced: Map<number, string | null>,
  ): Promise<string | null> {
    if (!this.client.enabled.has('CONDSTORE')) return cursor.highestModseq;
    if (cursor.highestModseq === null)
      // First sight with initialSync "all": nothing to compare with yet, only a baseline to set.
      return this.client.mailbox ? (this.client.mailbox.highestModseq?.toString() ?? null) : null;
    const takeVanished = () => {
      const taken = this.vanished;
      this.vanished = new Set();
      return taken;
    };
    // An expunge raised HIGHESTMODSEQ to a value nothing told us: read it before looking, or the cursor stays
    // below the expunge and every look reports it again (QRESYNC, RFC 7162).
    const expungesSeen = this.expungesSeen;
    this.expungesSeen = false;
    const highestModseqBefore = expungesSeen ? await this.currentHighestModseq() : undefined;
    const changes = await changesSince(
      this.client,
      {
        account: this.account.id,
        mailbox: this.mailbox,
        uidValidity: cursor.uidValidity,
        lastUid: cursor.lastUid,
        modseq: cursor.highestModseq,
        ...(highestModseqBefore ? { highestModseqBefore } : {}),
        justAnnounced,
        detectedAt: new Date(this.deps.clock.now()).toISOString(),
      },
      takeVanished,
    );
    this.fence();
    if (changes.records.length > 0) await this.deps.ingest.send(changes.records);
    if (highestModseqBefore) this.deletedAnnounced.clear();
    for (const record of changes.records)
      if (record.body.kind === 'event' && record.body.event.type === 'message.deleted')
        this.deletedAnnounced.add(record.body.event.data.uid);
    // Expunges first seen in this look's own answer: look once more, reading HIGHESTMODSEQ first.
    if (this.expungesSeen && !highestModseqBefore) {
      this.signalled = true;
      this.requested = true;
    }
    // Told once per sync: a later look in this sync finds the same change again when the cursor lags behind it.
    for (const [uid, modseq] of changes.announced) justAnnounced.set(uid, modseq);
    return changes.modseq ?? cursor.highestModseq;
  }

  private async currentHighestModseq(): Promise<string | undefined> {
    const status = await this.client.status(this.mailbox, { highestModseq: true });
    this.liveness.heardFrom();
    return status && status.highestModseq !== undefined ? status.highestModseq.toString() : undefined;
  }

  /**
   * A UID whose source did not come back, even when asked for alone, is either expunged meanwhile or a message
   * the server cannot serve. UID SEARCH tells which (a UID never names another message, RFC 9051 2.3.1.1):
   * an expunged one is skipped, a present one is announced without its source, so that neither stalls the
   * mailbox nor vanishes unseen. Every such UID is logged. Returns the present ones.
   */
  private async confirmMissingSources(
    batch: readonly FetchedMessage[],
    sources: Map<number, Buffer>,
  ): Promise<Set<number>> {
    const missing = batch.filter((m) => !sources.has(m.uid)).map((m) => m.uid);
    if (missing.length === 0) return new Set();
    const found = await this.client.search({ uid: missing.join(',') }, { uid: true });
    this.liveness.heardFrom();
    const present = new Set(Array.isArray(found) ? found : []);
    const fields = { account: this.account.id, mailbox: this.mailbox };
    for (const uid of missing) {
      if (present.has(uid)) {
        this.deps.logger.error(
          'the server returned no source for a message it still has; announcing it without',
          {
            ...fields,
            uid,
          },
        );
        sources.set(uid, Buffer.alloc(0));
      } else {
        this.deps.logger.warn('message expunged before its source could be fetched; skipped', {
          ...fields,
          uid,
        });
      }
    }
    return present;
  }

  private async announce(
    batch: readonly FetchedMessage[],
    cursor: MailboxCursor,
    sources: Map<number, Buffer>,
    told: Map<number, string | null>,
    seenUpTo: string | null,
  ): Promise<{ readonly cursor: MailboxCursor; readonly changesQueued: boolean }> {
    const missing = batch.filter((m) => !sources.has(m.uid)).map((m) => m.uid);
    if (missing.length > 0) {
      const fetched: AsyncIterable<FetchMessageObject> = this.client.fetch(
        missing.join(','),
        { uid: true, source: true },
        { uid: true },
      );
      // Collect first: no other IMAP command may be issued inside a fetch() loop.
      for await (const message of fetched) {
        this.liveness.heardFrom();
        if (message.source) sources.set(message.uid, message.source);
      }
    }
    const unavailable = await this.confirmMissingSources(batch, sources);

    const detectedAt = new Date(this.deps.clock.now()).toISOString();
    const records: OutgoingMessage<IngestRecord>[] = [];
    await Promise.all(
      batch.map(async (meta) => {
        const source = sources.get(meta.uid);
        sources.delete(meta.uid);
        if (!source) return; // expunged before its source came: confirmed and logged above
        const coordinates = {
          account: this.account.id,
          mailbox: this.mailbox,
          uidValidity: cursor.uidValidity,
          uid: meta.uid,
        };
        const eventId = messageEventId('message.received', coordinates);
        const arrival: MessageArrival = {
          kind: 'message',
          eventId,
          ...coordinates,
          ...meta,
          rawKey: rawBlobKey(eventId),
          detectedAt,
          ...(unavailable.has(meta.uid) ? { sourceUnavailable: true } : {}),
        };
        await storeRawMessage(this.deps.blobs, arrival, source);
        records.push(arrivalRecord(arrival));
        told.set(meta.uid, meta.modseq);
      }),
    );
    records.sort((a, b) => (a.body as MessageArrival).uid - (b.body as MessageArrival).uid);
    this.fence();
    await this.deps.ingest.send(records);

    const last = batch[batch.length - 1];
    const announcedUpTo: MailboxCursor = { ...cursor, lastUid: last ? last.uid : cursor.lastUid };
    // The cursor moves past new mail and its MODSEQ past the changes in one write: written apart, a restart
    // between the two writes would take the new messages' own MODSEQs for changes. (Nor may the MODSEQ move
    // with new mail alone: a change older than a new message's MODSEQ would be skipped.)
    const queuedUpTo = cursor.highestModseq === null ? null : await this.queueChanges(announcedUpTo, told);
    const next: MailboxCursor = {
      ...announcedUpTo,
      highestModseq:
        queuedUpTo === null || cursor.highestModseq === null || seenUpTo === null
          ? queuedUpTo
          : maxModseq([cursor.highestModseq, minModseq(queuedUpTo, seenUpTo)]),
    };
    await this.deps.cursors.advanceCursor(this.account.id, this.mailbox, next, this.fence());
    this.cursor = next;
    this.status.lastUid = next.lastUid;
    this.status.lastEventAt = detectedAt;
    return { cursor: next, changesQueued: queuedUpTo !== null && next.highestModseq === queuedUpTo };
  }
}
