import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImapFlow } from 'imapflow';
import type { AccountConfig, ReconnectPolicy } from '../config/config.js';
import { reconnectDelayMs } from '../domain/retry.js';
import type { AccountConnector } from './account-connector.js';
import { imapClientOptions } from './client-options.js';
import { classifyImapError } from './connection-failure.js';
import { MailboxSync, type MailboxSyncDependencies } from './mailbox-sync.js';
import type { StatusBoard } from './status-board.js';

/** A check unanswered for this long (or one check interval, if longer) means the connection is dead. */
const MIN_CHECK_TIMEOUT_MS = 10_000;

export interface MailboxSessionDependencies extends MailboxSyncDependencies {
  readonly connector: AccountConnector;
  readonly status: StatusBoard;
  readonly policy: ReconnectPolicy;
  /** How often an idle session verifies its mailbox (UIDVALIDITY) and, with it, that the connection is alive. */
  readonly checkIntervalMs: number;
  readonly random?: () => number;
}

/**
 * Keeps one IMAP connection open on one mailbox, read-only (EXAMINE), in IDLE between syncs. imapflow does not
 * reconnect by itself: a closed client is replaced by a new one after a back-off.
 */
export class MailboxSession {
  private failures = 0;
  private opened = false;

  constructor(
    private readonly account: AccountConfig,
    private readonly mailbox: string,
    private readonly deps: MailboxSessionDependencies,
  ) {}

  private get logFields() {
    return { account: this.account.id, mailbox: this.mailbox };
  }

  async run(signal: AbortSignal): Promise<void> {
    const status = this.deps.status.mailbox(this.account.id, this.mailbox);
    while (!signal.aborted) {
      try {
        await this.watch(signal);
      } catch (error) {
        if (signal.aborted) break;
        const failure = classifyImapError(error, this.account);
        Object.assign(status, { state: 'error', lastError: failure.message });
        // Failing to get a working mailbox is the account's problem (reported once as account.error);
        // losing an established connection is routine and only logged.
        if (!this.opened) {
          // The report itself can fail (the queue is unreachable): that must not end the session's loop.
          await this.deps.connector.failed(failure).catch((error: unknown) =>
            this.deps.logger.error('could not queue account.error', {
              ...this.logFields,
              error: (error as Error).message,
            }),
          );
        } else {
          this.deps.logger.warn('mailbox connection lost', {
            ...this.logFields,
            code: failure.code,
            error: failure.message,
          });
        }
        // Authentication failures wait in the account's login gate; everything else backs off here.
        if (failure.kind !== 'authentication') {
          this.failures += 1;
          const delay = reconnectDelayMs('network', this.failures, this.deps.policy, this.deps.random);
          await sleep(delay, undefined, { signal }).catch(() => undefined);
        }
      }
    }
    status.state = 'stopped';
  }

  /** One connection's lifetime: resolves on shutdown, rejects when the connection fails or closes. */
  private async watch(signal: AbortSignal): Promise<void> {
    const status = this.deps.status.mailbox(this.account.id, this.mailbox);
    status.state = 'connecting';
    this.opened = false;
    let connectionError: unknown;
    const client = await this.deps.connector.login(async (credentials) => {
      const candidate = new ImapFlow(imapClientOptions(this.account, credentials));
      candidate.on('error', (error: unknown) => {
        connectionError = error;
      });
      try {
        await candidate.connect();
        return candidate;
      } catch (error) {
        candidate.close();
        throw error;
      }
    }, signal);
    const closed = once(client, 'close');

    const sync = new MailboxSync(client, this.account, this.mailbox, status, this.deps);
    const syncFailed = new Promise<never>((_, reject) => sync.onFailure(reject));
    try {
      await client.mailboxOpen(this.mailbox, { readOnly: true });
      this.opened = true;
      this.deps.connector.connected();
      this.failures = 0;
      status.lastError = null;
      client.on('exists', () => sync.request());
      // Flag changes and expunges are looked up by MODSEQ in the next sync (catches what a restart missed too).
      client.on('flags', () => sync.request());
      client.on('expunge', (expunged: { uid?: number; vanished: boolean }) => {
        if (expunged.vanished && expunged.uid !== undefined) sync.noteVanished(expunged.uid);
        else sync.expungedBySequence();
      });
      sync.request();
      // A connection can die silently (a cut network drops packets without a reset): IDLE then waits forever
      // and imapflow's own inactivity timeout takes 10 minutes. A check left unanswered is taken as that.
      const unansweredAfterMs = Math.max(MIN_CHECK_TIMEOUT_MS, this.deps.checkIntervalMs);
      const check = setInterval(() => {
        if (sync.checkOverdueMs() > unansweredAfterMs) {
          connectionError = Object.assign(
            new Error(`the server did not answer for ${Math.round(sync.checkOverdueMs() / 1000)} s`),
            { code: 'ETIMEOUT' },
          );
          client.close();
          return;
        }
        sync.requestCheck();
      }, this.deps.checkIntervalMs);
      const aborted = once(signal, 'abort');
      await Promise.race([closed, aborted, syncFailed]).finally(() => clearInterval(check));
      if (signal.aborted) {
        await sync.settled();
        await client.logout().catch(() => client.close());
        return;
      }
      throw (
        connectionError ??
        Object.assign(new Error('the server closed the connection'), { code: 'EConnectionClosed' })
      );
    } catch (error) {
      client.close();
      throw error;
    }
  }
}
