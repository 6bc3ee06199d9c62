// The control-plane benchmark at CI size (bench/control-plane.ts): 10,000 accounts over 3 watcher tasks (the
// real task code in child processes, stand-in sessions, DynamoDB's partition limits, the KMS stand-in). It asserts
// what must hold at any speed; the timings it prints are the benchmark's (docs/benchmarks.md has the full size).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runControlPlaneBenchmark } from '../../bench/control-plane.js';

describe('the control plane with 10,000 accounts and 3 watcher tasks', () => {
  it('owns every account once, reads per change, never throttles, and survives a SIGKILL within each cap', async () => {
    const result = await runControlPlaneBenchmark({
      accounts: 10_000,
      tasks: 3,
      changes: 30,
      kill: 1,
      steadySeconds: 15,
      log: (line) => console.log(`# ${line}`),
    });
    console.log(`# ${JSON.stringify(result)}`);
    assert.equal(result.duplicatesAtEnd, 0, 'no account watched by two tasks');
    assert.equal(result.steady.throttled, 0, 'no throttled request in steady state');
    assert.equal(result.throttledTotal, 0, 'none at all');
    assert.ok(
      result.kmsCalls.total <= 2 * 3 + 2,
      `${result.kmsCalls.total} KMS calls for 10,000 sealed accounts: a handful per task, not one per account`,
    );
    assert.equal(result.steady.unitsPerMailboxHour.ACCOUNTS?.read ?? 0, 0, 'no task reads every account');
    // A held account's folder tree (none is stored: the stand-in sessions list no folders) is read once, not at
    // every 2-s poll (which was 525 units per mailbox-hour).
    const folderTrees = result.steady.unitsPerMailboxHour.ACCOUNT?.read ?? 0;
    assert.ok(folderTrees < 50, `${folderTrees} folder-tree read units per mailbox-hour`);
    for (const kind of ['add', 'change', 'remove'] as const) assert.equal(result.changeMs[kind].n, 30);
    assert.ok(result.failover, 'a task was killed');
    assert.ok(
      result.failover.mostMailboxesHeld <= result.failover.cap,
      `the most any task held (${result.failover.mostMailboxesHeld}) is within its cap (${result.failover.cap})`,
    );
  });
});
