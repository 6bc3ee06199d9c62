import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HttpTokenEndpoint } from '../../src/adapters/http/token-endpoint.js';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import {
  type AccountConfig,
  DEFAULT_LOGIN_LIMITS,
  DEFAULT_RECONNECT_POLICY,
} from '../../src/config/config.js';
import { ByteBudget } from '../../src/domain/byte-budget.js';
import { LoginPacer } from '../../src/imap/login-pacer.js';
import { StatusBoard } from '../../src/imap/status-board.js';
import { Watcher, type WatcherDependencies } from '../../src/imap/watcher.js';
import { ownsEverything } from '../../src/ownership/owns-everything.js';
import type { Logger } from '../../src/ports/services.js';
import { accountConfig } from '../support/accounts.js';

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** An account nobody answers for: its session keeps reconnecting, which is all this test needs of it. */
const unreachable = accountConfig({ id: 'late', host: '127.0.0.1', port: 1, security: 'none' });

/** A watcher on local stores in a temporary folder, quiet, with what the test varies. */
function watcherOn(
  clock: { now(): number },
  parts: Pick<WatcherDependencies, 'accounts' | 'ownership'> &
    Partial<Pick<WatcherDependencies, 'mailboxSessions'>> & { status?: StatusBoard },
) {
  const stores = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-reconcile-')), clock);
  const watcher = new Watcher({
    status: new StatusBoard(),
    ...parts,
    policy: DEFAULT_RECONNECT_POLICY,
    checkIntervalMs: 60_000,
    logins: new LoginPacer(DEFAULT_LOGIN_LIMITS, clock),
    cursors: stores.state,
    sourceBudget: new ByteBudget(1024 * 1024),
    ingest: stores.ingest,
    blobs: stores.blobs,
    clock,
    logger: quiet,
    tokenEndpoint: new HttpTokenEndpoint(),
  });
  return { stores, watcher };
}

describe('Watcher reconciling', () => {
  it('recovers from a failed account listing: later accounts are still picked up, and health follows', async () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    let listing: () => AccountConfig[] = () => {
      throw new Error('ProvisionedThroughputExceededException: throttled');
    };
    const { stores, watcher } = watcherOn(clock, {
      accounts: { list: async () => listing() },
      ownership: ownsEverything,
    });
    try {
      await assert.rejects(watcher.reconcile(), /throttled/);
      assert.deepEqual(watcher.reconcileHealth().healthy, true, 'one failure is not yet unhealthy');
      now += 6 * 60_000;
      await assert.rejects(watcher.reconcile(), /throttled/);
      const failing = watcher.reconcileHealth();
      assert.equal(failing.healthy, false, 'failing for 6 minutes is unhealthy');
      assert.equal(failing.failingSince, new Date(1_000_000).toISOString());
      assert.match(failing.lastError ?? '', /throttled/);

      listing = () => [unreachable];
      await watcher.reconcile();
      assert.equal(watcher.mailboxCount, 1, 'the account added after the failures is watched');
      assert.deepEqual(watcher.reconcileHealth(), { healthy: true, failingSince: null, lastError: null });
    } finally {
      await watcher.stop();
      stores.close();
    }
  });

  it('skips planning on a periodic reconcile whose listing holds the same accounts, and plans on any change', async () => {
    const clock = { now: () => Date.now() };
    let planned = 0;
    // Planning reads each account's mailboxes; the identity check before it reads nothing.
    const counted = (account: AccountConfig) =>
      new Proxy(account, {
        get: (target, property, receiver) => {
          if (property === 'mailboxes') planned += 1;
          return Reflect.get(target, property, receiver);
        },
      });
    let listing = [counted(unreachable)];
    const started: string[] = [];
    const { stores, watcher } = watcherOn(clock, {
      accounts: { list: async () => listing },
      ownership: ownsEverything,
      mailboxSessions: (account, mailbox) => ({
        run: (signal) => {
          started.push(`${account.id}/${mailbox}`);
          return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        },
      }),
    });
    try {
      await watcher.reconcile();
      assert.ok(planned > 0, 'the first reconcile plans');
      assert.deepEqual(started, ['late/INBOX']);
      planned = 0;
      await watcher.reconcile({ onlyIfChanged: true });
      assert.equal(planned, 0, 'the same account objects: nothing planned');
      await watcher.reconcile();
      assert.ok(planned > 0, 'a reconcile asked for (a lease change, a folder change) always plans');
      planned = 0;
      listing = [counted({ ...unreachable, mailboxes: ['INBOX', 'Archive'] })];
      await watcher.reconcile({ onlyIfChanged: true });
      assert.ok(planned > 0, 'a changed account is planned for');
      assert.deepEqual(
        started,
        ['late/INBOX', 'late/INBOX', 'late/Archive'],
        'its sessions restarted with the new settings',
      );
    } finally {
      await watcher.stop();
      stores.close();
    }
  });

  it('after closing the sessions of a lapsed lease, a periodic reconcile with the same listing watches again once the lease is back', async () => {
    const clock = { now: () => Date.now() };
    const listing = [unreachable];
    let leaseHeld = true;
    const started: string[] = [];
    const { stores, watcher } = watcherOn(clock, {
      accounts: { list: async () => listing },
      ownership: { owned: async (ids) => (leaseHeld ? ids : []) },
      mailboxSessions: (account, mailbox) => ({
        run: (signal) => {
          started.push(`${account.id}/${mailbox}`);
          return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
        },
      }),
    });
    try {
      await watcher.reconcile();
      assert.equal(watcher.mailboxCount, 1);
      // The table went silent: the lease lapsed in this task's own view, and every listing since has failed.
      leaseHeld = false;
      await watcher.closeUnowned();
      assert.equal(watcher.mailboxCount, 0, 'the lapsed lease closed the session');
      // The table answers again; the lease is renewed as it was (no lease change to report), the listing as before.
      leaseHeld = true;
      await watcher.reconcile({ onlyIfChanged: true });
      assert.equal(watcher.mailboxCount, 1, 'the mailbox is watched again');
      assert.deepEqual(started, ['late/INBOX', 'late/INBOX']);
    } finally {
      await watcher.stop();
      stores.close();
    }
  });

  for (const leased of [true, false])
    it(`reports a failing account as account.error only while it holds the account's lease (lease held: ${leased})`, async () => {
      const clock = { now: () => Date.now() };
      const status = new StatusBoard();
      const { stores, watcher } = watcherOn(clock, {
        accounts: { list: async () => [unreachable] },
        // The zombie's view: the account was owned at the reconcile, and the lease has lapsed since.
        ownership: { owned: async (ids) => ids, lease: () => (leased ? { epoch: 1 } : undefined) },
        status,
      });
      try {
        await watcher.reconcile();
        const deadline = Date.now() + 10_000;
        while (status.snapshot().late?.mailboxes.INBOX?.state !== 'error') {
          assert.ok(Date.now() < deadline, 'the connection never failed');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await new Promise((resolve) => setTimeout(resolve, 100)); // the report is queued after the status
        const queued = (await stores.ingest.receive(10)).map(
          (m) => m.body.kind === 'event' && m.body.event.type,
        );
        assert.deepEqual(queued, leased ? ['account.error'] : []);
      } finally {
        await watcher.stop();
        stores.close();
      }
    });
});
