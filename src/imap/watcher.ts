import { createHash } from 'node:crypto';
import type { AccountConfig, ReconnectPolicy } from '../config/config.js';
import type { AccountRepository, MailboxOwnership, MailboxRef, OAuth2TokenStore } from '../ports/index.js';
import { AccountConnector } from './account-connector.js';
import { MailboxSession } from './mailbox-session.js';
import type { MailboxSyncDependencies } from './mailbox-sync.js';
import type { StatusBoard } from './status-board.js';

/** A single process owns every mailbox. */
export const ownsEverything: MailboxOwnership = { owned: async (mailboxes) => mailboxes };

export interface WatcherDependencies extends MailboxSyncDependencies {
  readonly accounts: AccountRepository;
  readonly ownership: MailboxOwnership;
  readonly status: StatusBoard;
  readonly policy: ReconnectPolicy;
  readonly checkIntervalMs: number;
  /** Where OAuth2 accounts keep rotated tokens; without one they live in memory for the process's life. */
  readonly tokenStore?: OAuth2TokenStore;
}

interface RunningSession {
  readonly fingerprint: string;
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

const sessionKey = (ref: MailboxRef) => `${ref.account}\u0000${ref.mailbox}`;

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
  private timer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly deps: WatcherDependencies) {}

  /** Reconciles now, then every `intervalMs` if given. */
  async start(intervalMs?: number): Promise<void> {
    await this.reconcile();
    if (intervalMs) {
      this.timer = setInterval(() => {
        this.reconcile().catch((error: unknown) =>
          this.deps.logger.error('reconciling accounts failed', { error: (error as Error).message }),
        );
      }, intervalMs);
    }
  }

  get mailboxCount(): number {
    return this.sessions.size;
  }

  reconcile(): Promise<void> {
    this.reconciling = this.reconciling.then(() => this.reconcileOnce());
    return this.reconciling;
  }

  /** Stops every session: IDLE ended, in-flight syncs finished, LOGOUT sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.reconciling.catch(() => undefined);
    await Promise.all([...this.sessions.keys()].map((key) => this.stopSession(key)));
  }

  private async reconcileOnce(): Promise<void> {
    if (this.stopped) return;
    const accounts = new Map((await this.deps.accounts.list()).map((a) => [a.id, a]));
    const wanted = [...accounts.values()].flatMap((a) =>
      a.mailboxes.map((mailbox) => ({ account: a.id, mailbox })),
    );
    const owned = new Map((await this.deps.ownership.owned(wanted)).map((ref) => [sessionKey(ref), ref]));

    const stopping: Promise<void>[] = [];
    for (const [key, session] of this.sessions) {
      const [accountId = ''] = key.split('\u0000');
      const account = accounts.get(accountId);
      if (!owned.has(key) || !account || fingerprint(account) !== session.fingerprint)
        stopping.push(this.stopSession(key));
    }
    await Promise.all(stopping);
    for (const [id] of this.connectors) if (!accounts.has(id)) this.connectors.delete(id);

    for (const [key, ref] of owned) {
      if (this.sessions.has(key)) continue;
      const account = accounts.get(ref.account);
      if (account) this.startSession(account, ref.mailbox, key);
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
      emit: (event) =>
        this.deps.ingest.send([{ deduplicationKey: event.id, body: { kind: 'event', event } }]),
      ...(this.deps.tokenStore ? { tokenStore: this.deps.tokenStore } : {}),
    });
    this.connectors.set(account.id, { fingerprint: current, connector });
    return connector;
  }

  private startSession(account: AccountConfig, mailbox: string, key: string): void {
    const stop = new AbortController();
    const session = new MailboxSession(account, mailbox, {
      ...this.deps,
      connector: this.connectorFor(account),
    });
    const done = session.run(stop.signal).catch((error: unknown) => {
      this.deps.logger.error('mailbox session ended unexpectedly', {
        account: account.id,
        mailbox,
        error: (error as Error).message,
      });
    });
    this.sessions.set(key, { fingerprint: fingerprint(account), stop, done });
    this.deps.logger.info('watching mailbox', { account: account.id, mailbox });
  }

  private async stopSession(key: string): Promise<void> {
    const session = this.sessions.get(key);
    if (!session) return;
    this.sessions.delete(key);
    session.stop.abort();
    await session.done;
    const [account = '', mailbox = ''] = key.split('\u0000');
    this.deps.status.forget(account, mailbox);
  }
}
