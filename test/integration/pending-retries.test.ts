// Deliveries being retried, seen and hurried (local mode): an endpoint that was down and is back need not wait
// out the retry schedule. The first retry here waits 300 s, as the default schedule's second one does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BridgeProcess } from '../support/bridge.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

describe('deliveries being retried (local mode): listed with their next attempt, and retried now', () => {
  const receiver = new WebhookReceiver(newWebhookSecret());
  let bridge: BridgeProcess;
  let token = '';
  let down = true;

  const api = async (method: string, path: string) => {
    const response = await fetch(`${bridge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  /** Sends a sample message and waits until its first attempt has failed and it waits for the next. */
  const failedOnce = async () => {
    const before = receiver.attempts.length;
    assert.equal((await bridge.cli('trigger', 'message.received')).code, 0);
    await receiver.waitUntil(() => receiver.attempts.length > before, 20_000, 'the first (refused) attempt');
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { json } = await api('GET', '/v1/deliveries/pending?subscription=hook');
      if (json.data.length > 0)
        return json.data as { eventId: string; attempts: number; nextAttemptAt: string }[];
      assert.ok(Date.now() < deadline, 'the delivery is listed as being retried');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  before(async () => {
    receiver.respond = () => (down ? 503 : 200);
    bridge = await BridgeProcess.create(
      {
        delivery: { retryScheduleSeconds: [300, 300] },
        subscriptions: [{ id: 'hook', url: await receiver.listen(), secret: { env: 'HOOK_SECRET' } }],
      },
      { HOOK_SECRET: receiver.secret },
    );
    await bridge.start();
    token = (await bridge.cli('tokens', 'create')).stdout.trim();
  });
  after(async () => {
    await bridge?.dispose();
    await receiver.close();
  });

  it('lists a delivery after a failed attempt, with its attempts and next attempt, in the API and the CLI', async () => {
    const [pending] = await failedOnce();
    assert.equal(pending?.attempts, 1);
    const waitSeconds = (Date.parse(pending?.nextAttemptAt ?? '') - Date.now()) / 1000;
    // The schedule's 300 s, with the jitter that keeps retries of many events from arriving together.
    assert.ok(waitSeconds > 200 && waitSeconds < 400, `next attempt in ${waitSeconds} s`);
    const listed = await bridge.cli('deliveries', '--pending');
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(
      listed.stdout,
      new RegExp(`${pending?.eventId}  message\\.received  -> hook  attempts=1  next attempt `),
    );
    assert.match(listed.stdout, /idlehook subscriptions retry ID/);
    // Not a dead letter: --failed does not list it.
    assert.match((await bridge.cli('deliveries', '--failed')).stdout, /No failed deliveries/);
    const status = (await (await fetch(`${bridge.url}/status`)).json()) as { retrying: unknown };
    assert.deepEqual(
      status.retrying,
      [{ subscriptionId: 'hook', deliveries: 1, nextAttemptAt: pending?.nextAttemptAt }],
      "/status shows it too, beside the queues' depths",
    );
  });

  it('retries now through the API once the endpoint is back, instead of minutes later', async () => {
    down = false;
    const delivered = receiver.ofType('message.received').length;
    const retried = await api('POST', '/v1/subscriptions/hook/retry-now');
    assert.deepEqual(retried, { status: 200, json: { retried: 1 } });
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length > delivered,
      10_000,
      'the retried delivery',
    );
    assert.deepEqual((await api('GET', '/v1/deliveries/pending')).json, { data: [] });
    assert.equal((await api('POST', '/v1/subscriptions/nope/retry-now')).status, 404);
  });

  it('retries now through the CLI too', async () => {
    down = true;
    await failedOnce();
    down = false;
    const delivered = receiver.ofType('message.received').length;
    const retried = await bridge.cli('subscriptions', 'retry', 'hook');
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout, /1 delivery to hook retried now/);
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length > delivered,
      10_000,
      'the retried delivery',
    );
  });
});
