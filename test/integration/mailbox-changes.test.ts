import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import type { ReceivedWebhook } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('flag changes, deletions and moves (CONDSTORE and QRESYNC on Dovecot)', () => {
  let scenario: Scenario;
  const ofType = (type: string) => scenario.receiver.ofType(type);
  const bySubject = (subject: string) =>
    ofType('message.received').find((w) => w.body.data.subject === subject) as ReceivedWebhook;

  before(async () => {
    scenario = await startScenario({ mailboxes: ['INBOX', 'Archive'] });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('announces flag changes made on another device, live, with the new flag set and MODSEQ', async () => {
    const { appender, receiver } = scenario;
    await appender.append('INBOX', simpleMessage('to be read'));
    await receiver.waitUntil(() => ofType('message.received').length === 1, 10_000, 'the message');
    const { uid } = bySubject('to be read').body.data;
    const lock = await appender.getMailboxLock('INBOX');
    try {
      await appender.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
      await receiver.waitUntil(() => ofType('message.flags_changed').length === 1, 10_000, 'seen');
      await appender.messageFlagsAdd(String(uid), ['\\Flagged', 'Urgent'], { uid: true });
      await receiver.waitUntil(() => ofType('message.flags_changed').length === 2, 10_000, 'flagged');
    } finally {
      lock.release();
    }
    const [seen, flagged] = ofType('message.flags_changed').map((w) => w.body.data);
    assert.deepEqual([seen?.uid, seen?.mailbox, seen?.flags], [uid, 'INBOX', ['\\Seen']]);
    assert.deepEqual([...(flagged?.flags ?? [])].sort(), ['Urgent', '\\Flagged', '\\Seen'].sort());
    assert.ok(BigInt(flagged?.modseq) > BigInt(seen?.modseq), 'MODSEQ grows with each change');
    assert.deepEqual(receiver.schemaViolations, []);
  });

  it('announces an expunged message as deleted, by UID', async () => {
    const { appender, receiver } = scenario;
    const { uid } = bySubject('to be read').body.data;
    const lock = await appender.getMailboxLock('INBOX');
    try {
      await appender.messageDelete(String(uid), { uid: true });
    } finally {
      lock.release();
    }
    await receiver.waitUntil(() => ofType('message.deleted').length === 1, 10_000, 'deleted');
    const deleted = ofType('message.deleted')[0]?.body.data;
    assert.deepEqual([deleted?.mailbox, deleted?.uid, deleted?.detectedBy], ['INBOX', uid, 'vanished']);
  });

  it('shows a move between watched folders as deleted in one and received in the other, same Message-ID', async () => {
    const { appender, receiver } = scenario;
    await appender.append('INBOX', simpleMessage('to be archived'));
    await receiver.waitUntil(() => bySubject('to be archived') !== undefined, 10_000, 'the message');
    const original = bySubject('to be archived').body.data;
    const lock = await appender.getMailboxLock('INBOX');
    try {
      await appender.messageMove(String(original.uid), 'Archive', { uid: true });
    } finally {
      lock.release();
    }
    await receiver.waitUntil(
      () => ofType('message.deleted').length === 2 && ofType('message.received').length === 3,
      10_000,
      'the move',
    );
    const moved = ofType('message.received').find((w) => w.body.data.mailbox === 'Archive')?.body.data;
    const removed = ofType('message.deleted')[1]?.body.data;
    assert.deepEqual([removed?.mailbox, removed?.uid], ['INBOX', original.uid]);
    assert.equal(moved?.messageId, original.messageId, 'the receiver links them by Message-ID');
  });

  it('catches up on flag changes and deletions made while the bridge was stopped, once each', async () => {
    const { appender, receiver, bridge } = scenario;
    for (const subject of ['keep', 'flag while away', 'delete while away'])
      await appender.append('INBOX', simpleMessage(subject));
    await receiver.waitUntil(() => ofType('message.received').length === 6, 10_000, 'three more');
    await waitForIdle(bridge);
    const before = receiver.accepted.length;
    assert.equal(await bridge.kill('SIGTERM'), 0);

    const lock = await appender.getMailboxLock('INBOX');
    try {
      await appender.messageFlagsAdd(String(bySubject('flag while away').body.data.uid), ['\\Answered'], {
        uid: true,
      });
      await appender.messageDelete(String(bySubject('delete while away').body.data.uid), { uid: true });
    } finally {
      lock.release();
    }
    await appender.append('INBOX', simpleMessage('new while away'));
    await bridge.start();
    await receiver.waitUntil(() => receiver.accepted.length >= before + 3, 15_000, 'the catch-up');
    await waitForIdle(bridge);
    await new Promise((r) => setTimeout(r, 1000));

    const caughtUp = receiver.accepted.slice(before).map((w) => [w.type, w.body.data.uid]);
    assert.deepEqual(
      caughtUp.sort(),
      [
        ['message.deleted', bySubject('delete while away').body.data.uid],
        ['message.flags_changed', bySubject('flag while away').body.data.uid],
        ['message.received', bySubject('new while away').body.data.uid],
      ].sort(),
    );
    assert.deepEqual(ofType('message.flags_changed').at(-1)?.body.data.flags, ['\\Answered']);
    assert.equal(new Set(receiver.accepted.map((w) => w.id)).size, receiver.accepted.length, 'none twice');
    assert.deepEqual(receiver.schemaViolations, []);
  });
});
