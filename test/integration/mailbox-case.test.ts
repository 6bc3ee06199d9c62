import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('a mailbox configured under two spellings', () => {
  let scenario: Scenario;

  before(async () => {
    scenario = await startScenario({
      mailboxes: ['Support'],
      account: { mailboxes: ['Support', 'support'] },
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('is watched once, under the server spelling, and its mail announced once', async () => {
    const status = await scenario.bridge.status();
    assert.deepEqual(Object.keys(status.accounts.support?.mailboxes ?? {}), ['Support']);
    await scenario.appender.append('Support', simpleMessage('one mail'));
    await scenario.receiver.waitUntil(
      () => scenario.receiver.ofType('message.received').length >= 1,
      10_000,
      'the message',
    );
    await new Promise((r) => setTimeout(r, 1500));
    const received = scenario.receiver.ofType('message.received');
    assert.equal(received.length, 1);
    assert.equal(received[0]?.body.data.mailbox, 'Support');
  });
});
