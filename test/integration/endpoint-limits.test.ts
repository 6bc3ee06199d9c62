import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { windowOf } from '../../src/domain/rate-window.js';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { countBy, type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

const MESSAGES = 12;

describe('per-endpoint limits: a slow receiver cannot starve the others', () => {
  const secret = newWebhookSecret();
  const slow = new WebhookReceiver(secret);
  const limited = new WebhookReceiver(secret);
  let scenario: Scenario;

  before(async () => {
    slow.responseDelayMs = 1_500;
    scenario = await startScenario({
      secret,
      config: { delivery: { concurrency: 4, maxInFlightPerEndpoint: 2 } },
      extraSubscriptions: [
        { id: 'slow', url: await slow.listen(), events: ['message.received'] },
        { id: 'limited', url: await limited.listen(), events: ['message.received'], rateLimitPerSecond: 4 },
      ],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
    for (let i = 0; i < MESSAGES; i++) await scenario.appender.append('INBOX', simpleMessage(`burst ${i}`));
  });

  after(async () => {
    await scenario?.dispose();
    await Promise.all([slow.close(), limited.close()]);
  });

  it('delivers every message to the fast endpoint while the slow one still works through its share', async () => {
    const { receiver } = scenario;
    await receiver.waitUntil(
      () => receiver.accepted.length === MESSAGES,
      20_000,
      'every message at helpdesk',
    );
    assert.ok(
      slow.accepted.length < MESSAGES,
      `the slow endpoint had ${slow.accepted.length} of ${MESSAGES} when the fast one had all`,
    );
    await slow.waitUntil(
      () => slow.accepted.length === MESSAGES,
      30_000,
      'every message at the slow endpoint',
    );
    assert.equal(slow.maxInFlight, 2, 'never more requests at once than maxInFlightPerEndpoint');
  });

  it('keeps a rate-limited endpoint within its requests per second, and still delivers everything', async () => {
    await limited.waitUntil(
      () => limited.accepted.length === MESSAGES,
      30_000,
      'every message, rate-limited',
    );
    assert.equal(
      new Set(limited.accepted.map((w) => w.id)).size,
      MESSAGES,
      'no duplicates from holding back',
    );
    const attempts = JSON.parse(
      (await scenario.bridge.cli('attempts', 'limited', '--json', '--limit', '100')).stdout,
    ) as { attempt: number; attemptedAt: string }[];
    assert.equal(attempts.length, MESSAGES);
    // The limit is on requests sent per second, so they are counted when sent: arrival times at the receiver
    // add network and scheduling delay, which can carry a request sent at the end of one second into the next.
    const perSecond = countBy(attempts, (a) => String(windowOf(Date.parse(a.attemptedAt))));
    assert.ok(
      [...perSecond.values()].every((n) => n <= 4),
      `requests sent per second: ${[...perSecond.values()].join(', ')}`,
    );
    assert.ok(perSecond.size >= 3, `12 requests at 4 per second span at least 3 seconds (${perSecond.size})`);
    assert.ok(
      attempts.every((a) => a.attempt === 1),
      'being held back is not an attempt',
    );
  });
});
