import { setTimeout as sleep } from 'node:timers/promises';
import { ImapFlow } from 'imapflow';
import type { AccountConfig } from '../config/config.js';
import { errorMessage, MailboxNotOwnedError } from '../domain/errors.js';
import type { ReconnectPolicy } from '../domain/retry.js';
import { reconnectDelayMs } from '../domain/retry.js';
import type { AccountConnector } from './account-connector.js';
import { imapClientOptions } from './client-options.js';
import { ConnectionClosedError, classifyImapError, type ImapConnectionError } from './connection-failure.js';
import { answeredWithin, unansweredAfterMs, watchLiveness } from './liveness.js';
import { MailboxSync, type MailboxSyncDependencies } from './mailbox-sync.js';
import { idleRestartMsFor } from './server-quirks.js';
import type { StatusBoard } from './status-board.js';

/**
 * Resolves when the client has closed. Unlike `once(client, 'close')` it never rejects: imapflow emits `error`
 * before `close` on a socket failure, and a rejection nobody awaits yet would end the process.
 */
function closeOf(client: ImapFlow): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/**
 * Resolves on abort. `dispose` removes the listener: the signal lives as long as the session, and one listener
 * left behind per connection would pile up on a server that keeps dropping connections.
 */
function abortOf(signal: AbortSignal): { readonly aborted: Promise<void>; readonly dispose: () => void } {
  let dispose = () => {};
  const aborted = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const listener = () => resolve();
    signal.addEventListener('abort', listener, { once: true });
    dispose = () => signal.removeEventListener('abort', listener);
  });
  return { aborted, dispose };
}

/**
 * A connection that stayed up this long was healthy: its loss starts the back-off afresh. One that fails sooner
 * counts as another consecutive failure, so a server that drops every connection right after login (or answers
 * every SELECT in a way the sync cannot use) is met with a growing wait, never a login a second.
 */
const HEALTHY_CONNECTION_MS = 30_000;

export interface MailboxSessionDependencies extends MailboxSyncDependencies {
  readonly connector: AccountConnector;
  readonly status: StatusBoard;
  readonly policy: ReconnectPolicy;
  /** How often an idle session verifies its mailbox (UIDVALIDITY) and, with it, that the connection is alive. */
  readonly checkIntervalMs: number;
  readonly random?: () => number;
  /**
   * A mailbox this session watched is no longer on the server (deleted, or renamed): the watcher lists the
   * account's folders to announce which, and reconciles its sessions.
   */
  readonly mailboxGone?: (mailbox: string) => void;
}

/** What the kernel reports when it gives up on an established connection whose peer went silent. */
const SILENT_PEER_CODES: ReadonlySet<string> = new Set(['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * One IMAP connection's lifetime, repeated: imapflow does not reconnect by itself, so a closed client is replaced
 * by a new one after a back-off. Shared by IDLE sessions and pollers.
 */
abstract class ReconnectingConnection {
  private failures = 0;
  /** Set once the connection got as far as its mailbox: failing before that is the account's problem. */
  protected opened = false;
  /** When the current connection got as far as its mailbox (ms). */
  private openedAt: number | undefined;
  /** When an established connection was lost to the network, while no new one has got as far as its mailbox (ms). */
  private lostAt: number | undefined;

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
        const now = this.deps.clock.now();
        const upFor = this.openedAt === undefined ? 0 : now - this.openedAt;
        this.openedAt = undefined;
        const lost = this.opened && failure.kind === 'network';
        // An established connection lost starts an outage (markConnected ended the one before).
        if (lost) this.lostAt = now;
        if (upFor >= HEALTHY_CONNECTION_MS) this.failures = 0;
        this.failures += 1;
        if (await this.wentAway(failure)) {
          await sleep(this.networkDelay(), undefined, { signal }).catch(() => undefined);
          continue;
        }
        for (const mailbox of this.mailboxes)
          Object.assign(this.deps.status.mailbox(this.account.id, mailbox), {
            state: 'error',
            lastError: failure.message,
          });
        // Failing to get a working mailbox, or a sync the server's answers break, is the account's problem
        // (reported once as account.error); losing an established connection is routine and only logged, and so
        // is failing to reconnect for a while after it (a server restarting, a network blip): subscribers act on
        // account.error, and one per restart would teach them to ignore it.
        const outageMs =
          failure.kind === 'network' && this.lostAt !== undefined ? now - this.lostAt : undefined;
        if (lost) {
          this.deps.logger.warn('mailbox connection lost', {
            ...fields,
            code: failure.code,
            // On a connection that was up, these are the kernel giving up on a silent peer (keepalive probes or a
            // retransmission unanswered; it reports the last unreachable answer it had, if any), not a host that
            // never answered: the connect-time advice to check the host and port would mislead.
            error: SILENT_PEER_CODES.has(failure.code)
              ? 'the connection went silent and the kernel gave up on it (the network to the server was cut, or a firewall or NAT dropped the connection)'
              : failure.message,
          });
        } else if (outageMs !== undefined && outageMs < this.deps.policy.outageGraceSeconds * 1000) {
          this.deps.connector.countFailure(failure);
          this.deps.logger.warn('reconnect failed; not an account error yet', {
            ...fields,
            code: failure.code,
            error: failure.message,
            unreachableForSeconds: Math.round(outageMs / 1000),
            reportedAfterSeconds: this.deps.policy.outageGraceSeconds,
          });
        } else {
          // The report itself can fail (the queue is unreachable): that must not end the session's loop.
          await this.deps.connector.failed(failure).catch((error: unknown) =>
            this.deps.logger.error('could not queue account.error', {
              ...fields,
              error: errorMessage(error),
            }),
          );
        }
        // Authentication and sync failures wait in the account's login gate (every session of the account
        // waits); a network failure backs off here.
        if (failure.kind === 'network') {
          await sleep(this.networkDelay(), undefined, { signal }).catch(() => undefined);
        }
      }
    }
    for (const mailbox of this.mailboxes)
      this.deps.status.mailbox(this.account.id, mailbox).state = 'stopped';
  }

  private networkDelay(): number {
    return reconnectDelayMs('network', this.failures, this.deps.policy, this.deps.random);
  }

  /**
   * Whether the failure is a watched mailbox that is gone from the server (deleted or renamed under us): the
   * folder listing announces that as mailbox.deleted or mailbox.renamed, never as an account error. A mailbox
   * never seen before (no cursor) that does not exist is a mistake in the account's settings instead.
   */
  private async wentAway(failure: ImapConnectionError): Promise<boolean> {
    if (failure.code !== 'MAILBOX_NOT_FOUND') return false;
    const gone: string[] = [];
    for (const mailbox of this.mailboxes) if (await this.wasWatched(mailbox)) gone.push(mailbox);
    if (gone.length === 0) return false;
    for (const mailbox of gone) {
      Object.assign(this.deps.status.mailbox(this.account.id, mailbox), {
        state: 'error',
        lastError: 'the mailbox no longer exists on the server (deleted or renamed)',
      });
      this.deps.logger.info('watched mailbox is gone from the server; listing the folders', {
        account: this.account.id,
        mailbox,
      });
      this.deps.mailboxGone?.(mailbox);
    }
    return true;
  }

  private wasWatched(mailbox: string): Promise<boolean> {
    return this.deps.cursors.getCursor(this.account.id, mailbox).then((cursor) => cursor !== undefined);
  }

  /** Whether `error` says that `mailbox`, watched before, is no longer on the server. */
  protected async isGone(error: unknown, mailbox: string): Promise<boolean> {
    return (
      classifyImapError(error, this.account).code === 'MAILBOX_NOT_FOUND' && (await this.wasWatched(mailbox))
    );
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
    this.openedAt = this.deps.clock.now();
    this.lostAt = undefined;
    this.deps.connector.connected();
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
    const idleRestartMs = idleRestartMsFor(client.greeting);
    if (idleRestartMs !== undefined) client.maxIdleTime = idleRestartMs;

    const sync = new MailboxSync(client, this.account, this.mailbox, status, this.deps);
    const syncFailed = new Promise<never>((_, reject) => sync.onFailure(reject));
    sync.onSynced(() => this.deps.connector.synced());
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
      client.on('expunge', (expunged: { uid?: number; vanished: boolean; earlier?: boolean }) => {
        if (!expunged.vanished || expunged.uid === undefined) sync.expungedBySequence();
        // VANISHED (EARLIER) answers the sync's own CHANGEDSINCE: that sync takes it; a new one would ask again.
        else if (expunged.earlier) sync.rememberVanished(expunged.uid);
        else sync.noteVanished(expunged.uid);
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
      const { aborted, dispose } = abortOf(signal);
      await Promise.race([closed, aborted, syncFailed]).finally(() => {
        dispose();
        stopWatching();
      });
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
          try {
            await Promise.race([sync.pollOnce(), closed]);
          } catch (error) {
            // One polled mailbox gone from the server must not stop the others: the listing announces it.
            if (!(await this.isGone(error, mailbox))) throw error;
            this.deps.status.mailbox(this.account.id, mailbox).lastError =
              'the mailbox no longer exists on the server (deleted or renamed)';
            this.deps.mailboxGone?.(mailbox);
            continue;
          } finally {
            polling = undefined;
          }
          this.deps.status.mailbox(this.account.id, mailbox).state = 'polling';
          if (!this.opened) this.markConnected();
          if (signal.aborted) break;
        }
        if (this.opened) this.deps.connector.synced();
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
