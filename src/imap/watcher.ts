import { createHash } from 'node:crypto';
import { ImapFlow } from 'imapflow';
import type { AccountConfig } from '../config/config.js';
import { planConnections } from '../domain/connection-plan.js';
import { errorMessage } from '../domain/errors.js';
import { folderChangedEvent, type MessageCoordinates } from '../domain/events.js';
import {
  diffFolderTrees,
  type FolderEntry,
  needsFolderListing,
  resolveMailboxes,
} from '../domain/folder-tree.js';
import type { ActionOutcome, MessageAction } from '../domain/message-actions.js';
import type { ReconnectPolicy } from '../domain/retry.js';
import { eventRecord } from '../pipeline/records.js';
import type { Metrics } from '../ports/services.js';
import type {
  AccountRepository,
  MailboxOwnership,
  MailboxRef,
  OAuth2TokenStore,
  TokenEndpoint,
} from '../ports/watcher.js';
import { AccountConnector } from './account-connector.js';
import { imapClientOptions } from './client-options.js';
import { listFolders } from './folder-listing.js';
import type { LoginPacer } from './login-pacer.js';
import { MailboxPoller, MailboxSession } from './mailbox-session.js';
import { leaseToActUnder, type MailboxSyncDependencies } from './mailbox-sync.js';
import { MessageActions, runMessageAction } from './message-actions.js';
import type { StatusBoard } from './status-board.js';

export interface WatcherDependencies extends MailboxSyncDependencies {
  readonly accounts: AccountRepository;
  readonly ownership: MailboxOwnership;
  readonly status: StatusBoard;
  readonly policy: ReconnectPolicy;
  readonly checkIntervalMs: number;
  /** Paces connection set-ups: a start or a server restart must not become a login storm. */
  readonly logins: LoginPacer;
  /** Where OAuth2 accounts keep rotated tokens; without one they live in memory for the process's life. */
  readonly tokenStore?: OAuth2TokenStore;
  /** Where OAuth2 token requests go through (with the destination guard where one applies). */
  readonly tokenEndpoint: TokenEndpoint;
  readonly metrics?: Metrics;
  /**
   * What watches one mailbox (default: an IMAP session). The control-plane benchmark puts a stand-in here to run
   * the real task code for 100,000 accounts without a socket.
   */
  readonly mailboxSessions?: MailboxSessions;
}

/** Starts the watch of one mailbox; `run` resolves once the signal stopped it. */
export type MailboxSessions = (
  account: AccountConfig,
  mailbox: string,
) => { run(signal: AbortSignal): Promise<void> };

interface RunningSession {
  readonly fingerprint: string;
  readonly stop: AbortController;
  readonly done: Promise<void>;
  readonly mailboxes: readonly string[];
}

/** How long reconciling may keep failing before the watcher reports itself unhealthy. */
const RECONCILE_UNHEALTHY_AFTER_MS = 5 * 60_000;

/** The session key's mailbox part for an account's poller (NUL cannot occur in a mailbox name). */
const POLLER = '\u0000poller';

/** How long an action waits for the account's login gate (a back-off after failed logins) before it gives up. */
const ACTION_LOGIN_WAIT_MS = 20_000;

const sessionKey = (ref: MailboxRef) => `${ref.account}\u0000${ref.mailbox}`;
const accountOfSessionKey = (key: string) => key.split('\u0000')[0] ?? '';

/** Any change to an account's settings (password included) restarts its sessions; the hash keeps no copy. */
function fingerprint(account: AccountConfig): string {
  return createHash('sha256').update(JSON.stringify(account)).digest('hex');
}

/**
 * Runs one MailboxSession per owned mailbox and keeps that set equal to what the account repository says:
 * accounts added, changed or removed take effect at the next reconcile, without a restart.
 */
export class Watcher {
  private readonly sessions = new Map<string, RunningSession>();
  private readonly connectors = new Map<string, { fingerprint: string; connector: AccountConnector }>();
  /**
   * Each owned account's folders as last listed (null: none stored yet); mailbox patterns resolve against these.
   * Kept while the account is owned, so a reconcile (every 2 s in AWS mode) reads no stored tree twice.
   */
  private readonly folderTrees = new Map<string, readonly FolderEntry[] | null>();
  /** The mailbox whose session lists each account's folders. */
  private readonly designated = new Map<string, string>();
  private retryTimer: NodeJS.Timeout | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  /** When reconciling started failing without a success since (ms), and why. */
  private reconcileFailure: { since: number; error: string } | undefined;
  private stopped = false;
  /** The owned accounts the last reconcile planned for. */
  private lastReconciled: readonly AccountConfig[] | undefined;
  /** Listings under way because a session found its mailbox gone, by account. */
  private readonly relisting = new Map<string, Promise<void>>();

  /** The actions the management API asks of watched messages, and the echoes they cause. */
  private readonly actions: MessageActions;
  /** What sessions queue their events through: tagged where an action of ours caused them. */
  private readonly sessionIngest: WatcherDependencies['ingest'];

  constructor(private readonly deps: WatcherDependencies) {
    this.actions = new MessageActions(deps.clock, Math.max(2 * 60_000, 2 * deps.checkIntervalMs));
    this.sessionIngest = { send: (records) => deps.ingest.send(records.map((r) => this.actions.tag(r))) };
  }

  /** Whether this watcher watches the account now: its last reconcile listed it as owned here. */
  holds(accountId: string): boolean {
    return this.lastReconciled?.some((a) => a.id === accountId) ?? false;
  }

  /**
   * Runs an action on a message of an account this watcher holds, on a connection of its own (the watching ones
   * stay read-only), within the account's connection limit; undefined when it holds no such account.
   */
  async actOnMessage(
    message: MessageCoordinates,
    action: MessageAction,
    requestId: string,
  ): Promise<ActionOutcome | undefined> {
    const account = this.lastReconciled?.find((a) => a.id === message.account);
    if (!account) return undefined;
    const open = [...this.sessions.keys()].filter((key) => accountOfSessionKey(key) === account.id).length;
    if (account.connectionLimit !== undefined && open >= account.connectionLimit)
      return {
        kind: 'refused',
        detail: `all ${account.connectionLimit} connections the account may hold (connectionLimit) are watching its mailboxes: raise the limit or watch fewer mailboxes to leave one for actions`,
      };
    return this.actions.act(message, action, requestId, () =>
      this.onOwnConnection(
        account,
        (client) => runMessageAction(client, message, action, requestId),
        AbortSignal.timeout(ACTION_LOGIN_WAIT_MS),
      ),
    );
  }

  /**
   * Reconciles now, then every `intervalMs` if given. A periodic reconcile whose listing holds the very same
   * accounts as the last one stops there: AWS mode polls every 2 s, and planning 10,000 accounts' connections each
   * time would cost a tenth of a core for nothing.
   */
  async start(intervalMs?: number): Promise<void> {
    if (!intervalMs) {
      await this.reconcile();
      return;
    }
    // Where reconciling repeats, a first one that fails (the table throttled while many tasks start) is retried
    // at the next tick, and /health reports it, rather than ending the process.
    await this.reconcile().catch((error: unknown) =>
      this.deps.logger.error('reconciling accounts failed; retrying', { error: errorMessage(error) }),
    );
    this.timer = setInterval(() => {
      this.reconcile({ onlyIfChanged: true }).catch((error: unknown) =>
        this.deps.logger.error('reconciling accounts failed', { error: errorMessage(error) }),
      );
    }, intervalMs);
  }

  get mailboxCount(): number {
    return [...this.sessions.values()].reduce((n, session) => n + session.mailboxes.length, 0);
  }

  /**
   * Queues a reconcile after the one running. Each starts afresh whatever the previous one did: a chain that kept
   * its first rejection would never pick up an account again after one failed `list()` (a DynamoDB throttle).
   */
  reconcile(options: { readonly onlyIfChanged?: boolean } = {}): Promise<void> {
    const next = this.reconciling
      .catch(() => undefined)
      .then(() => this.reconcileOnce(options.onlyIfChanged === true))
      .then(
        () => {
          this.reconcileFailure = undefined;
        },
        (error: unknown) => {
          this.reconcileFailure ??= { since: this.deps.clock.now(), error: '' };
          this.reconcileFailure.error = errorMessage(error);
          throw error;
        },
      );
    this.reconciling = next;
    return next;
  }

  /**
   * Healthy unless reconciling has failed for longer than `RECONCILE_UNHEALTHY_AFTER_MS`: a watcher that cannot
   * learn its accounts keeps serving the ones it has, and only a lasting failure is worth a restart.
   */
  reconcileHealth(): { healthy: boolean; failingSince: string | null; lastError: string | null } {
    const failure = this.reconcileFailure;
    if (!failure) return { healthy: true, failingSince: null, lastError: null };
    return {
      healthy: this.deps.clock.now() - failure.since < RECONCILE_UNHEALTHY_AFTER_MS,
      failingSince: new Date(failure.since).toISOString(),
      lastError: failure.error,
    };
  }

  /**
   * Stops the sessions of accounts this process no longer owns, asking only the ownership's local view: unlike
   * `reconcile()`, it lists nothing, so it still works while the account and lease tables cannot be reached
   * (a stalled DynamoDB call must not keep connections open that another task has taken over).
   */
  async closeUnowned(): Promise<void> {
    const accounts = [...new Set([...this.sessions.keys()].map(accountOfSessionKey))];
    const owned = new Set(await this.deps.ownership.owned(accounts));
    const unowned = [...this.sessions.keys()].filter((key) => !owned.has(accountOfSessionKey(key)));
    if (unowned.length === 0) return;
    // The sessions no longer match the last plan: the next reconcile plans even if its listing is the same (a
    // lease renewed after a silence reports no change, and its accounts must be watched again).
    this.lastReconciled = undefined;
    await Promise.all(unowned.map((key) => this.stopSession(key)));
  }

  /** Stops every session: IDLE ended, in-flight syncs finished, LOGOUT sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    await this.reconciling.catch(() => undefined);
    await Promise.all(this.relisting.values());
    await Promise.all([...this.sessions.keys()].map((key) => this.stopSession(key)));
  }

  private async reconcileOnce(onlyIfChanged: boolean): Promise<void> {
    if (this.stopped) return;
    const owned = (ids: readonly string[]) => this.deps.ownership.owned(ids);
    const listed = await this.deps.accounts.list(owned);
    const mine = new Set(await owned(listed.map((a) => a.id)));
    const accounts = new Map(listed.filter((a) => mine.has(a.id)).map((a) => [a.id, a]));
    const current = [...accounts.values()];
    const previous = this.lastReconciled;
    // The repository hands out the same account objects while nothing changed (identity, not a deep compare).
    if (onlyIfChanged && previous?.length === current.length && current.every((a, i) => a === previous[i]))
      return;
    const wanted = new Map<string, readonly string[]>();
    for (const account of accounts.values()) {
      let mailboxes = resolveMailboxes(account.mailboxes, await this.folderTreeOf(account));
      if (mailboxes.length === 0) {
        // No session to list the folders from: list them on a connection of their own, now and then.
        mailboxes = resolveMailboxes(account.mailboxes, await this.folderTreeOf(account, { fresh: true }));
        if (mailboxes.length === 0) {
          this.deps.logger.warn("no mailbox matches the account's patterns yet; looking again later", {
            account: account.id,
          });
          this.reconcileLater(this.deps.checkIntervalMs);
        }
      }
      wanted.set(account.id, mailboxes);
    }
    this.designated.clear();
    for (const [account, mailboxes] of wanted) if (mailboxes[0]) this.designated.set(account, mailboxes[0]);

    const planned = new Map<
      string,
      { account: AccountConfig; fingerprint: string; start: (key: string) => void }
    >();
    for (const account of accounts.values()) {
      const { idle, polled } = planConnections(wanted.get(account.id) ?? [], account.connectionLimit);
      for (const mailbox of idle) {
        planned.set(sessionKey({ account: account.id, mailbox }), {
          account,
          fingerprint: fingerprint(account),
          start: (key) => this.startSession(account, mailbox, key),
        });
      }
      if (polled.length > 0) {
        planned.set(sessionKey({ account: account.id, mailbox: POLLER }), {
          account,
          fingerprint: `${fingerprint(account)}:${polled.join('\u0000')}`,
          start: (key) => this.startPoller(account, polled, key),
        });
      }
    }

    const stopping: Promise<void>[] = [];
    for (const [key, session] of this.sessions) {
      if (planned.get(key)?.fingerprint !== session.fingerprint) stopping.push(this.stopSession(key));
    }
    await Promise.all(stopping);
    for (const [id] of this.connectors) if (!accounts.has(id)) this.connectors.delete(id);
    // Another task may change the tree of an account this one no longer holds: read it again if it comes back.
    for (const [id] of this.folderTrees) if (!accounts.has(id)) this.folderTrees.delete(id);

    for (const [key, plan] of planned) if (!this.sessions.has(key)) plan.start(key);
    this.lastReconciled = current;
  }

  /**
   * The account's folder tree: as last listed, or as stored. An account watched by pattern whose folders were
   * never listed gets one listing here, on its own connection, so the patterns can resolve.
   */
  private async folderTreeOf(
    account: AccountConfig,
    options: { readonly fresh?: boolean } = {},
  ): Promise<readonly FolderEntry[] | undefined> {
    const known = options.fresh ? undefined : await this.knownFolderTree(account.id);
    if (known) return known;
    if (!needsFolderListing(account.mailboxes)) return undefined;
    try {
      const folders = await this.listOnOwnConnection(account);
      await this.onFolders(account, folders);
      return folders;
    } catch (error) {
      this.deps.logger.error('cannot list the folders to resolve mailbox patterns; retrying in 30 s', {
        account: account.id,
        error: errorMessage(error),
      });
      this.reconcileLater(30_000);
      return undefined;
    }
  }

  private listOnOwnConnection(account: AccountConfig): Promise<FolderEntry[]> {
    return this.onOwnConnection(
      account,
      async (client) => (await listFolders(client)).folders,
      new AbortController().signal,
    );
  }

  /** `use` on a connection of the account's own, through its login gate, logged out after. */
  private onOwnConnection<T>(
    account: AccountConfig,
    use: (client: ImapFlow) => Promise<T>,
    signal: AbortSignal,
  ): Promise<T> {
    return this.connectorFor(account).login(async (credentials) => {
      const client = new ImapFlow(imapClientOptions(account, credentials));
      client.on('error', () => undefined);
      await client.connect();
      try {
        return await use(client);
      } finally {
        await client.logout().catch(() => client.close());
      }
    }, signal);
  }

  /**
   * A session found its mailbox gone from the server: list the folders now (whether or not the account uses
   * patterns), so that the deletion or rename is announced and the sessions follow it.
   */
  private relist(account: AccountConfig): void {
    if (this.stopped || this.relisting.has(account.id)) return;
    const listing = this.listOnOwnConnection(account)
      .then((folders) => this.onFolders(account, folders))
      .catch((error: unknown) =>
        this.deps.logger.error('cannot list the folders after a mailbox went away', {
          account: account.id,
          error: errorMessage(error),
        }),
      )
      .finally(() => this.relisting.delete(account.id));
    this.relisting.set(account.id, listing);
  }

  /**
   * A renamed mailbox that kept its UIDVALIDITY (Dovecot and Cyrus keep it; Courier gives a new one) holds the
   * same messages under a new name: its cursor moves with it, and nothing in it is announced again (with
   * initialSync "all", it would all be).
   */
  private async followRename(account: string, from: FolderEntry, to: FolderEntry): Promise<void> {
    const cursor = await this.deps.cursors.getCursor(account, from.path);
    if (!cursor || cursor.uidValidity !== to.uidValidity) return;
    if (await this.deps.cursors.getCursor(account, to.path)) return;
    await this.deps.cursors.resetCursor(
      account,
      to.path,
      cursor,
      leaseToActUnder(this.deps.ownership, account),
    );
  }

  private reconcileLater(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.reconcile().catch(() => undefined), delayMs);
  }

  /** The account's folder tree as this process last saw it, else as stored (read once while owned). */
  private async knownFolderTree(accountId: string): Promise<readonly FolderEntry[] | undefined> {
    const cached = this.folderTrees.get(accountId);
    if (cached !== undefined) return cached ?? undefined;
    const stored = await this.deps.cursors.getFolderTree(accountId);
    this.folderTrees.set(accountId, stored ?? null);
    return stored;
  }

  /** A new listing: announces what changed in the tree, and re-resolves patterns if the watched set moved. */
  private async onFolders(account: AccountConfig, folders: readonly FolderEntry[]): Promise<void> {
    const before = await this.knownFolderTree(account.id);
    const changes = before ? diffFolderTrees(before, folders) : [];
    for (const change of changes)
      if (change.kind === 'renamed') await this.followRename(account.id, change.from, change.to);
    const now = new Date(this.deps.clock.now()).toISOString();
    if (changes.length > 0) {
      leaseToActUnder(this.deps.ownership, account.id);
      await this.deps.ingest.send(
        changes.map((change) => eventRecord(folderChangedEvent(account.id, change, now))),
      );
      this.deps.logger.info('folder tree changed', { account: account.id, changes: changes.length });
    }
    if (!before || changes.length > 0) {
      leaseToActUnder(this.deps.ownership, account.id);
      await this.deps.cursors.setFolderTree(account.id, folders);
    }
    this.folderTrees.set(account.id, folders);
    const watched = (tree: readonly FolderEntry[] | undefined) =>
      resolveMailboxes(account.mailboxes, tree).join('\u0000');
    if (before && watched(before) !== watched(folders)) {
      // Not awaited: this runs inside a session's sync, which the reconcile may have to stop.
      void this.reconcile().catch((error: unknown) =>
        this.deps.logger.error('reconciling accounts failed', { error: errorMessage(error) }),
      );
    }
  }

  private connectorFor(account: AccountConfig): AccountConnector {
    const current = fingerprint(account);
    const existing = this.connectors.get(account.id);
    if (existing?.fingerprint === current) return existing.connector;
    const connector = new AccountConnector(account, {
      policy: this.deps.policy,
      status: this.deps.status,
      clock: this.deps.clock,
      logger: this.deps.logger,
      logins: this.deps.logins,
      emit: async (event) => {
        // A watcher that lost the account's lease (one resumed from a pause, say) would speak for the new owner.
        if (this.deps.ownership.lease && !this.deps.ownership.lease(account.id)) {
          this.deps.logger.info('account error not reported: another watcher owns the account now', {
            account: account.id,
            code: event.data.code,
          });
          return;
        }
        await this.deps.ingest.send([eventRecord(event)]);
      },
      ...(this.deps.tokenStore ? { tokenStore: this.deps.tokenStore } : {}),
      tokenEndpoint: this.deps.tokenEndpoint,
      ...(this.deps.metrics ? { metrics: this.deps.metrics } : {}),
    });
    this.connectors.set(account.id, { fingerprint: current, connector });
    return connector;
  }

  private startSession(account: AccountConfig, mailbox: string, key: string): void {
    const stop = new AbortController();
    const session =
      this.deps.mailboxSessions?.(account, mailbox) ??
      new MailboxSession(account, mailbox, {
        ...this.deps,
        ingest: this.sessionIngest,
        connector: this.connectorFor(account),
        mailboxGone: () => this.relist(account),
        folders: {
          designated: () => this.designated.get(account.id) === mailbox,
          report: (folders) => this.onFolders(account, folders),
        },
      });
    const done = session.run(stop.signal).catch((error: unknown) => {
      this.deps.logger.error('mailbox session ended unexpectedly', {
        account: account.id,
        mailbox,
        error: errorMessage(error),
      });
    });
    this.sessions.set(key, { fingerprint: fingerprint(account), stop, done, mailboxes: [mailbox] });
    this.deps.logger.info('watching mailbox', { account: account.id, mailbox });
  }

  private startPoller(account: AccountConfig, polled: readonly string[], key: string): void {
    const stop = new AbortController();
    const poller = new MailboxPoller(account, polled, {
      ...this.deps,
      ingest: this.sessionIngest,
      connector: this.connectorFor(account),
      mailboxGone: () => this.relist(account),
    });
    const done = poller.run(stop.signal).catch((error: unknown) => {
      this.deps.logger.error('mailbox poller ended unexpectedly', {
        account: account.id,
        error: errorMessage(error),
      });
    });
    this.sessions.set(key, {
      fingerprint: `${fingerprint(account)}:${polled.join('\u0000')}`,
      stop,
      done,
      mailboxes: polled,
    });
    this.deps.logger.warn('more mailboxes than the account may hold connections for: polling some', {
      account: account.id,
      connectionLimit: account.connectionLimit,
      polled,
      everySeconds: this.deps.checkIntervalMs / 1000,
    });
  }

  private async stopSession(key: string): Promise<void> {
    const session = this.sessions.get(key);
    if (!session) return;
    this.sessions.delete(key);
    session.stop.abort();
    await session.done;
    const account = accountOfSessionKey(key);
    for (const mailbox of session.mailboxes) this.deps.status.forget(account, mailbox);
  }
}
