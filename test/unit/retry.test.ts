import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideDelivery, parseRetryAfter, reconnectDelayMs } from '../../src/domain/retry.js';

const schedule = [5, 300, 1800];
const middle = () => 0.5; // no jitter

describe('delivery decisions', () => {
  it('treats every 2xx as delivered', () => {
    for (const status of [200, 201, 202, 204, 299])
      assert.deepEqual(decideDelivery({ status }, 1, schedule), { kind: 'delivered' });
  });

  it('retries 408, 429, 5xx and network failures on the schedule', () => {
    for (const result of [
      { status: 408 },
      { status: 429 },
      { status: 500 },
      { status: 503 },
      { error: 'connection refused' },
    ]) {
      const decision = decideDelivery(result, 2, schedule, middle);
      assert.equal(decision.kind, 'retry', JSON.stringify(result));
      assert.equal(decision.kind === 'retry' && decision.delayMs, 300_000);
    }
  });

  it('jitters by at most 20%', () => {
    const low = decideDelivery({ status: 500 }, 1, schedule, () => 0);
    const high = decideDelivery({ status: 500 }, 1, schedule, () => 0.999999);
    assert.deepEqual(
      [low.kind === 'retry' && low.delayMs, high.kind === 'retry' && high.delayMs],
      [4000, 6000],
    );
  });

  it('honours Retry-After, clamped between the scheduled delay and twice it', () => {
    const wait = (retryAfterSeconds: number) => {
      const d = decideDelivery({ status: 500, retryAfterSeconds }, 1, schedule, middle);
      return d.kind === 'retry' ? d.delayMs : -1;
    };
    assert.equal(wait(7), 7000);
    assert.equal(wait(1), 5000);
    assert.equal(wait(3600), 10_000);
  });

  it('waits at least the overload floor (60 s) after a 429, a 503 or a timeout, Retry-After clamped around it', () => {
    const delay = (result: Parameters<typeof decideDelivery>[0], attempt = 1, floor?: number) => {
      const d = decideDelivery(result, attempt, schedule, middle, floor);
      return d.kind === 'retry' ? d.delayMs : -1;
    };
    for (const overloaded of [
      { status: 429 },
      { status: 503 },
      { error: 'timed out after 15 s', timedOut: true },
    ])
      assert.equal(delay(overloaded), 60_000, JSON.stringify(overloaded));
    assert.equal(delay({ status: 500 }), 5000, 'an ordinary failure keeps its schedule');
    assert.equal(delay({ error: 'connection refused' }), 5000);
    assert.equal(delay({ status: 503 }, 2), 300_000, 'a longer scheduled wait stands');
    assert.equal(delay({ status: 429, retryAfterSeconds: 90 }), 90_000, 'Retry-After above the floor');
    assert.equal(delay({ status: 429, retryAfterSeconds: 1 }), 60_000, 'Retry-After below the floor');
    assert.equal(delay({ status: 429, retryAfterSeconds: 3600 }), 120_000, 'Retry-After capped at twice it');
    assert.equal(delay({ status: 429 }, 1, 10), 10_000, 'the floor is configurable');
  });

  it('dead-letters after the last scheduled retry', () => {
    const decision = decideDelivery({ status: 500 }, 4, schedule, middle);
    assert.deepEqual(decision, { kind: 'dead-letter', reason: 'HTTP 500 after 4 attempts' });
  });

  it('does not retry redirects and client errors, and flags 410 Gone', () => {
    assert.equal(decideDelivery({ status: 301 }, 1, schedule).kind, 'dead-letter');
    assert.equal(decideDelivery({ status: 400 }, 1, schedule).kind, 'dead-letter');
    assert.equal(decideDelivery({ status: 410 }, 1, schedule).kind, 'gone');
  });

  it('parses Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120);
    assert.equal(parseRetryAfter('Fri, 27 Nov 2026 12:01:00 GMT', now), 60);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

describe('reconnect back-off', () => {
  const policy = {
    minDelaySeconds: 1,
    maxDelaySeconds: 300,
    authFailureDelaySeconds: 300,
    maxAuthFailureDelaySeconds: 3600,
    outageGraceSeconds: 120,
  };

  it('grows exponentially for network failures, within [half, full] of the ceiling, capped', () => {
    const cases: [failures: number, random: number, delayMs: number][] = [
      [1, 0, 500],
      [1, 1, 1000],
      [4, 1, 8000],
      [30, 1, 300_000],
    ];
    for (const [failures, random, delayMs] of cases)
      assert.equal(
        reconnectDelayMs('network', failures, policy, () => random),
        delayMs,
      );
  });

  it('waits minutes after an authentication failure and grows to the hour cap', () => {
    assert.equal(reconnectDelayMs('authentication', 1, policy, middle), 300_000);
    assert.equal(reconnectDelayMs('authentication', 2, policy, middle), 600_000);
    assert.equal(reconnectDelayMs('authentication', 10, policy, middle), 3_600_000);
  });
});
