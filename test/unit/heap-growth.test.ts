import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { heapGrowthChosenByOperator } from '../../src/compose/heap-growth.js';

const MODULE = resolve(import.meta.dirname, '../../src/compose/heap-growth.ts');

/**
 * Runs a program that keeps 10 MB live and churns objects that outlive young-generation collections (as a burst's
 * messages in flight do), and returns the largest heap V8 committed meanwhile, in MiB.
 */
function peakHeapMiB(options: { limit: boolean; nodeFlags?: readonly string[] }): number {
  const program = `
    import { getHeapStatistics } from 'node:v8';
    import { limitHeapGrowth } from ${JSON.stringify(MODULE)};
    if (${options.limit}) limitHeapGrowth();
    const live = Array.from({ length: 10_000 }, (_, i) => 'x'.repeat(1000) + i);
    const inFlight = new Array(40_000);
    let peak = 0;
    for (let i = 0; i < 1_500_000; i++) {
      inFlight[i % inFlight.length] = { i, text: 'y'.repeat(500) + i, pair: [i, i + 1] };
      if (i % 5000 === 0) peak = Math.max(peak, getHeapStatistics().total_heap_size);
    }
    console.log(JSON.stringify({ peakMiB: peak / 2 ** 20, live: live.length }));
  `;
  // V8 lets the heap grow less on a host with little memory: a fixed limit keeps its own growth that of a large host.
  const args = [
    '--max-old-space-size=4096',
    ...(options.nodeFlags ?? []),
    ...['--import', 'tsx', '--input-type=module', '-e', program],
  ];
  const result = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  return (JSON.parse(result.stdout) as { peakMiB: number }).peakMiB;
}

describe("the bridge's heap growth", () => {
  let limited: number;
  before(() => {
    limited = peakHeapMiB({ limit: true });
  });

  it('is limited at run time: garbage that outlives young collections peaks far lower than with V8 alone', () => {
    const unlimited = peakHeapMiB({ limit: false });
    assert.ok(limited < 0.8 * unlimited, `limited ${limited} MiB against ${unlimited} MiB with V8 alone`);
  });

  it("leaves an operator's own --heap-growing-percent in force", () => {
    const operatorsChoice = peakHeapMiB({ limit: true, nodeFlags: ['--heap-growing-percent=300'] });
    assert.ok(operatorsChoice > 1.2 * limited, `operator's ${operatorsChoice} MiB against ${limited} MiB`);
  });

  it('recognises the flag however the operator spelled it', () => {
    assert.equal(heapGrowthChosenByOperator([]), false);
    assert.equal(heapGrowthChosenByOperator(['--enable-source-maps', '--max-old-space-size=512']), false);
    assert.equal(heapGrowthChosenByOperator(['--heap-growing-percent=20']), true);
    assert.equal(heapGrowthChosenByOperator(['--enable-source-maps', '--heap_growing_percent=80']), true);
  });
});
