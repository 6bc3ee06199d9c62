import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountConfig } from '../config/config.js';
import { accountErrorEvent, type EventOf } from '../domain/events.js';
import type { ReconnectPolicy } from '../domain/retry.js';
import { reconnectDelayMs } from '../domain/retry.js';
import type { Clock, Logger, Metrics } from '../ports/services.js';
import type { OAuth2TokenStore, TokenEndpoint } from '../ports/watcher.js';
import type { ImapCredentials } from './client-options.js';
import { classifyImapError, type ImapConnectionError } from './connection-failure.js';
import type { LoginPacer } from './login-pacer.js';
import { OAuth2Tokens } from './oauth2-tokens.js';
import type { StatusBoard } from './status-board.js';

export interface AccountConnectorDependencies {
  readonly policy: ReconnectPolicy;
  readonly status: StatusBoard;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Paces connection set-ups across every account of the process. */
  readonly logins: LoginPacer;
  /** Queues an `account.error` event; resolves once it is durable. */
  readonly emit: (event: EventOf<'account.error'>) => Promise<void>;
  /** Keeps rotated OAuth2 tokens across restarts (OAuth2 accounts only). */
  readonly tokenStore?: OAuth2TokenStore;
  /** Where OAuth2 token requests go through (with the destination guard where one applies). */
  readonly tokenEndpoint: TokenEndpoint;
  readonly random?: () => number;
  readonly metrics?: Metrics;
}

/**
 * One per account, shared by its mailbox sessions. Logins go through here one at a time, so a wrong password
 * costs one failed login per back-off period for the whole account, not one per mailbox per retry.
 */
export class AccountConnector {
  private loginChain: Promise<void> = Promise.resolve();
  private authenticationFailures = 0;
  /** Sessions that logged in and then could not sync, since the last sync that completed. */
  private syncFailures = 0;
  private blockedUntil = 0;
  private episode: { code: string; startedAt: string } | undefined;
  private readonly tokens: OAuth2Tokens | undefined;

  constructor(
    private readonly account: AccountConfig,
    private readonly deps: AccountConnectorDependencies,
  ) {
    this.tokens =
      account.auth.kind === 'oauth2'
        ? new OAuth2Tokens(account.id, account.auth, deps.clock, deps.tokenStore, deps.tokenEndpoint)
        : undefined;
  }

  /**
   * Runs one login attempt through the account's gate, with the password or a current access token. An
   * access token the server rejects is refreshed and tried once more at once: tokens can be revoked early.
   */
  async login<T>(attempt: (credentials: ImapCredentials) => Promise<T>, signal: AbortSignal): Promise<T> {
    const previous = this.loginChain;
    let release = () => {};
    this.loginChain = new Promise<void>((resolve) => {
      release = resolve;
    });
    try {
      await previous;
      const wait = this.blockedUntil - this.deps.clock.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      if (!this.tokens || this.account.auth.kind !== 'oauth2') {
        const pass = this.account.auth.kind === 'password' ? this.account.auth.password : '';
        return await this.deps.logins.run(() => attempt({ pass }), signal);
      }
      const token = await this.tokens.accessToken();
      try {
        return await this.deps.logins.run(() => attempt({ accessToken: token.accessToken }), signal);
      } catch (error) {
        if (token.fresh || classifyImapError(error, this.account).kind !== 'authentication') throw error;
        this.tokens.invalidate();
        const refreshed = await this.tokens.accessToken();
        return await this.deps.logins.run(() => attempt({ accessToken: refreshed.accessToken }), signal);
      }
    } catch (error) {
      const failure = classifyImapError(error, this.account);
      // Set the back-off before the next session in line may try: that is what keeps it to one login.
      if (failure.kind === 'authentication') this.postponeLogins();
      throw failure;
    } finally {
      release();
    }
  }

  /**
   * A session got as far as its mailbox. After a sync failure that proves nothing yet: the back-off and the
   * episode (one account.error) last until a sync completes (synced).
   */
  connected(): void {
    this.deps.metrics?.login('ok');
    this.authenticationFailures = 0;
    if (this.syncFailures === 0) this.recovered();
  }

  /** A session completed a sync: the account works, whatever failed before. */
  synced(): void {
    if (this.syncFailures === 0) return;
    this.syncFailures = 0;
    this.recovered();
  }

  private recovered(): void {
    this.blockedUntil = 0;
    if (this.episode)
      this.deps.logger.info('account recovered', { account: this.account.id, code: this.episode.code });
    this.episode = undefined;
    Object.assign(this.deps.status.account(this.account.id), {
      state: 'ok',
      lastError: null,
      errorCode: null,
      nextLoginAttemptAt: null,
    });
  }

  private postponeLogins(): void {
    this.authenticationFailures += 1;
    const delay = reconnectDelayMs(
      'authentication',
      this.authenticationFailures,
      this.deps.policy,
      this.deps.random,
    );
    this.blockedUntil = this.deps.clock.now() + delay;
  }

  /**
   * Every session of the account waits after a sync failure: the same server answer would break each of them,
   * and an account with many mailboxes must not multiply the logins.
   */
  private postponeAfterSyncFailure(serverAskedMs = 0): void {
    this.syncFailures += 1;
    const delay = reconnectDelayMs('sync', this.syncFailures, this.deps.policy, this.deps.random);
    this.blockedUntil = Math.max(this.blockedUntil, this.deps.clock.now() + Math.max(delay, serverAskedMs));
  }

  /** Counts a failed connection that is not (yet) the account's problem: a reconnect during a short outage. */
  countFailure(error: ImapConnectionError): void {
    this.deps.metrics?.login({ failure: error.code });
  }

  /** Records a failed connection; reports each distinct failure once as an `account.error` event. */
  async failed(error: ImapConnectionError): Promise<void> {
    this.countFailure(error);
    const now = this.deps.clock.now();
    if (error.kind === 'sync') this.postponeAfterSyncFailure(error.retryAfterMs);
    // Refused after login (not by the login itself, which the gate already counted): wait as for a bad password.
    else if (error.kind === 'authentication' && this.blockedUntil <= now) this.postponeLogins();
    const status = this.deps.status.account(this.account.id);
    // The login gate already counted this failure and set the back-off (postponeLogins): counting it again here
    // doubled every wait.
    if (error.kind !== 'network' && this.blockedUntil > now)
      status.nextLoginAttemptAt = new Date(this.blockedUntil).toISOString();
    Object.assign(status, { state: 'error', lastError: error.message, errorCode: error.code });
    if (this.episode?.code === error.code) return;
    this.episode = { code: error.code, startedAt: new Date(now).toISOString() };
    this.deps.logger.error('account connection failed', {
      account: this.account.id,
      code: error.code,
      error: error.message,
    });
    await this.deps.emit(
      accountErrorEvent(
        {
          account: this.account.id,
          code: error.code,
          kind: error.kind,
          message: error.message,
          host: this.account.host,
          port: this.account.port,
          nextLoginAttemptAt: status.nextLoginAttemptAt,
        },
        this.episode.startedAt,
      ),
    );
  }
}
