import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import type { ImapFlow } from 'imapflow';
import { Liveness, unansweredAfterMs, watchLiveness } from '../../src/imap/liveness.js';

function clocked() {
  let now = 1_000;
  const liveness = new Liveness({ now: () => now });
  const advance = (ms: number) => {
    now += ms;
  };
  return { liveness, advance };
}

describe('Liveness', () => {
  it('counts from the oldest unanswered question, and not at all once answered', () => {
    const { liveness, advance } = clocked();
    assert.equal(liveness.overdueMs(), 0);
    liveness.asked();
    advance(5_000);
    liveness.asked(); // a second check does not reset the first one's wait
    advance(7_000);
    assert.equal(liveness.overdueMs(), 12_000);
    liveness.answered();
    assert.equal(liveness.overdueMs(), 0);
  });

  it('restarts the wait whenever the server sends something, and a poll starts afresh', () => {
    const { liveness, advance } = clocked();
    liveness.asked();
    advance(9_000);
    liveness.heardFrom();
    advance(2_000);
    assert.equal(liveness.overdueMs(), 2_000);
    liveness.askedAfresh();
    assert.equal(liveness.overdueMs(), 0);
  });

  it('does not count waiting on this process (the byte budget) as the server being silent', async () => {
    const { liveness, advance } = clocked();
    liveness.asked();
    let release: () => void = () => undefined;
    const waiting = liveness.waitingOnUsFor(
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    advance(60_000);
    assert.equal(liveness.overdueMs(), 0);
    release();
    await waiting;
    advance(1_000);
    assert.equal(liveness.overdueMs(), 1_000, 'the wait restarts when the budget is granted');
  });

  it('gives a silent server at least 10 s, or one check interval if longer', () => {
    assert.equal(unansweredAfterMs(1_000), 10_000);
    assert.equal(unansweredAfterMs(60_000), 60_000);
  });
});

describe('watchLiveness', () => {
  it('closes a connection whose check went unanswered for one check interval, at the next tick', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const { liveness, advance } = clocked();
    const closed = mock.fn();
    const silent = mock.fn();
    const everyMs = 60_000;
    const stop = watchLiveness({ close: closed } as unknown as ImapFlow, {
      everyMs,
      timeoutMs: unansweredAfterMs(everyMs),
      liveness: () => liveness,
      onSilent: silent,
      onTick: () => liveness.asked(),
    });
    try {
      const tick = () => {
        advance(everyMs);
        t.mock.timers.tick(everyMs);
      };
      tick(); // the check is asked
      assert.equal(closed.mock.callCount(), 0);
      tick(); // a whole interval later, still unanswered
      assert.equal(closed.mock.callCount(), 1, 'closed one interval after the unanswered check, not two');
      assert.match(String(silent.mock.calls[0]?.arguments[0]), /did not answer for 60 s/);
    } finally {
      stop();
    }
  });
});
