import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DeliveryAttempt } from '../../src/ports/pipeline.js';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('endpoint health: attempt log, disabling after a failing period, endpoint.disabled', () => {
  const secret = newWebhookSecret();
  const broken = new WebhookReceiver(secret);
  let scenario: Scenario;
  let brokenUrl: string;

  before(async () => {
    broken.respond = () => 503;
    // Webhook URLs often carry a token: it must not reach the other subscriptions.
    brokenUrl = `${await broken.listen()}?token=s3cr3t-token`;
    scenario = await startScenario({
      secret,
      // The period is 2 s here so a test can watch it pass; the default is 5 days.
      config: {
        delivery: {
          retryScheduleSeconds: Array(20).fill(0.3),
          overloadFloorSeconds: 0.3,
          disableAfterFailingSeconds: 2,
        },
      },
      extraSubscriptions: [{ id: 'broken', url: brokenUrl, events: ['message.received'] }],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });

  after(async () => {
    await scenario?.dispose();
    await broken.close();
  });

  it('disables an endpoint that failed every attempt for the whole period, and tells the others', async () => {
    const { appender, receiver, bridge } = scenario;
    await appender.append('INBOX', simpleMessage('never arrives at broken'));
    await receiver.waitUntil(
      () => receiver.ofType('endpoint.disabled').length === 1,
      15_000,
      'endpoint.disabled',
    );
    const announcement = receiver.ofType('endpoint.disabled')[0]?.body.data;
    assert.equal(announcement?.subscriptionId, 'broken');
    assert.equal(announcement?.host, new URL(brokenUrl).host);
    assert.doesNotMatch(JSON.stringify(announcement), /s3cr3t-token/);
    assert.match(announcement?.reason, /^every attempt failed since /);
    const failingFor = Date.parse(announcement?.disabledAt) - Date.parse(announcement?.failingSince);
    assert.ok(failingFor >= 2_000, `disabled after ${failingFor} ms of failing, not before the period`);
    assert.ok(broken.attempts.length >= 3 && broken.attempts.every((a) => a.status === 503));
    assert.deepEqual(receiver.schemaViolations, []);

    const listed = await bridge.cli('subscriptions');
    assert.match(listed.stdout, /^broken .* disabled: every attempt failed since/m);
    const attemptsBefore = broken.attempts.length;
    await appender.append('INBOX', simpleMessage('while disabled'));
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length === 2,
      10_000,
      'second message',
    );
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(broken.attempts.length, attemptsBefore, 'a disabled endpoint gets no requests');
    const letters = JSON.parse((await bridge.cli('deliveries', '--failed', '--json')).stdout) as {
      subscriptionId: string;
    }[];
    assert.deepEqual(
      letters.map((l) => l.subscriptionId),
      ['broken', 'broken'],
      'both events wait in the dead-letter store',
    );
  });

  it('logs every attempt per endpoint: status, response excerpt, duration', async () => {
    const { bridge } = scenario;
    const result = await bridge.cli('attempts', 'broken', '--json', '--limit', '100');
    assert.equal(result.code, 0, result.stderr);
    const logged = JSON.parse(result.stdout) as (Omit<DeliveryAttempt, 'attemptedAt'> & {
      attemptedAt: string;
    })[];
    assert.ok(
      logged.every((a) => new Date(a.attemptedAt).toISOString() === a.attemptedAt),
      'times are ISO 8601, as in the text output',
    );
    assert.equal(logged.length, broken.attempts.length, 'one log entry per request the endpoint saw');
    assert.ok(
      logged.every((a) => a.status === 503 && !a.succeeded && a.responseExcerpt === 'refused with 503'),
    );
    assert.deepEqual(
      logged.map((a) => a.attemptedAt),
      logged.map((a) => a.attemptedAt).sort((a, b) => b.localeCompare(a)),
      'newest first',
    );
    assert.deepEqual(
      logged.map((a) => a.attempt).reverse(),
      logged.map((_, i) => i + 1),
      'attempt numbers count up',
    );
    const human = await bridge.cli('attempts', 'broken', '--limit', '1');
    assert.match(
      human.stdout,
      /failed\s+HTTP 503\s+\d+ ms\s+evt_\w+ \(message\.received\) attempt \d+\s+"refused with 503"/,
    );
    const healthy = JSON.parse(
      (await bridge.cli('attempts', 'helpdesk', '--json')).stdout,
    ) as DeliveryAttempt[];
    assert.ok(healthy.length >= 3 && healthy.every((a) => a.succeeded && a.status === 200));
  });

  it('re-enabled, the endpoint starts with a clean slate and replay delivers what it missed', async () => {
    const { bridge } = scenario;
    broken.respond = () => 200;
    assert.equal((await bridge.cli('subscriptions', 'enable', 'broken')).code, 0);
    assert.match((await bridge.cli('subscriptions')).stdout, /^broken {2}\S+ {2}enabled$/m);
    const replayed = await bridge.cli('replay', '--subscription', 'broken');
    assert.equal(replayed.code, 0, replayed.stdout);
    assert.equal(broken.accepted.length, 2);
    assert.deepEqual(broken.schemaViolations, []);
  });
});
