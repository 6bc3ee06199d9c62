import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

/** Every sample of the exposition, by its name and labels as written (`name{a="b"}`). */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match?.[1] && match[2]) found.set(match[1], Number(match[2]));
  }
  return found;
}

describe('GET /metrics (local mode): the figures move with what the bridge does', () => {
  let scenario: Scenario;
  const secret = newWebhookSecret();
  const flaky = new WebhookReceiver(secret);
  const down = new WebhookReceiver(secret);

  const scrape = async () => {
    const response = await fetch(`${scenario.bridge.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return samples(await response.text());
  };

  before(async () => {
    flaky.respond = (_id, attempt) => (attempt === 1 ? 500 : 200);
    down.respond = () => 503;
    scenario = await startScenario({
      secret,
      config: { delivery: { retryScheduleSeconds: [0.2, 0.2, 0.2], overloadFloorSeconds: 0.2 } },
      extraAccounts: [{ id: 'locked', user: 'other', password: 'not the password' }],
      extraSubscriptions: [
        { id: 'flaky', url: await flaky.listen(), accounts: ['support'], events: ['message.received'] },
        { id: 'down', url: await down.listen(), accounts: ['support'], events: ['message.received'] },
      ],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ['support']);
  });

  after(async () => {
    await scenario?.dispose();
    await Promise.all([flaky.close(), down.close()]);
  });

  it('counts connections, logins by outcome, events, attempts by outcome and status class, latencies, queues and dead letters', async () => {
    let before = await scrape();
    const failedLogins = (m: Map<string, number>) =>
      [...m.keys()].some((k) => k.startsWith('idlehook_logins_total{outcome="failed"'));
    // The locked account's failed login also yields an account.error for the helpdesk: the baseline is taken
    // after that delivery, or it would be counted with the messages' deliveries below.
    const settled = (m: Map<string, number>) =>
      failedLogins(m) &&
      (m.get('idlehook_delivery_attempts_total{outcome="delivered",status_class="2xx"}') ?? 0) >= 1 &&
      m.get('idlehook_queue_depth{queue="delivery"}') === 0;
    for (let i = 0; i < 150 && !settled(before); i++) {
      await sleep(100);
      before = await scrape();
    }
    assert.equal(before.get('idlehook_connections{state="idle"}'), 1, 'support/INBOX in IDLE');
    assert.ok((before.get('idlehook_logins_total{outcome="ok",cause=""}') ?? 0) >= 1);
    assert.ok(failedLogins(before), "the locked account's failed login is counted, by cause");
    assert.ok((before.get('process_resident_memory_bytes') ?? 0) > 10_000_000, 'RSS');
    assert.ok(before.has('nodejs_eventloop_lag_seconds'), 'event-loop lag');
    assert.equal(before.get('idlehook_dead_letters'), 0);
    assert.equal(
      scenario.receiver.ofType('account.error').length,
      1,
      "the locked account's error, delivered",
    );

    for (const subject of ['first', 'second'])
      await scenario.appender.append('INBOX', simpleMessage(subject));
    await flaky.waitUntil(() => flaky.accepted.length === 2, 15_000, 'both messages at the flaky endpoint');
    await scenario.receiver.waitUntil(
      () => scenario.receiver.ofType('message.received').length === 2,
      15_000,
      'both messages at the helpdesk',
    );
    let now = await scrape();
    for (let i = 0; i < 100 && now.get('idlehook_dead_letters') !== 2; i++) {
      await sleep(100);
      now = await scrape();
    }
    const moved = (name: string) => (now.get(name) ?? 0) - (before.get(name) ?? 0);
    assert.equal(moved('idlehook_events_queued_total{type="message.received"}'), 2);
    assert.equal(
      moved('idlehook_delivery_attempts_total{outcome="delivered",status_class="2xx"}'),
      4,
      'helpdesk 2, flaky 2',
    );
    assert.equal(
      moved('idlehook_delivery_attempts_total{outcome="retry",status_class="5xx"}'),
      2 + 6,
      'flaky once per message, down three times per message',
    );
    assert.equal(moved('idlehook_delivery_attempts_total{outcome="dead-lettered",status_class="5xx"}'), 2);
    assert.equal(now.get('idlehook_dead_letters'), 2);
    assert.equal(moved('idlehook_delivery_latency_seconds_count'), 4);
    assert.equal(moved('idlehook_end_to_end_latency_seconds_count'), 4);
    assert.ok(
      (now.get('idlehook_delivery_latency_seconds_sum') ?? 0) > 0 &&
        (now.get('idlehook_delivery_latency_seconds_sum') ?? 0) < 60,
      'latencies in seconds',
    );
    assert.equal(now.get('idlehook_queue_depth{queue="ingest"}'), 0);
    assert.equal(now.get('idlehook_queue_depth{queue="delivery"}'), 0);
    assert.equal(now.get('idlehook_queue_oldest_age_seconds{queue="delivery"}'), 0);
  });

  it('is served to loopback host names only, like /status', async () => {
    const { port } = new URL(scenario.bridge.url);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      request(
        { host: '127.0.0.1', port, path: '/metrics', headers: { host: 'metrics.example.com' } },
        (r) => {
          r.resume();
          resolve(r.statusCode);
        },
      )
        .on('error', reject)
        .end();
    });
    assert.equal(status, 421);
  });
});
