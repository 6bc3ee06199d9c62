import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoginPacer } from '../../src/imap/login-pacer.js';

/** A clock that only moves when the pacer waits: start times are exact, and nothing sleeps. */
function virtualTime() {
  let now = 0;
  return {
    clock: { now: () => now },
    wait: async (ms: number) => {
      now += ms;
    },
  };
}

/** A set-up that stays in progress until `finish` is called. */
function pendingSetUp() {
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { done, finish: () => finish() };
}

describe('LoginPacer', () => {
  it('keeps at most maxConcurrent set-ups in progress and runs every one', async () => {
    const time = virtualTime();
    const pacer = new LoginPacer({ maxConcurrent: 3, perSecond: 1_000_000 }, time.clock, time.wait);
    let inProgress = 0;
    let peak = 0;
    const setUps = Array.from({ length: 10 }, () => pendingSetUp());
    const runs = setUps.map((setUp, i) =>
      pacer.run(async () => {
        inProgress += 1;
        peak = Math.max(peak, inProgress);
        await setUp.done;
        inProgress -= 1;
        return i;
      }, new AbortController().signal),
    );
    for (const setUp of setUps) {
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(inProgress <= 3, `${inProgress} set-ups at once`);
      setUp.finish();
    }
    assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(peak, 3);
  });

  it('starts set-ups no faster than perSecond, however many wait at once', async () => {
    // The clock stands still while all six are in line: each one's wait is when it may start.
    const waits: number[] = [];
    const pacer = new LoginPacer({ maxConcurrent: 100, perSecond: 4 }, { now: () => 0 }, async (ms) => {
      waits.push(ms);
    });
    await Promise.all(
      Array.from({ length: 6 }, () => pacer.run(async () => undefined, new AbortController().signal)),
    );
    assert.deepEqual(waits, [250, 500, 750, 1000, 1250]);
  });

  it('does not hold back a set-up after a quiet spell', async () => {
    const time = virtualTime();
    const pacer = new LoginPacer({ maxConcurrent: 1, perSecond: 1 }, time.clock, time.wait);
    await pacer.run(async () => undefined, new AbortController().signal);
    await time.wait(10_000);
    const before = time.clock.now();
    await pacer.run(async () => undefined, new AbortController().signal);
    assert.equal(time.clock.now(), before);
  });

  it('lets a session that stops while in line leave without a set-up, and frees nothing it did not take', async () => {
    const time = virtualTime();
    const pacer = new LoginPacer({ maxConcurrent: 1, perSecond: 1_000_000 }, time.clock, time.wait);
    const first = pendingSetUp();
    const running = pacer.run(() => first.done, new AbortController().signal);
    const stop = new AbortController();
    let abandonedRan = false;
    const abandoned = pacer.run(async () => {
      abandonedRan = true;
    }, stop.signal);
    stop.abort(new Error('stopping'));
    await assert.rejects(abandoned, /stopping/);
    let thirdRan = false;
    const third = pacer.run(async () => {
      thirdRan = true;
    }, new AbortController().signal);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(thirdRan, false, 'the slot is still taken by the first set-up');
    first.finish();
    await Promise.all([running, third]);
    assert.equal(thirdRan, true);
    assert.equal(abandonedRan, false);
  });
});
