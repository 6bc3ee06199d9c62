import type { AccountConfig } from '../config/config.js';
import type { AccountSnapshot } from '../domain/account-status.js';
import type { TokenScope } from '../domain/api-tokens.js';
import type { EndpointHealth } from '../domain/endpoint-health.js';
import type { FolderEntry } from '../domain/folder-tree.js';
import type { Lease, LeaseTable } from '../domain/shard-leases.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type { MailboxCursor } from '../domain/sync.js';

export interface Clock {
  now(): number;
}

/** Narrow structured logger; fields never carry passwords, tokens or message bodies. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** What happened, counted: the figures `/metrics` shows (local mode, the watcher task). */
export interface Metrics {
  /** A connection reached its mailbox (`ok`), or failed before it did, by the failure's code. */
  login(outcome: 'ok' | { readonly failure: string }): void;
  /** An event left the parse stage for its subscriptions. */
  eventQueued(type: string): void;
  /** One delivery attempt's outcome; latencies for the delivered ones (ms). */
  deliveryAttempt(attempt: {
    readonly outcome: 'delivered' | 'retry' | 'dead-lettered';
    /** 2xx, 4xx, 5xx, or `none` when no response came. */
    readonly statusClass: string;
    /** How old the event was at this attempt, whatever its outcome: from detection by the watcher (ms). */
    readonly eventAgeMs?: number;
    /** From detection by the watcher to the endpoint's answer. */
    readonly sinceDetectedMs?: number;
    /** From the message's INTERNALDATE (or detection, for other events) to the endpoint's answer. */
    readonly endToEndMs?: number;
  }): void;
}

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

export interface DeadLetter {
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly eventType: string;
  /** The exact body that was signed, so a replay is byte-identical. */
  readonly body: string;
  readonly reason: string;
  readonly attempts: number;
  readonly failedAt: number;
}

export type DeadLetterSummary = Omit<DeadLetter, 'body'>;

/** Terminal outcomes of deliveries: what was delivered (for deduplication) and what was dead-lettered. */
export interface DeliveryLog {
  isDelivered(eventId: string, subscriptionId: string): Promise<boolean>;
  markDelivered(eventId: string, subscriptionId: string, attempts: number): Promise<void>;
  deadLetter(letter: DeadLetter): Promise<void>;
  /** Every dead letter, oldest first, without its body: listing them reads no bodies (no S3 objects in AWS mode). */
  listDeadLetters(): Promise<DeadLetterSummary[]>;
  /** A dead letter's body, for its replay; undefined when it is no dead letter (any more). */
  deadLetterBody(eventId: string, subscriptionId: string): Promise<string | undefined>;
}

/** Each subscription's endpoint health: whether it is disabled, and since when it has been failing. */
export interface SubscriptionStatusStore {
  health(subscriptionId: string): Promise<EndpointHealth>;
  /** Starts a failing period at `since`; an ongoing one keeps its start. */
  markFailing(subscriptionId: string, since: number): Promise<void>;
  markHealthy(subscriptionId: string): Promise<void>;
  /** True when this call disabled it; false when it already was (so it is announced once). */
  disable(subscriptionId: string, reason: string): Promise<boolean>;
  /** Re-enables it with a clean slate: no failing period. */
  enable(subscriptionId: string): Promise<void>;
}

/** One HTTP attempt to a subscription's endpoint, as the per-endpoint attempt log keeps it. */
export interface DeliveryAttempt {
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempt: number;
  readonly attemptedAt: number;
  readonly durationMs: number;
  readonly succeeded: boolean;
  /** The HTTP status; absent when no response arrived. */
  readonly status?: number;
  /** Why no response arrived (timeout, refused, ...). */
  readonly error?: string;
  /** The start of the response body, so a receiver's own error message can be read. */
  readonly responseExcerpt?: string;
}

export interface AttemptLog {
  recordAttempt(attempt: DeliveryAttempt): Promise<void>;
  /** Newest first. */
  listAttempts(subscriptionId: string, limit: number): Promise<DeliveryAttempt[]>;
}

export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly retryInMs: number };

/** A per-endpoint rate limit (requests per second), counted wherever all deliverers can see it. */
export interface EndpointThrottle {
  admit(subscriptionId: string, ratePerSecond: number): Promise<Admission>;
}

export interface QueueMessage<Body> {
  readonly id: string;
  readonly body: Body;
  /** 1 on first delivery of this message to a consumer, then 2, 3, ... */
  readonly receiveCount: number;
}

export interface OutgoingMessage<Body> {
  /**
   * Identifies the message for deduplication: local and FIFO queues drop a message whose key was sent moments
   * before. Best effort only: consumers stay idempotent (the delivery log), since at-least-once repeats happen.
   */
  readonly deduplicationKey: string;
  readonly body: Body;
  /** Hidden from receivers for this long after sending (at most 15 minutes). */
  readonly delayMs?: number;
}

/** A durable queue: once send() resolves the messages survive a crash. */
export interface EventQueue<Body> {
  send(messages: readonly OutgoingMessage<Body>[]): Promise<void>;
  receive(maxMessages: number): Promise<QueueMessage<Body>[]>;
  acknowledge(messageId: string): Promise<void>;
  /** Hands the message back to be received again after the delay. */
  retryLater(messageId: string, delayMs: number): Promise<void>;
}

export interface BlobStore {
  put(key: string, content: Buffer): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  /** Removes a blob; removing one that is not there is no error. */
  delete(key: string): Promise<void>;
  /** Where a receiver can fetch the blob: a signed URL (in AWS mode it expires; in local mode it does not). */
  url(key: string): Promise<string>;
}

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

export interface WebhookResponse {
  /** Absent when no HTTP response arrived (timeout, refused, reset, DNS). */
  readonly status?: number;
  readonly retryAfter?: string | null;
  readonly error?: string;
  /** No response arrived within the timeout. */
  readonly timedOut?: boolean;
  /** The first bytes of the response body (a receiver's error message), as text. */
  readonly responseExcerpt?: string;
  /** The request was refused before it was sent, for a reason a retry cannot change (e.g. SSRF protection). */
  readonly permanent?: boolean;
  readonly durationMs: number;
}

export interface HttpSender {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}

/** Where subscriptions come from: the config file in local mode, DynamoDB (+ Secrets Manager) on AWS. */
export interface SubscriptionRepository {
  list(): Promise<readonly SubscriptionConfig[]>;
}

/** Resolves a secret reference (e.g. a Secrets Manager ARN) to its value. Values are never logged. */
export interface SecretResolver {
  resolve(reference: string): Promise<string>;
}

/** Stores a secret value under a name (creating or replacing it); returns the reference to resolve it by. */
export interface SecretWriter {
  store(name: string, value: string): Promise<string>;
  /** Deletes a secret no longer referenced (recoverable for a while where the store allows); gone already is fine. */
  remove(arn: string): Promise<void>;
}

export interface ApiTokenInfo {
  readonly id: string;
  readonly name: string;
  readonly scope: TokenScope;
  readonly createdAt: number;
  readonly lastUsedAt: number | undefined;
}

export type Awaitable<T> = T | Promise<T>;

/** An account's live status, as the watcher holding it last reported it (when: absent where it is read live). */
export interface AccountStatusReport {
  readonly status: AccountSnapshot;
  readonly reportedAt?: number;
  /** Mailboxes left out of `status`, whose report would not have fitted (thousands of folders). */
  readonly omittedMailboxes?: number;
}

export type ReportedAccountStatus = AccountStatusReport & { readonly reportedAt: number };

/**
 * Where watcher tasks report the status of the accounts they hold, for a management API and dashboard that run
 * apart from them (AWS mode). Local mode reads its status board instead.
 */
export interface AccountStatusReports {
  report(accountId: string, report: ReportedAccountStatus): Promise<void>;
  /** Every account's latest report, by account id. */
  all(): Promise<ReadonlyMap<string, ReportedAccountStatus>>;
  /** One account's latest report. */
  of(accountId: string): Promise<ReportedAccountStatus | undefined>;
}

/** The management API's tokens; only their hashes are stored (see api/tokens.ts). */
export interface ApiTokenStore {
  /** A new token: the only time it is seen in the clear. */
  create(name: string, scope: TokenScope): Awaitable<{ readonly id: string; readonly token: string }>;
  list(): Awaitable<readonly ApiTokenInfo[]>;
  any(): Awaitable<boolean>;
  /** Whether a token existed to revoke. */
  revoke(id: string): Awaitable<boolean>;
  /** The scope of `token` if it is a live token (its use is noted), else undefined. */
  verify(token: string): Awaitable<TokenScope | undefined>;
}

/** A connect flow between the redirect to the provider and the user's return: what the callback needs. */
export interface PendingConnectFlow {
  readonly provider: string;
  readonly account: string;
  readonly redirect: string;
  /** The PKCE code verifier; it never goes to the browser. */
  readonly verifier: string;
}

/** Connect flows under way, by the id in their `state`; each is taken once. */
export interface ConnectFlowStore {
  /**
   * Marks a connect link (by its signature) used until it expires: true the first time, false after. A link
   * starts one flow, so a link that leaked from the page it was given to cannot start another.
   */
  claimLink(signature: string, expiresAt: number): Awaitable<boolean>;
  put(id: string, flow: PendingConnectFlow, expiresAt: number): Awaitable<void>;
  /** The flow, removed; undefined when there is none or it expired before `now`. */
  take(id: string, now: number): Awaitable<PendingConnectFlow | undefined>;
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

export interface DeadLetterFilter {
  readonly eventId?: string;
  readonly subscriptionId?: string;
  /** Only dead letters that failed at or after this time (ms). */
  readonly since?: number;
  /** Only dead letters that failed before this time (ms). */
  readonly until?: number;
}

export interface ReplayResult {
  readonly letter: DeadLetterSummary;
  readonly delivered: boolean;
  readonly detail: string;
}
