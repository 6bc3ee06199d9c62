import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildOnce } from '../../src/domain/build-once.js';

describe('buildOnce', () => {
  it('builds once and hands every caller the same value', async () => {
    let builds = 0;
    const get = buildOnce(async () => ({ build: ++builds }));
    const [a, b] = await Promise.all([get(), get()]);
    assert.equal(a, b);
    assert.equal(await get(), a);
    assert.equal(builds, 1);
  });

  it('forgets a failed build, so the next call tries again', async () => {
    let builds = 0;
    const get = buildOnce(async () => {
      builds += 1;
      if (builds === 1) throw new Error('settings not readable yet');
      return 'built';
    });
    await assert.rejects(get(), /settings not readable yet/);
    assert.equal(await get(), 'built');
    assert.equal(builds, 2);
  });
});
