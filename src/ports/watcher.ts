import type { AccountConfig } from '../config/config.js';
import type { AccountSnapshot, AccountTally } from '../domain/account-status.js';
import type { FolderEntry } from '../domain/folder-tree.js';
import type { ActionCommand, StepsResult } from '../domain/message-actions.js';
import type { Lease, LeaseTable } from '../domain/shard-leases.js';
import type { MailboxCursor } from '../domain/sync.js';

/** The watcher's side: accounts to watch, mailbox cursors, shard leases, account status, OAuth2 tokens. */

export interface CursorStore {
  getCursor(account: string, mailbox: string): Promise<MailboxCursor | undefined>;
  /** Moves the cursor forward within the same UIDVALIDITY; never backwards, never across a UIDVALIDITY change. */
  advanceCursor(account: string, mailbox: string, cursor: MailboxCursor, fence?: LeaseFence): Promise<void>;
  /** Replaces the cursor outright: first sight of a mailbox, or after a UIDVALIDITY change. */
  resetCursor(account: string, mailbox: string, cursor: MailboxCursor, fence?: LeaseFence): Promise<void>;
  /**
   * For servers without QRESYNC: the UIDs up to `upTo` that were absent from the mailbox when it was last
   * compared (IMAP set syntax), so that a later comparison can tell what was deleted since.
   */
  getUidGaps(account: string, mailbox: string): Promise<UidGaps | undefined>;
  setUidGaps(account: string, mailbox: string, gaps: UidGaps): Promise<void>;
  /** The account's folder tree as last listed, to announce what changed since (also across restarts). */
  getFolderTree(account: string): Promise<FolderEntry[] | undefined>;
  setFolderTree(account: string, folders: readonly FolderEntry[]): Promise<void>;
}

/**
 * The lease a cursor write is made under, where several processes share the mailboxes. Epochs of one mailbox's
 * lease only grow (every take bumps them), so a store that keeps the epoch of the last write refuses a write
 * under an older one with MailboxNotOwnedError: a watcher that lost the lease cannot move the cursor back.
 */
export interface LeaseFence {
  readonly epoch: number;
}

export interface UidGaps {
  readonly uidValidity: string;
  readonly gaps: string;
}

/** An account's live status, as the watcher holding it last reported it (when: absent where it is read live). */
export interface AccountStatusReport {
  readonly status: AccountSnapshot;
  readonly reportedAt?: number;
  /** Mailboxes left out of `status`, whose report would not have fitted (thousands of folders). */
  readonly omittedMailboxes?: number;
}

export type ReportedAccountStatus = AccountStatusReport & { readonly reportedAt: number };

export type ReportedTally = AccountTally & { readonly reportedAt: number };

/**
 * Where watcher tasks report the status of the accounts they hold, for a management API and dashboard that run
 * apart from them (AWS mode). Local mode reads its status board instead.
 */
export interface AccountStatusReports {
  report(accountId: string, report: ReportedAccountStatus): Promise<void>;
  /**
   * One watcher task's tally of the accounts it holds: what the status counts add up, one small item per task
   * rather than every account's report.
   */
  tally(taskId: string, tally: ReportedTally): Promise<void>;
  /** A stopping task's tally taken back: the task taking its shards over counts its accounts. */
  withdrawTally(taskId: string): Promise<void>;
  /** Every task's last tally. */
  tallies(): Promise<readonly ReportedTally[]>;
  /** These accounts' latest reports (those that have one). */
  some(accountIds: readonly string[]): Promise<ReadonlyMap<string, ReportedAccountStatus>>;
  /** One account's latest report. */
  of(accountId: string): Promise<ReportedAccountStatus | undefined>;
}

/** Where watched accounts come from: the config file in local mode, DynamoDB (+ Secrets Manager) on AWS. */
export interface AccountRepository {
  /**
   * The accounts, with their credentials. A store that keeps credentials apart (Secrets Manager) reads them only
   * for the accounts `select` picks and leaves the others out: a watcher task holds the credentials of its own
   * accounts, not of every account. The caller keeps only what it selected.
   */
  list(select: AccountSelection): Promise<readonly AccountConfig[]>;
}

export type AccountSelection = (accountIds: readonly string[]) => Promise<readonly string[]>;

export interface MailboxRef {
  readonly account: string;
  readonly mailbox: string;
}

/**
 * Which mailboxes this process watches: local mode owns all; watcher tasks share them by shard leases. An
 * account's mailboxes are owned together, so that its connection limit, its login gate and its folder listing
 * are in one process.
 */
export interface MailboxOwnership {
  /** Of the accounts given, the ones whose mailboxes this process watches now. */
  owned(accountIds: readonly string[]): Promise<readonly string[]>;
  /**
   * The lease under which this process may act for the account's mailboxes now (emit their events, move their
   * cursors), or undefined once it may not; asked right before each such write: a process paused past its
   * lease must not act on what it held before the pause. Absent where one process owns everything.
   */
  lease?(accountId: string): LeaseFence | undefined;
}

/**
 * Shard leases with conditional writes: a take succeeds only if the lease's counter is still the one the taker
 * saw, so two workers never both take a lease from the same state. A refused take returns undefined.
 */
export interface LeaseStore {
  /** Every shard's lease, 0 to shardCount - 1 (a shard never taken is free with counter 0), and the heartbeats. */
  list(shardCount: number): Promise<LeaseTable>;
  /** Bumps `worker`'s heartbeat: it is alive, and so are its leases. */
  heartbeat(worker: string): Promise<void>;
  /** Takes `lease` for `owner` if its counter is unchanged; the new counter. */
  take(lease: Lease, owner: string): Promise<number | undefined>;
  /** Gives a lease `owner` holds up, so another worker need not wait for it to expire. */
  release(lease: Lease, owner: string): Promise<void>;
  /** Stores `shardCount` unless a count is stored already; the count stored (the first one ever claimed). */
  claimShardCount(shardCount: number): Promise<number>;
}

/** Which addresses outgoing connections may reach (the destination guard: no internal ones, unless allowed). */
export interface AddressPolicy {
  permits(address: string): boolean;
}

/** An OAuth2 token endpoint's answer: the HTTP status and the JSON body (undefined when it was not JSON). */
export interface TokenEndpointAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** POSTs a form to an OAuth2 token endpoint, never following a redirect. */
export interface TokenEndpoint {
  post(url: string, form: URLSearchParams, timeoutMs: number): Promise<TokenEndpointAnswer>;
}

/** OAuth2 tokens as last refreshed: providers may rotate the refresh token, and the new one must be kept. */
export interface StoredOAuth2Tokens {
  /** Hash of the refresh token in the account's settings these were derived from (a new one there wins). */
  readonly configuredTokenHash: string;
  readonly refreshToken: string;
  readonly accessToken: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
}

export interface OAuth2TokenStore {
  load(account: string): Promise<StoredOAuth2Tokens | undefined>;
  save(account: string, tokens: StoredOAuth2Tokens): Promise<void>;
}

/**
 * Action commands (AWS mode): the management API and the deliver function file them; the watcher task that holds
 * the account runs them on its connections, and stores what they came to.
 */
export interface ActionCommandOutbox {
  /** Files a command and tells the tasks; filing one with the same account and id again changes nothing. */
  file(command: ActionCommand): Promise<void>;
  /** What running it came to; undefined while it has not run. */
  result(account: string, id: string): Promise<StepsResult | undefined>;
}

/** The watcher's side of the action commands. */
export interface ActionCommandInbox {
  /** The commands of these shards that have not run, oldest first. */
  pending(shards: readonly number[]): Promise<readonly ActionCommand[]>;
  /**
   * Takes a command to run: false when it has run, or another task claimed it under the same or a later lease of its
   * shard (a task that lost the shard cannot take it back from the new holder).
   */
  claim(command: ActionCommand, taskId: string, fence: LeaseFence | undefined): Promise<boolean>;
  /** Stores what running it came to; left unstored when another task has claimed it since (it runs it again). */
  finish(command: ActionCommand, result: StepsResult, taskId: string): Promise<void>;
}
