import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openLocalStores } from '../../src/adapters/local/local-stores.js';
import { replayDeadLetters } from '../../src/pipeline/replay.js';
import type { HttpSender, WebhookRequest } from '../../src/ports/pipeline.js';

describe('replay', () => {
  it('selects dead letters by failure time and sends each once with its original id and body', async () => {
    const clock = { now: () => 10_000 };
    const { state, attempts } = openLocalStores(mkdtempSync(join(tmpdir(), 'idlehook-replay-')), clock);
    for (const [eventId, failedAt] of [
      ['early', 1_000],
      ['inside', 5_000],
      ['late', 9_000],
    ] as const) {
      await state.deadLetter({
        eventId,
        subscriptionId: 'hook',
        eventType: 'message.received',
        body: `{"id":"${eventId}"}`,
        reason: 'r',
        attempts: 8,
        failedAt,
      });
    }
    await state.markFailing('hook', 500);
    // The HTTP side is recorded, not sent: what matters here is which letters go out and how.
    const sent: WebhookRequest[] = [];
    const http: HttpSender = {
      send: async (request) => {
        sent.push(request);
        return { status: 204, durationMs: 1 };
      },
    };
    const told: string[] = [];
    const results = await replayDeadLetters(
      { since: 2_000, until: 9_000 },
      {
        log: state,
        attempts,
        subscriptionStatus: state,
        subscriptions: new Map([
          [
            'hook',
            {
              id: 'hook',
              url: 'https://h.example/',
              secrets: [Buffer.alloc(32)],
              events: undefined,
              accounts: undefined,
              rateLimitPerSecond: undefined,
            },
          ],
        ]),
        http,
        clock,
        timeoutMs: 1000,
        delivered: (letter, subscription) => {
          told.push(`${letter.eventId} ${subscription.id}`);
        },
      },
    );
    assert.deepEqual(
      results.map((r) => [r.letter.eventId, r.delivered]),
      [['inside', true]],
    );
    assert.deepEqual(told, ['inside hook'], 'a 2xx is told on, as a delivery is (after-delivery actions)');
    assert.equal(sent[0]?.headers['webhook-id'], 'inside');
    assert.equal(sent[0]?.body, '{"id":"inside"}');
    assert.deepEqual(
      (await state.listDeadLetters()).map((l) => l.eventId),
      ['early', 'late'],
    );
    const [logged] = await attempts.listAttempts('hook', 10);
    assert.deepEqual(
      [logged?.eventId, logged?.attempt, logged?.status, logged?.succeeded],
      ['inside', 9, 204, true],
      'a replay is an attempt like any other',
    );
    assert.equal(
      (await state.health('hook')).failingSince,
      undefined,
      'and its success ends the failing period',
    );
  });
});
