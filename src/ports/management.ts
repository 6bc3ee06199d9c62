import type { AccountConfig } from '../config/config.js';
import type { TokenScope } from '../domain/api-tokens.js';
import type { DoctorReport } from '../domain/doctor-report.js';
import type { EventOf, MessageCoordinates } from '../domain/events.js';
import type { ActionOutcome, MessageAction } from '../domain/message-actions.js';
import type { Page, PageQuery } from '../domain/pages.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type {
  ActionLog,
  AttemptLog,
  DeadLetterFilter,
  DeadLetterPage,
  DeadLetterQuery,
  ReplayResult,
  RetryQueue,
  SubscriptionStatusStore,
} from './pipeline.js';
import type { Awaitable, Clock, Logger } from './services.js';
import type { AccountStatusReport } from './watcher.js';

/** The management API's side: what its HTTP apps (API, dashboard, connect flow) work on, each mode composing its own. */

export interface LinkRequest {
  readonly provider: string;
  readonly account: string;
  readonly redirect: string;
}

export type Origin = 'config' | 'api';

export interface AccountCounts {
  readonly total: number;
  readonly failing: number;
  /** The first failing accounts by id (at most FAILING_IDS_NAMED). */
  readonly failingIds: readonly string[];
}

/** An account as listed: its settings and how it logs in, never its credentials. */
export type AccountListing = Omit<AccountConfig, 'auth'> & {
  readonly auth: { readonly kind: AccountConfig['auth']['kind'] };
};
export interface Listed<T> {
  readonly value: T;
  readonly origin: Origin;
}

/** Where accounts and subscriptions live; config-file ones are read-only (see adapters/local/local-directory.ts). */
export interface ManagedDirectory {
  /** One page of the accounts by id, read as a page from the store (the API's listing). */
  accountPage(query: PageQuery): Awaitable<Page<Listed<AccountListing>>>;
  account(id: string): Awaitable<Listed<AccountConfig> | undefined>;
  /** Which of these account ids exist (reading those only). */
  existingAccounts(ids: readonly string[]): Awaitable<ReadonlySet<string>>;
  addAccount(document: unknown, account: AccountConfig): Awaitable<boolean>;
  removeAccount(id: string): Awaitable<'removed' | 'not-found' | 'read-only'>;
  listSubscriptions(): Awaitable<readonly Listed<SubscriptionConfig>[]>;
  subscription(id: string): Awaitable<Listed<SubscriptionConfig> | undefined>;
  addSubscription(document: unknown, subscription: SubscriptionConfig): Awaitable<boolean>;
  removeSubscription(id: string): Awaitable<'removed' | 'not-found' | 'read-only'>;
  /** The document an item can be changed from (secrets inline; it never leaves the server); undefined: read-only. */
  accountDocument(id: string): Awaitable<unknown>;
  replaceAccount(document: unknown, account: AccountConfig): Awaitable<boolean>;
  subscriptionDocument(id: string): Awaitable<unknown>;
  replaceSubscription(document: unknown, subscription: SubscriptionConfig): Awaitable<boolean>;
}

/** What the management API works on; each mode composes its own. */
/** A message read again: its event as delivered, or why it cannot be. */
export type StoredMessage =
  | { readonly event: EventOf<'message.received'> }
  /** `not-stored`: never seen, or past the retention period; `stored-without-details`: stored before notes were kept. */
  | { readonly missing: 'not-stored' | 'stored-without-details' };

export interface ManagementBackend {
  readonly directory: ManagedDirectory;
  /** The scope of `token` if it is a live token, else undefined. */
  verifyToken(token: string): Awaitable<TokenScope | undefined>;
  /** Whether any token exists: the dashboard asks for one only then. */
  hasTokens(): Awaitable<boolean>;
  /** A dashboard login link's code exchanged, once, for a token of its scope that lasts a working day. */
  redeemLoginCode(code: string): Promise<string | undefined>;
  /**
   * How many accounts there are and how many are failing (the first failing ones named), at a cost that does not
   * grow with the accounts: live from the watcher in local mode; in AWS mode from the shards' account counts and
   * the watcher tasks' tallies.
   */
  accountCounts(): Awaitable<AccountCounts>;
  /** The status of these accounts only, as `accountStatuses` has it: a page of the listing reads no other. */
  accountStatusesOf(ids: readonly string[]): Awaitable<ReadonlyMap<string, AccountStatusReport>>;
  /** One account's status, as `accountStatuses` has it: the single-account routes read no other. */
  accountStatus(id: string): Awaitable<AccountStatusReport | undefined>;
  /**
   * The state of an account without a status: `starting` where the watcher runs in this process and has not
   * reached it yet; `unknown` where no watcher task has reported it (AWS mode).
   */
  readonly unreportedState: 'starting' | 'unknown';
  queueDepths(): Awaitable<{ readonly ingest: number; readonly delivery: number }>;
  /** The doctor's walk (DNS to mailboxes) for an account about to be created. */
  checkAccount(account: AccountConfig): Promise<DoctorReport>;
  /**
   * The accounts changed: the watcher picks them up now rather than at its next refresh. Resolves once it has
   * (a deleted account's sessions are closed), so that an answer means it is done.
   */
  accountsChanged(): Awaitable<void>;
  deadLetterPage(query: DeadLetterQuery): Promise<DeadLetterPage>;
  replay(filter: DeadLetterFilter): Promise<readonly ReplayResult[]>;
  readonly attempts: Pick<AttemptLog, 'listAttempts'>;
  /** The message actions run per account (the API's, and subscriptions' after delivery), newest first. */
  readonly actions: ActionLog;
  /** Deliveries being retried, listed and hurried; absent where the queue cannot (AWS mode). */
  readonly retries: RetryQueue;
  readonly subscriptionStatus: Pick<SubscriptionStatusStore, 'health' | 'enable'>;
  /** A message's `message.received` event, built again from its stored source with fresh links. */
  readMessage(coordinates: MessageCoordinates): Promise<StoredMessage>;
  /**
   * Runs an action on a message on a connection of the account's own: in the watcher (local mode), or in the watcher
   * task holding the account, through a command (AWS mode). Undefined when no watcher holds the account (in time).
   */
  actOnMessage(
    message: MessageCoordinates,
    action: MessageAction,
    requestId: string,
  ): Promise<ActionOutcome | undefined>;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * A signed link into the hosted OAuth2 connect flow, for the API request that came in at `requestUrl`; absent
   * where the flow is not configured.
   */
  connectLink?(
    request: LinkRequest,
    requestUrl: string,
  ): { readonly url: string; readonly expiresAt: number };
}

export interface ApiTokenInfo {
  readonly id: string;
  readonly name: string;
  readonly scope: TokenScope;
  readonly createdAt: number;
  readonly lastUsedAt: number | undefined;
  /** When it stops working (a dashboard login's token); undefined: until revoked. */
  readonly expiresAt: number | undefined;
}

/**
 * The management API's tokens, and the one-time codes of dashboard login links; only their hashes are stored (see
 * domain/api-tokens.ts). Expired tokens and codes count for nothing (listed until they are cleared away).
 */
export interface ApiTokenStore {
  /** A new token: the only time it is seen in the clear. */
  create(
    name: string,
    scope: TokenScope,
    expiresAt?: number,
  ): Awaitable<{ readonly id: string; readonly token: string }>;
  list(): Awaitable<readonly ApiTokenInfo[]>;
  /** Whether a live token exists (login codes aside). */
  any(): Awaitable<boolean>;
  /** Whether a token existed to revoke. */
  revoke(id: string): Awaitable<boolean>;
  /** The scope of `token` if it is a live token (its use is noted), else undefined; never a login code. */
  verify(token: string): Awaitable<TokenScope | undefined>;
  /** A login link's code, for a token of `scope`: good once, until `expiresAt`. */
  createLoginCode(scope: TokenScope, expiresAt: number): Awaitable<string>;
  /** The scope a live code was made for, once: the code is gone after this call. Undefined: unknown, used or expired. */
  redeemLoginCode(code: string): Awaitable<TokenScope | undefined>;
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
