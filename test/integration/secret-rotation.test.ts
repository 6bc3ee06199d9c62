import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('rotating a webhook secret', () => {
  const oldSecret = newWebhookSecret();
  const newSecret = newWebhookSecret();
  const stillOnOld = new WebhookReceiver(oldSecret);
  let scenario: Scenario;

  before(async () => {
    scenario = await startScenario({
      secret: newSecret,
      extraSubscriptions: [
        { id: 'rotating', url: await stillOnOld.listen(), secret: newSecret, previousSecret: oldSecret },
      ],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
    await stillOnOld.close();
  });

  it('signs with both secrets, so a receiver on either one verifies', async () => {
    await scenario.appender.append('INBOX', simpleMessage('during rotation'));
    await stillOnOld.waitUntil(
      () => stillOnOld.accepted.length === 1,
      10_000,
      'delivery to the old-secret receiver',
    );
    const [delivery] = stillOnOld.accepted;
    assert.equal(stillOnOld.invalidSignatures, 0, 'verified with the old secret');
    assert.equal(delivery?.raw.headers['webhook-signature']?.split(' ').length, 2);
    assert.ok(
      new Webhook(newSecret).verify(delivery?.raw.body ?? '', delivery?.raw.headers ?? {}),
      'and with the new one',
    );
    const other = newWebhookSecret();
    assert.throws(() => new Webhook(other).verify(delivery?.raw.body ?? '', delivery?.raw.headers ?? {}));
  });
});
