import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { freePort } from '../support/net.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('delivery failures: retries, dead letters, replay, 410 Gone', () => {
  const secret = newWebhookSecret();
  const flaky = new WebhookReceiver(secret);
  const down = new WebhookReceiver(secret);
  const gone = new WebhookReceiver(secret);
  let scenario: Scenario;

  before(async () => {
    flaky.respond = (_id, attempt) => (attempt === 1 ? 500 : 200);
    down.respond = () => 503;
    gone.respond = () => 410;
    const unreachable = `http://127.0.0.1:${await freePort()}/hook`;
    scenario = await startScenario({
      secret,
      extraSubscriptions: [
        { id: 'flaky', url: await flaky.listen(), events: ['message.received'] },
        { id: 'down', url: await down.listen(), events: ['message.received'] },
        { id: 'gone', url: await gone.listen(), events: ['message.received'] },
        { id: 'unreachable', url: unreachable, events: ['message.received'] },
      ],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
    await scenario.appender.append('INBOX', simpleMessage('first'));
    await scenario.receiver.waitUntil(
      () => scenario.receiver.ofType('message.received').length === 1,
      10_000,
      'first message',
    );
  });

  after(async () => {
    await scenario?.dispose();
    await Promise.all([flaky.close(), down.close(), gone.close()]);
  });

  it('retries a 500 and delivers with the same webhook-id', async () => {
    await flaky.waitUntil(() => flaky.accepted.length === 1, 10_000, 'flaky delivery');
    const [delivered] = flaky.accepted;
    assert.deepEqual(
      flaky.attempts.map((a) => a.status),
      [500, 200],
    );
    assert.ok(flaky.attempts.every((a) => a.id === delivered?.id));
    assert.equal(
      delivered?.id,
      scenario.receiver.ofType('message.received')[0]?.id,
      'same event id for every subscription',
    );
    // At the default level, one log line per delivery: event, subscription, status and duration.
    const line = (await scenario.bridge.logWith(/"webhook delivered".*"subscriptionId":"flaky"/))
      .split('\n')
      .filter((l) => l.includes('"webhook delivered"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((entry) => entry.subscriptionId === 'flaky');
    assert.equal(line?.level, 'INFO');
    assert.equal(line?.eventId, delivered?.id);
    assert.equal(line?.status, 200);
    assert.equal(line?.attempt, 2);
    assert.equal(typeof line?.durationMs, 'number');
  });

  it('dead-letters after the last retry and lists the failure', async () => {
    const { bridge } = scenario;
    await waitForDeadLetters(bridge, 3);
    assert.equal(down.attempts.length, 4, 'first attempt + 3 scheduled retries');
    const listed = await bridge.cli('deliveries', '--failed', '--json');
    assert.equal(listed.code, 0);
    const letters = JSON.parse(listed.stdout) as {
      subscriptionId: string;
      reason: string;
      attempts: number;
    }[];
    const bySubscription = new Map(letters.map((l) => [l.subscriptionId, l]));
    assert.match(bySubscription.get('down')?.reason ?? '', /HTTP 503 after 4 attempts/);
    assert.match(bySubscription.get('unreachable')?.reason ?? '', /connection refused after 4 attempts/);
    assert.match(bySubscription.get('gone')?.reason ?? '', /410/);
    const human = await bridge.cli('deliveries', '--failed');
    assert.match(human.stdout, /-> down\s+attempts=4\s+HTTP 503 after 4 attempts/);
  });

  it('disables a subscription that answered 410 Gone and keeps later events for replay', async () => {
    const { bridge, appender } = scenario;
    assert.equal(gone.attempts.length, 1, '410 is not retried');
    const listed = await bridge.cli('subscriptions');
    assert.match(listed.stdout, /^gone .* disabled: HTTP 410/m);
    await appender.append('INBOX', simpleMessage('second'));
    await scenario.receiver.waitUntil(
      () => scenario.receiver.ofType('message.received').length === 2,
      10_000,
      'second message',
    );
    const [announcement] = scenario.receiver.ofType('endpoint.disabled');
    assert.equal(announcement?.body.data.subscriptionId, 'gone', 'the other subscriptions hear of it');
    assert.match(announcement?.body.data.reason, /HTTP 410/);
    assert.equal(announcement?.body.data.failingSince, null, 'a 410 disables at once');
    await waitForDeadLetters(bridge, 6);
    assert.equal(gone.attempts.length, 1, 'a disabled subscription gets no requests');
    const letters = JSON.parse((await bridge.cli('deliveries', '--failed', '--json')).stdout) as {
      reason: string;
      subscriptionId: string;
      failedAt: string;
    }[];
    assert.ok(letters.some((l) => l.subscriptionId === 'gone' && /disabled/.test(l.reason)));
    assert.ok(
      letters.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l.failedAt)),
      'ISO 8601 times',
    );
  });

  it('replays dead letters once the endpoint recovers, with the original webhook-id', async () => {
    const { bridge } = scenario;
    const failedIds = new Set(down.attempts.map((a) => a.id));
    down.respond = () => 204;
    const replayed = await bridge.cli('replay', '--subscription', 'down');
    assert.equal(replayed.code, 0, replayed.stdout + replayed.stderr);
    assert.match(replayed.stdout, /2 delivered, 0 still failed/);
    assert.deepEqual(new Set(down.accepted.map((w) => w.id)), failedIds);
    assert.equal(down.invalidSignatures, 0);

    gone.respond = () => 200;
    const refused = await bridge.cli('replay', '--subscription', 'gone');
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /enable it first: idlehook subscriptions enable gone/);
    assert.equal((await bridge.cli('subscriptions', 'enable', 'gone')).code, 0);
    const afterEnable = await bridge.cli('replay', '--subscription', 'gone');
    assert.equal(afterEnable.code, 0, afterEnable.stdout);
    assert.equal(gone.accepted.length, 2);

    const remaining = JSON.parse((await bridge.cli('deliveries', '--failed', '--json')).stdout) as {
      subscriptionId: string;
    }[];
    assert.deepEqual(
      remaining.map((l) => l.subscriptionId),
      ['unreachable', 'unreachable'],
    );
  });
});

async function waitForDeadLetters(bridge: Scenario['bridge'], count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const listed = await bridge.cli('deliveries', '--failed', '--json');
    if ((JSON.parse(listed.stdout) as unknown[]).length >= count) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`fewer than ${count} dead letters:\n${bridge.log()}`);
}
