import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

async function deleteBySubject(scenario: Scenario, subject: string): Promise<number> {
  const uid = scenario.receiver.ofType('message.received').find((w) => w.body.data.subject === subject)?.body
    .data.uid as number;
  const lock = await scenario.appender.getMailboxLock('INBOX');
  try {
    await scenario.appender.messageDelete(String(uid), { uid: true });
  } finally {
    lock.release();
  }
  return uid;
}

describe('a server without QRESYNC (like Gmail): deletions found by comparing UIDs', () => {
  let scenario: Scenario;
  before(async () => {
    scenario = await startScenario({ withoutCapabilities: ['QRESYNC'] });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('announces a live expunge and one made while stopped, each once, and flag changes still', async () => {
    const { appender, receiver, bridge } = scenario;
    for (const subject of ['one', 'two', 'three']) await appender.append('INBOX', simpleMessage(subject));
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length === 3,
      10_000,
      'three messages',
    );

    const liveUid = await deleteBySubject(scenario, 'one');
    await receiver.waitUntil(() => receiver.ofType('message.deleted').length === 1, 10_000, 'live deletion');
    assert.deepEqual(
      [
        receiver.ofType('message.deleted')[0]?.body.data.uid,
        receiver.ofType('message.deleted')[0]?.body.data.detectedBy,
      ],
      [liveUid, 'uid-comparison'],
    );

    await waitForIdle(bridge);
    assert.equal(await bridge.kill('SIGTERM'), 0);
    const awayUid = await deleteBySubject(scenario, 'two');
    await bridge.start();
    await receiver.waitUntil(
      () => receiver.ofType('message.deleted').length === 2,
      15_000,
      'deletion while away',
    );
    assert.equal(receiver.ofType('message.deleted')[1]?.body.data.uid, awayUid);

    const lock = await appender.getMailboxLock('INBOX');
    try {
      const uid = receiver.ofType('message.received')[2]?.body.data.uid as number;
      await appender.messageFlagsAdd(String(uid), ['\\Flagged'], { uid: true });
    } finally {
      lock.release();
    }
    await receiver.waitUntil(() => receiver.ofType('message.flags_changed').length === 1, 10_000, 'flags');
    await new Promise((r) => setTimeout(r, 1500)); // several checks pass: nothing is reported again
    assert.equal(receiver.ofType('message.deleted').length, 2);
    assert.equal(new Set(receiver.accepted.map((w) => w.id)).size, receiver.accepted.length, 'none twice');
    assert.deepEqual(receiver.schemaViolations, []);
  });
});

describe('a server without IDLE', () => {
  let scenario: Scenario;
  before(async () => {
    scenario = await startScenario({ withoutCapabilities: ['IDLE'] });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('still delivers new mail, found by the periodic mailbox check (imap.checkIntervalSeconds)', async () => {
    const { appender, receiver } = scenario;
    await appender.append('INBOX', simpleMessage('no idle here'));
    await receiver.waitUntil(() => receiver.accepted.length === 1, 10_000, 'the polled message');
    assert.equal(receiver.accepted[0]?.body.data.subject, 'no idle here');
  });
});

describe('a server without CONDSTORE or QRESYNC', () => {
  let scenario: Scenario;
  before(async () => {
    scenario = await startScenario({ withoutCapabilities: ['CONDSTORE', 'QRESYNC'] });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('delivers new mail (without MODSEQ) and finds deletions by comparing UIDs', async () => {
    const { appender, receiver } = scenario;
    await appender.append('INBOX', simpleMessage('plain server'));
    await receiver.waitUntil(() => receiver.ofType('message.received').length === 1, 10_000, 'the message');
    assert.equal(receiver.ofType('message.received')[0]?.body.data.modseq, null);
    const uid = await deleteBySubject(scenario, 'plain server');
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
