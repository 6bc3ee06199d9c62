import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LOGIN_LIMITS, DEFAULT_RECONNECT_POLICY } from '../../src/config/config.js';
import type { WebhookEvent } from '../../src/domain/events.js';
import { AccountConnector } from '../../src/imap/account-connector.js';
import { LoginPacer } from '../../src/imap/login-pacer.js';
import { StatusBoard } from '../../src/imap/status-board.js';
import { accountConfig } from '../support/accounts.js';

const account = accountConfig({ auth: { kind: 'password', password: 'wrong' } });

describe('AccountConnector after rejected logins', () => {
  it('waits 5, 10, 20, 40 and then 60 minutes: each failure counted once', async () => {
    let now = 0;
    const status = new StatusBoard();
    const events: WebhookEvent[] = [];
    const connector = new AccountConnector(account, {
      policy: DEFAULT_RECONNECT_POLICY,
      status,
      clock: { now: () => now },
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      logins: new LoginPacer(DEFAULT_LOGIN_LIMITS, { now: () => now }),
      emit: async (event) => void events.push(event),
      random: () => 0.5, // no jitter
    });
    const rejected = Object.assign(new Error('Authentication failed'), { authenticationFailed: true });
    const waits: number[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const failure = await connector
        .login(async () => Promise.reject(rejected), new AbortController().signal)
        .catch((error: unknown) => error);
      // The session reports the failure, as MailboxSession does.
      await connector.failed(failure as Parameters<typeof connector.failed>[0]);
      const next = Date.parse(status.account('support').nextLoginAttemptAt ?? '');
      waits.push((next - now) / 60_000);
      now = next; // the next login happens when the gate opens
    }
    assert.deepEqual(waits, [5, 10, 20, 40, 60]);
    assert.equal(events.length, 1, 'one account.error for the whole episode');
  });
});
