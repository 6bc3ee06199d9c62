import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import type { SubscriptionConfig } from '../../src/domain/subscriptions.js';
import { type DeliveryDependencies, handleDeliveryRecord } from '../../src/pipeline/handle-delivery.js';
import type { DeliveryRecord } from '../../src/pipeline/records.js';
import type { HttpSender } from '../../src/ports/pipeline.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function setUp(rateLimitPerSecond: number | undefined, status = 204) {
  const clock = { time: 1_000_000, now: () => clock.time };
  const stores = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-deliver-')), clock);
  // The HTTP side answers from memory: these tests are about what the deliver stage does around the request.
  const sent: string[] = [];
  const http: HttpSender = {
    send: async (request) => {
      sent.push(request.headers['webhook-id'] ?? '');
      return { status, durationMs: 3 };
    },
  };
  const subscription: SubscriptionConfig = {
    id: 'hook',
    url: 'https://hook.example/',
    secrets: [Buffer.alloc(32)],
    events: undefined,
    accounts: undefined,
    rateLimitPerSecond,
  };
  const deps: DeliveryDependencies = {
    log: stores.state,
    attempts: stores.attempts,
    subscriptionStatus: stores.state,
    subscriptions: new Map([['hook', subscription]]),
    deliveries: stores.deliveries,
    throttle: stores.throttle,
    http,
    clock,
    logger: silent,
    policy: {
      retryScheduleSeconds: [1, 1, 1],
      timeoutMs: 1000,
      overloadFloorSeconds: 1,
      disableAfterMs: 60_000,
    },
    random: () => 0.5,
  };
  return { clock, stores, sent, deps };
}

const record = (eventId: string): DeliveryRecord => ({
  eventId,
  eventType: 'message.received',
  subscriptionId: 'hook',
  body: '{}',
});

describe('the deliver stage', () => {
  it('holds back a record over the rate limit as a delayed copy that does not count as an attempt', async () => {
    const { clock, stores, sent, deps } = setUp(1);
    assert.deepEqual(await handleDeliveryRecord(record('evt_a'), 1, deps), { kind: 'done' });
    // Received for the third time (two failed attempts before), but over the limit in this second.
    assert.deepEqual(await handleDeliveryRecord(record('evt_b'), 3, deps), { kind: 'done' });
    assert.deepEqual(sent, ['evt_a']);
    assert.deepEqual(await stores.deliveries.receive(10), [], 'the copy waits for the next second');

    clock.time += 1_000;
    const [copy] = await stores.deliveries.receive(10);
    assert.deepEqual(copy?.body, { ...record('evt_b'), attemptsBefore: 2, deferrals: 1 });
    await handleDeliveryRecord(copy?.body ?? record('x'), copy?.receiveCount ?? 0, deps);
    assert.deepEqual(sent, ['evt_a', 'evt_b']);
    const [latest] = await stores.attempts.listAttempts('hook', 1);
    assert.equal(latest?.attempt, 3, 'the held-back turn was not an attempt');
  });

  it('records an attempt at the time its request went out, not when the answer came', async () => {
    const { clock, stores, deps } = setUp(undefined);
    const sentAt = clock.time;
    deps.http.send = async () => {
      clock.time += 2_500; // a slow endpoint
      return { status: 204, durationMs: 2_500 };
    };
    await handleDeliveryRecord(record('evt_slow'), 1, deps);
    const [attempt] = await stores.attempts.listAttempts('hook', 1);
    assert.equal(attempt?.attemptedAt, sentAt);
    assert.equal(attempt?.durationMs, 2_500);
  });

  it('disables the endpoint at the end of the failing period and dead-letters the record', async () => {
    const { clock, stores, deps } = setUp(undefined, 500);
    assert.equal((await handleDeliveryRecord(record('evt_a'), 1, deps)).kind, 'retry');
    assert.deepEqual(await stores.state.health('hook'), { failingSince: 1_000_000 });
    clock.time += 60_000;
    assert.deepEqual(await handleDeliveryRecord(record('evt_a'), 2, deps), { kind: 'done' });
    assert.match((await stores.state.health('hook')).disabledReason ?? '', /every attempt failed since/);
    const [letter] = await stores.state.listDeadLetters();
    assert.match(letter?.reason ?? '', /HTTP 500; the subscription is now disabled/);
  });
});

describe('the deliver stage’s metrics', () => {
  it('reports the event’s age at every attempt, failed ones included; latencies only for delivered ones', async () => {
    const { clock, deps } = setUp(undefined, 503);
    const attempts: Parameters<NonNullable<DeliveryDependencies['metrics']>['deliveryAttempt']>[0][] = [];
    const withMetrics: DeliveryDependencies = {
      ...deps,
      metrics: {
        login() {},
        eventQueued() {},
        filterOutcome() {},
        deliveryAttempt: (attempt) => void attempts.push(attempt),
      },
    };
    const detectedAt = new Date(clock.time - 90_000).toISOString();
    const result = await handleDeliveryRecord({ ...record('evt_old'), detectedAt }, 2, withMetrics);
    assert.equal(result.kind, 'retry');
    assert.deepEqual(attempts, [{ outcome: 'retry', statusClass: '5xx', eventAgeMs: 90_000 }]);
  });
});
