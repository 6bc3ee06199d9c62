import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudget } from '../../src/domain/byte-budget.js';

const settled = () => new Promise((r) => setImmediate(r));
/** Asks `budget` for `bytes`, runs `granted` when they are given, and resolves to their release. */
const acquireNoting = (budget: ByteBudget, bytes: number, granted: () => void) =>
  budget.acquire(bytes).then((release) => {
    granted();
    return release;
  });

describe('ByteBudget', () => {
  it('holds requests back until their bytes fit, in order, and never exceeds its capacity', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const a = await budget.acquire(60);
    const b = acquireNoting(budget, 50, () => order.push('b'));
    const c = acquireNoting(budget, 10, () => order.push('c'));
    await settled();
    assert.deepEqual(order, [], 'b does not fit; c waits behind it (no overtaking)');
    a();
    const [releaseB, releaseC] = await Promise.all([b, c]);
    assert.deepEqual(order, ['b', 'c']);
    assert.equal(budget.peakBytes, 60);
    releaseB();
    releaseC();
    releaseC(); // releasing twice frees once
    const all = await budget.acquire(100);
    assert.equal(budget.peakBytes, 100);
    all();
  });

  it('lets a request larger than the whole budget through alone', async () => {
    const budget = new ByteBudget(10);
    const small = await budget.acquire(5);
    let big = false;
    const pending = acquireNoting(budget, 50, () => {
      big = true;
    });
    await settled();
    assert.equal(big, false, 'waits for the budget to empty');
    small();
    const release = await pending;
    assert.equal(big, true);
    let after = false;
    const next = acquireNoting(budget, 1, () => {
      after = true;
    });
    await settled();
    assert.equal(after, false, 'nothing runs beside it');
    release();
    (await next)();
  });
});
