import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpTokenEndpoint } from '../../src/adapters/http/token-endpoint.js';
import {
  type AccountConfig,
  DEFAULT_LOGIN_LIMITS,
  DEFAULT_RECONNECT_POLICY,
} from '../../src/config/config.js';
import type { WebhookEvent } from '../../src/domain/events.js';
import { AccountConnector } from '../../src/imap/account-connector.js';
import { ImapConnectionError } from '../../src/imap/connection-failure.js';
import { LoginPacer } from '../../src/imap/login-pacer.js';
import { StatusBoard } from '../../src/imap/status-board.js';
import { accountConfig } from '../support/accounts.js';

const account = accountConfig({ auth: { kind: 'password', password: 'wrong' } });

/** A connector on a clock the test moves, with no jitter, recording the account.error events it emits. */
function connectorFor(config: AccountConfig, clock: { now: number }) {
  const status = new StatusBoard();
  const events: WebhookEvent[] = [];
  const connector = new AccountConnector(config, {
    policy: DEFAULT_RECONNECT_POLICY,
    status,
    clock: { now: () => clock.now },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    logins: new LoginPacer(DEFAULT_LOGIN_LIMITS, { now: () => clock.now }),
    emit: async (event) => void events.push(event),
    random: () => 0.5, // no jitter
    tokenEndpoint: new HttpTokenEndpoint(),
  });
  return { connector, status, events };
}

describe('AccountConnector after rejected logins', () => {
  it('waits 5, 10, 20, 40 and then 60 minutes: each failure counted once', async () => {
    const clock = { now: 0 };
    const { connector, status, events } = connectorFor(account, clock);
    const rejected = Object.assign(new Error('Authentication failed'), { authenticationFailed: true });
    const waits: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const failure = await connector
        .login(async () => Promise.reject(rejected), new AbortController().signal)
        .catch((error: unknown) => error);
      // The session reports the failure, as MailboxSession does.
      await connector.failed(failure as Parameters<typeof connector.failed>[0]);
      const next = Date.parse(status.account('support').nextLoginAttemptAt ?? '');
      waits.push((next - clock.now) / 60_000);
      clock.now = next; // the next login happens when the gate opens
    }
    assert.deepEqual(waits, [5, 10, 20, 40, 60]);
    assert.equal(events.length, 1, 'one account.error for the whole episode');
  });
});

describe('AccountConnector after sync failures', () => {
  it('holds every session of the account back, as long as the server asked if longer, until a sync completes', async () => {
    const clock = { now: 0 };
    const { connector, status, events } = connectorFor(accountConfig(), clock);
    const protocol = new ImapConnectionError('sync', 'SERVER_PROTOCOL', 'no UIDVALIDITY');
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      connector.connected(); // the login worked, then the sync failed
      await connector.failed(protocol);
      const next = Date.parse(status.account('support').nextLoginAttemptAt ?? '');
      waits.push((next - clock.now) / 1000);
      clock.now = next;
    }
    assert.deepEqual(waits, [30, 60, 120], 'a login worked each time, yet the wait grows');
    assert.equal(events.length, 1, 'one account.error');
    await connector.failed(
      new ImapConnectionError('sync', 'THROTTLED', 'throttled', { retryAfterMs: 600_000 }),
    );
    assert.equal((Date.parse(status.account('support').nextLoginAttemptAt ?? '') - clock.now) / 1000, 600);
    connector.synced();
    const started = Date.now();
    await connector.login(async () => 'in', new AbortController().signal);
    assert.ok(Date.now() - started < 1000, 'a completed sync lifts the wait');
  });
});
