import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario } from '../support/scenario.js';

const MAILBOXES = ['INBOX', 'Billing', 'Sales', 'Support'];

describe('more watched mailboxes than the account may hold connections for', () => {
  let scenario: Scenario;
  const states = async () =>
    Object.fromEntries(
      Object.entries((await scenario.bridge.status()).accounts.support?.mailboxes ?? {}).map(([m, s]) => [
        m,
        s.state,
      ]),
    );

  before(async () => {
    // connectionLimit 2: INBOX keeps an IDLE connection, the other three share the second one, polled.
    scenario = await startScenario({ mailboxes: MAILBOXES, account: { connectionLimit: 2 } });
    await scenario.bridge.start();
    for (let i = 0; i < 100; i++) {
      const s = await states();
      if (s.INBOX === 'idle' && MAILBOXES.slice(1).every((m) => s[m] === 'polling')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('keeps IDLE within the limit, polls the rest on one connection, and says which', async () => {
    assert.deepEqual(await states(), {
      INBOX: 'idle',
      Billing: 'polling',
      Sales: 'polling',
      Support: 'polling',
    });
    assert.match(
      scenario.bridge.log(),
      /more mailboxes than the account may hold connections for: polling some.*"polled":\["Billing","Sales","Support"\]/,
    );
  });

  it('delivers mail, flag changes and deletions in the polled mailboxes', async () => {
    const { appender, receiver } = scenario;
    await appender.append('Sales', simpleMessage('polled mail'));
    await appender.append('INBOX', simpleMessage('idle mail'));
    await receiver.waitUntil(() => receiver.ofType('message.received').length === 2, 10_000, 'both messages');
    const polled = receiver.ofType('message.received').find((w) => w.body.data.mailbox === 'Sales')
      ?.body.data;
    assert.equal(polled?.subject, 'polled mail');

    const lock = await appender.getMailboxLock('Sales');
    try {
      await appender.messageFlagsAdd(String(polled?.uid), ['\\Seen'], { uid: true });
      await receiver.waitUntil(() => receiver.ofType('message.flags_changed').length === 1, 10_000, 'flags');
      await appender.messageDelete(String(polled?.uid), { uid: true });
    } finally {
      lock.release();
    }
    await receiver.waitUntil(() => receiver.ofType('message.deleted').length === 1, 10_000, 'deletion');
    assert.deepEqual(
      [
        receiver.ofType('message.deleted')[0]?.body.data.mailbox,
        receiver.ofType('message.deleted')[0]?.body.data.uid,
      ],
      ['Sales', polled?.uid],
    );
    assert.deepEqual(receiver.schemaViolations, []);
  });
});

describe('polled mailboxes on a server without QRESYNC', () => {
  let scenario: Scenario;
  before(async () => {
    // connectionLimit 1: every mailbox is polled on the one connection.
    scenario = await startScenario({
      mailboxes: ['INBOX', 'Sales'],
      account: { connectionLimit: 1 },
      withoutCapabilities: ['QRESYNC'],
    });
    await scenario.bridge.start();
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('finds deletions by comparing UIDs at every poll', async () => {
    const { appender, receiver } = scenario;
    await new Promise((r) => setTimeout(r, 2000)); // the first poll sets the baselines
    await appender.append('Sales', simpleMessage('to be deleted'));
    await receiver.waitUntil(() => receiver.ofType('message.received').length === 1, 10_000, 'the message');
    const uid = receiver.ofType('message.received')[0]?.body.data.uid as number;
    const lock = await appender.getMailboxLock('Sales');
    try {
      await appender.messageDelete(String(uid), { uid: true });
    } finally {
      lock.release();
    }
    await receiver.waitUntil(() => receiver.ofType('message.deleted').length === 1, 10_000, 'the deletion');
    assert.deepEqual(
      [
        receiver.ofType('message.deleted')[0]?.body.data.uid,
        receiver.ofType('message.deleted')[0]?.body.data.detectedBy,
      ],
      [uid, 'uid-comparison'],
    );
  });
});
