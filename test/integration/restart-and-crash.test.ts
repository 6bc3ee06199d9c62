import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { countBy, type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('catching up after the bridge was away', () => {
  let scenario: Scenario;

  before(async () => {
    scenario = await startScenario();
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('delivers exactly the 50 messages that arrived while it was stopped, none twice', async () => {
    const { bridge, appender, receiver } = scenario;
    await bridge.start();
    await waitForIdle(bridge);
    await appender.append('INBOX', simpleMessage('before-stop'));
    await receiver.waitUntil(() => receiver.accepted.length === 1, 10_000, 'first message');

    assert.equal(await bridge.kill('SIGTERM'), 0, 'graceful shutdown exits 0');
    for (let i = 0; i < 50; i++) await appender.append('INBOX', simpleMessage(`while-away-${i}`));
    await bridge.start();
    await receiver.waitUntil(() => receiver.accepted.length >= 51, 30_000, '50 caught-up messages');
    await waitForIdle(bridge);
    // Give a wrongly re-announced message time to show up before counting.
    await new Promise((r) => setTimeout(r, 1000));

    const subjects = receiver.ofType('message.received').map((w) => w.body.data.subject as string);
    assert.equal(subjects.length, 51);
    assert.deepEqual(
      new Set(subjects),
      new Set(['before-stop', ...Array.from({ length: 50 }, (_, i) => `while-away-${i}`)]),
    );
    assert.equal(receiver.invalidSignatures, 0);
    await bridge.kill('SIGTERM');
  });

  it('loses nothing when SIGKILLed in the middle of a 500-message burst; duplicates keep their webhook-id', async () => {
    const { bridge, appender, receiver } = scenario;
    receiver.accepted.length = 0;
    await bridge.start();
    await waitForIdle(bridge);

    const subjects = Array.from({ length: 500 }, (_, i) => `burst-${i}`);
    const appending = (async () => {
      for (const subject of subjects) await appender.append('INBOX', simpleMessage(subject));
    })();
    await receiver.waitUntil(() => receiver.accepted.length >= 100, 30_000, '100 burst messages');
    assert.equal(await bridge.kill('SIGKILL'), null, 'killed, not exited');
    const deliveredBeforeKill = receiver.accepted.length;
    await appending;
    await bridge.start();
    await receiver.waitUntil(
      () => new Set(receiver.accepted.map((w) => w.body.data.subject)).size >= 500,
      60_000,
      'all 500 burst messages',
    );
    await waitForIdle(bridge);
    await new Promise((r) => setTimeout(r, 1000));

    const received = receiver.ofType('message.received');
    const idsBySubject = new Map<string, Set<string>>();
    for (const w of received) {
      const ids = idsBySubject.get(w.body.data.subject) ?? new Set();
      ids.add(w.id);
      idsBySubject.set(w.body.data.subject, ids);
    }
    const missing = subjects.filter((s) => !idsBySubject.has(s));
    assert.deepEqual(missing, [], 'every message delivered');
    for (const [subject, ids] of idsBySubject)
      assert.equal(ids.size, 1, `${subject} always has one webhook-id`);
    const duplicates = [...countBy(received, (w) => w.id).values()].filter((n) => n > 1).length;
    // Reported, not asserted on: at-least-once allows a few, the same id lets receivers drop them.
    console.log(
      `# SIGKILL after ${deliveredBeforeKill} deliveries: ${received.length} webhooks, ${duplicates} duplicated ids`,
    );
    assert.ok(deliveredBeforeKill < 500, 'the kill happened mid-burst');
    assert.equal(receiver.invalidSignatures, 0);
  });
});
