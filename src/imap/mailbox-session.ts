import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImapFlow } from 'imapflow';
import type { AccountConfig, ReconnectPolicy } from '../config/config.js';
import { errorMessage, MailboxNotOwnedError } from '../domain/errors.js';
import { reconnectDelayMs } from '../domain/retry.js';
import type { AccountConnector } from './account-connector.js';
import { imapClientOptions } from './client-options.js';
import { ConnectionClosedError, classifyImapError } from './connection-failure.js';
import { answeredWithin, unansweredAfterMs, watchLiveness } from './liveness.js';
import { MailboxSync, type MailboxSyncDependencies } from './mailbox-sync.js';
import type { StatusBoard } from './status-board.js';

/**
 * Resolves when the client has closed. Unlike `once(client, 'close')` it never rejects: imapflow emits `error`
 * before `close` on a socket failure, and a rejection nobody awaits yet would end the process.
 */
function closeOf(client: ImapFlow): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

export interface MailboxSessionDependencies extends MailboxSyncDependencies {
  readonly connector: AccountConnector;
  readonly status: StatusBoard;
  readonly policy: ReconnectPolicy;
  /** How often an idle session verifies its mailbox (UIDVALIDITY) and, with it, that the connection is alive. */
  readonly checkIntervalMs: number;
  readonly random?: () => number;
}

/**
 * One IMAP connection's lifetime, repeated: imapflow does not reconnect by itself, so a closed client is replaced
 * by a new one after a back-off. Shared by IDLE sessions and pollers.
 */
abstract class ReconnectingConnection {
  private failures = 0;
  /** Set once the connection got as far as its mailbox: failing before that is the account's problem. */
  protected opened = false;

  constructor(
    protected readonly account: AccountConfig,
    protected readonly deps: MailboxSessionDependencies,
  ) {}

  /** The mailboxes this connection serves, for their status and logs. */
  protected abstract get mailboxes(): readonly string[];

  /** One connection's lifetime: resolves on shutdown, rejects when the connection fails or closes. */
  protected abstract watch(signal: AbortSignal): Promise<void>;

  async run(signal: AbortSignal): Promise<void> {
    const fields = { account: this.account.id, mailboxes: this.mailboxes.join(',') };
    while (!signal.aborted) {
      try {
        await this.watch(signal);
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof MailboxNotOwnedError) {
          // Another watcher owns it now: nothing to report (an account.error would be acting for it); the
          // watcher's next reconcile ends this session.
          this.deps.logger.info('mailbox owned elsewhere now; waiting for the reconcile', fields);
          await sleep(this.deps.checkIntervalMs, undefined, { signal }).catch(() => undefined);
          continue;
        }
        const failure = classifyImapError(error, this.account);
        for (const mailbox of this.mailboxes)
          Object.assign(this.deps.status.mailbox(this.account.id, mailbox), {
            state: 'error',
            lastError: failure.message,
          });
        // Failing to get a working mailbox is the account's problem (reported once as account.error);
        // losing an established connection is routine and only logged.
        if (!this.opened) {
          // The report itself can fail (the queue is unreachable): that must not end the session's loop.
          await this.deps.connector.failed(failure).catch((error: unknown) =>
            this.deps.logger.error('could not queue account.error', {
              ...fields,
              error: errorMessage(error),
            }),
          );
        } else {
          this.deps.logger.warn('mailbox connection lost', {
            ...fields,
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
    for (const mailbox of this.mailboxes)
      this.deps.status.mailbox(this.account.id, mailbox).state = 'stopped';
  }

  /** Logs in through the account's gate; `onError` receives the connection's later errors. */
  protected connect(signal: AbortSignal, onError: (error: unknown) => void): Promise<ImapFlow> {
    return this.deps.connector.login(async (credentials) => {
      const candidate = new ImapFlow(imapClientOptions(this.account, credentials));
      candidate.on('error', onError);
      try {
        await candidate.connect();
        return candidate;
      } catch (error) {
        candidate.close();
        throw error;
      }
    }, signal);
  }

  protected markConnected(): void {
    this.opened = true;
    this.deps.connector.connected();
    this.failures = 0;
  }
}

/** Keeps one IMAP connection open on one mailbox, read-only (EXAMINE), in IDLE between syncs. */
export class MailboxSession extends ReconnectingConnection {
  constructor(
    account: AccountConfig,
    private readonly mailbox: string,
    deps: MailboxSessionDependencies,
  ) {
    super(account, deps);
  }

  protected get mailboxes(): readonly string[] {
    return [this.mailbox];
  }

  protected async watch(signal: AbortSignal): Promise<void> {
    const status = this.deps.status.mailbox(this.account.id, this.mailbox);
    status.state = 'connecting';
    this.opened = false;
    let connectionError: unknown;
    const client = await this.connect(signal, (error) => {
      connectionError = error;
    });
    const closed = closeOf(client);

    const sync = new MailboxSync(client, this.account, this.mailbox, status, this.deps);
    const syncFailed = new Promise<never>((_, reject) => sync.onFailure(reject));
    const timeoutMs = unansweredAfterMs(this.deps.checkIntervalMs);
    try {
      // A SELECT on a silently dead connection would wait for imapflow's 5-minute socket timeout.
      await answeredWithin(
        client,
        client.mailboxOpen(this.mailbox, { readOnly: true }),
        timeoutMs,
        (error) => {
          connectionError = error;
        },
      );
      this.markConnected();
      status.lastError = null;
      client.on('exists', () => sync.request());
      // Flag changes and expunges are looked up by MODSEQ in the next sync (catches what a restart missed too).
      client.on('flags', () => sync.request());
      client.on('expunge', (expunged: { uid?: number; vanished: boolean }) => {
        if (expunged.vanished && expunged.uid !== undefined) sync.noteVanished(expunged.uid);
        else sync.expungedBySequence();
      });
      sync.request();
      // Each check interval asks the server to confirm the mailbox; an unanswered check closes the connection.
      const stopWatching = watchLiveness(client, {
        everyMs: this.deps.checkIntervalMs,
        timeoutMs,
        liveness: () => sync.liveness,
        onSilent: (error) => {
          connectionError = error;
        },
        onTick: () => sync.requestCheck(),
      });
      const aborted = once(signal, 'abort');
      await Promise.race([closed, aborted, syncFailed]).finally(stopWatching);
      if (signal.aborted) {
        await sync.settled();
        await client.logout().catch(() => client.close());
        return;
      }
      throw connectionError ?? new ConnectionClosedError();
    } catch (error) {
      client.close();
      // What broke the connection (a reset, our own deadline) says more than the command it broke.
      throw connectionError ?? error;
    }
  }
}

/**
 * Mailboxes beyond the account's connection limit share one connection: every check interval it selects each
 * in turn and syncs it (new mail, flag changes, deletions), instead of holding one IDLE connection per mailbox.
 */
export class MailboxPoller extends ReconnectingConnection {
  constructor(
    account: AccountConfig,
    private readonly polled: readonly string[],
    deps: MailboxSessionDependencies,
  ) {
    super(account, deps);
  }

  protected get mailboxes(): readonly string[] {
    return this.polled;
  }

  protected async watch(signal: AbortSignal): Promise<void> {
    for (const mailbox of this.polled)
      this.deps.status.mailbox(this.account.id, mailbox).state = 'connecting';
    this.opened = false;
    let connectionError: unknown;
    const client = await this.connect(signal, (error) => {
      connectionError = error;
    });
    const syncs = new Map(
      this.polled.map((mailbox) => [
        mailbox,
        new MailboxSync(client, this.account, mailbox, this.deps.status.mailbox(this.account.id, mailbox), {
          ...this.deps,
          folders: undefined,
        }),
      ]),
    );
    // VANISHED (EARLIER) arrives while a mailbox's own sync runs: hand it to that sync.
    client.on('expunge', (expunged: { path: string; uid?: number; vanished: boolean }) => {
      if (expunged.vanished && expunged.uid !== undefined)
        syncs.get(expunged.path)?.rememberVanished(expunged.uid);
    });
    const closed = closeOf(client).then(() => {
      throw connectionError ?? new ConnectionClosedError();
    });
    closed.catch(() => undefined); // observed by the races below; a close between them must not go unhandled
    // A silently dead connection (a cut network) would hang a poll for imapflow's 10-minute timeout.
    let polling: MailboxSync | undefined;
    const stopWatching = watchLiveness(client, {
      everyMs: 1000,
      timeoutMs: unansweredAfterMs(this.deps.checkIntervalMs),
      liveness: () => polling?.liveness,
      onSilent: (error) => {
        connectionError = error;
      },
    });
    try {
      while (!signal.aborted) {
        for (const [mailbox, sync] of syncs) {
          polling = sync;
          await Promise.race([sync.pollOnce(), closed]);
          polling = undefined;
          this.deps.status.mailbox(this.account.id, mailbox).state = 'polling';
          if (!this.opened) this.markConnected();
          if (signal.aborted) break;
        }
        await sleep(this.deps.checkIntervalMs, undefined, { signal }).catch(() => undefined);
      }
      await client.logout().catch(() => client.close());
    } catch (error) {
      client.close();
      throw error;
    } finally {
      stopWatching();
    }
  }
}
