import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { PASSWORD, type Scenario, startScenario, USER, waitForIdle } from '../support/scenario.js';

describe('the IMAP server restarts under a running bridge', () => {
  let scenario: Scenario;
  const subjects = () =>
    scenario.receiver.ofType('message.received').map((w) => w.body.data.subject as string);

  before(async () => {
    scenario = await startScenario();
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('reconnects on its own and catches up on mail that arrived before it was back', async () => {
    const { dovecot, bridge, receiver } = scenario;
    await scenario.appender.append('INBOX', simpleMessage('before-restart'));
    await receiver.waitUntil(() => subjects().length === 1, 10_000, 'first message');

    await dovecot.halt();
    await waitForMailboxState(bridge, (state) => state !== 'idle');
    // Down long enough for reconnects to fail (1 s back-off, doubling), well within the 2-minute grace.
    await new Promise((r) => setTimeout(r, 4000));
    await dovecot.start();
    // Mail lands at once, most likely before the bridge's back-off has run out.
    const appender = await connectAppender(dovecot, USER, PASSWORD);
    for (let i = 0; i < 3; i++) await appender.append('INBOX', simpleMessage(`after-restart-${i}`));
    await receiver.waitUntil(() => subjects().length === 4, 20_000, 'messages after the restart');
    await waitForIdle(bridge);
    await appender.append('INBOX', simpleMessage('live-again'));
    await receiver.waitUntil(
      () => subjects().includes('live-again'),
      10_000,
      'live delivery after reconnect',
    );
    await appender.logout();

    assert.deepEqual(subjects().sort(), [
      'after-restart-0',
      'after-restart-1',
      'after-restart-2',
      'before-restart',
      'live-again',
    ]);
    assert.equal(new Set(receiver.accepted.map((w) => w.id)).size, receiver.accepted.length, 'no duplicates');
    assert.deepEqual(receiver.ofType('account.error'), [], 'a restart of seconds is no account error');
    assert.match(bridge.log(), /reconnect failed; not an account error yet/, 'reconnects failed meanwhile');
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    assert.match(
      metrics,
      /^idlehook_logins_total\{outcome="failed",cause="ECONNREFUSED"\} [1-9]/m,
      'the failed reconnects are still counted',
    );
    const status = await bridge.status();
    assert.equal(status.accounts.support?.state, 'ok', 'the account recovered');
  });
});

describe('the IMAP server stays down past reconnect.outageGraceSeconds', () => {
  let scenario: Scenario;

  before(async () => {
    scenario = await startScenario({ config: { reconnect: { outageGraceSeconds: 3 } } });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('reports the server unreachable once, after the grace, and recovers when it is back', async () => {
    const { dovecot, bridge, receiver } = scenario;
    const haltedAt = Date.now();
    await dovecot.halt();
    await receiver.waitUntil(() => receiver.ofType('account.error').length > 0, 20_000, 'account.error');
    const [error] = receiver.ofType('account.error');
    assert.equal(error?.body.data.kind, 'network');
    assert.equal(error?.body.data.code, 'ECONNREFUSED');
    assert.ok(
      Date.parse(String(error?.body.timestamp)) - haltedAt >= 3000,
      'not reported before the grace had passed',
    );
    await dovecot.start();
    await waitForIdle(bridge);
    assert.equal(receiver.ofType('account.error').length, 1, 'one account.error for one outage');
    assert.equal((await bridge.status()).accounts.support?.state, 'ok', 'the account recovered');
  });
});

async function waitForMailboxState(
  bridge: Scenario['bridge'],
  accept: (state: string) => boolean,
): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const state = (await bridge.status()).accounts.support?.mailboxes.INBOX?.state;
    if (state && accept(state)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`mailbox never left idle:\n${bridge.log()}`);
}
