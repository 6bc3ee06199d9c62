import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeartbeatObservations, type Lease, planLeases, shardOf } from '../../src/domain/shard-leases.js';
import { ShardOwnership, type ShardOwnershipSettings } from '../../src/ownership/shard-ownership.js';
import { MemoryLeaseStore } from '../support/memory-lease-store.js';
import { seededRandom } from '../support/seeded-random.js';

const SHARDS = 12;
const LEASE_MS = 10_000;
const quiet = { debug() {}, info() {}, warn() {}, error() {} };

const leases = (owners: readonly (string | null)[]): Lease[] =>
  owners.map((owner, shard) => ({ shard, owner, counter: 1 }));

describe('planLeases', () => {
  const everyoneAlive = () => true;

  it('takes free leases, and those of a gone worker, up to its share', () => {
    const table = leases(['a', null, null, 'b', 'gone', null]);
    const plan = planLeases('a', table, (worker) => worker !== 'gone');
    const taken = plan.take.map((l) => l.shard);
    assert.equal(new Set(taken).size, 2, 'its share of 3 less the one it holds');
    for (const shard of taken) assert.ok([1, 2, 4, 5].includes(shard), `${shard} is free or a gone worker's`);
  });

  it('takes the free leases in random order: workers starting together do not all race for the lowest', () => {
    const free = leases(Array.from({ length: 64 }, () => null));
    const firstPicks = new Set(
      Array.from({ length: 8 }, (_, worker) => {
        const random = seededRandom(worker + 1);
        return planLeases(`w${worker}`, free, everyoneAlive, random).take[0]?.shard;
      }),
    );
    assert.ok(firstPicks.size >= 6, `eight workers' first picks: ${[...firstPicks].join(', ')}`);
    const all = planLeases('w', free, everyoneAlive, seededRandom(9)).take.map((l) => l.shard);
    assert.deepEqual(
      [...all].sort((a, b) => a - b),
      Array.from({ length: 64 }, (_, i) => i),
      'each once',
    );
  });

  it('steals one lease per cycle from the most loaded worker, and none once balanced', () => {
    const plan = planLeases('c', leases(['a', 'a', 'a', 'a', 'a', 'a', 'b', 'b']), everyoneAlive);
    assert.equal(plan.take.length, 1);
    assert.equal(plan.take[0]?.owner, 'a');
    assert.deepEqual(
      planLeases('c', leases(['a', 'a', 'a', 'b', 'b', 'b', 'c', 'c']), everyoneAlive).take,
      [],
    );
  });

  it('takes from a worker at exactly its share when two or more short (2, 2, 0 becomes 2, 1, 1)', () => {
    assert.equal(planLeases('c', leases(['a', 'a', 'b', 'b']), everyoneAlive).take.length, 1);
  });

  it('takes no more than its capacity: a survivor of a dead worker holds what fits, and says what it left', () => {
    // Two workers held 6 shards of 100 mailboxes each; b died. a may hold 450.
    const table = leases(['a', 'a', 'a', 'b', 'b', 'b']);
    const capacity = { maxMailboxes: 450, mailboxesOf: () => 100 };
    const plan = planLeases('a', table, (worker) => worker === 'a', seededRandom(3), capacity);
    assert.equal(plan.take.length, 1, '300 held + 100 fits, + 200 does not');
    assert.equal(plan.refusedForCapacity, 2);
    const uncapped = planLeases('a', table, (worker) => worker === 'a', seededRandom(3));
    assert.equal(uncapped.take.length, 3, 'without a capacity it takes all of them');
  });

  it('skips a shard too big for what is left and takes smaller ones instead', () => {
    const sizes = new Map([
      [0, 300],
      [1, 400],
      [2, 50],
      [3, 50],
    ]);
    const capacity = { maxMailboxes: 420, mailboxesOf: (shard: number) => sizes.get(shard) ?? 0 };
    const plan = planLeases('a', leases(['a', null, null, null]), () => true, seededRandom(1), capacity);
    assert.deepEqual(
      plan.take.map((l) => l.shard).sort(),
      [2, 3],
      '300 + 50 + 50 fits; the shard of 400 waits for another worker',
    );
  });

  it('takes one shard past its capacity when it holds none: every shard must be watchable by someone', () => {
    const capacity = { maxMailboxes: 10, mailboxesOf: () => 500 };
    const plan = planLeases('a', leases([null, null]), () => true, seededRandom(1), capacity);
    assert.equal(plan.take.length, 1);
  });

  it('does not steal what would put it past its capacity', () => {
    const capacity = { maxMailboxes: 100, mailboxesOf: () => 100 };
    const plan = planLeases('c', leases(['a', 'a', 'a', 'a', 'c']), () => true, Math.random, capacity);
    assert.deepEqual(plan.take, []);
    assert.equal(plan.refusedForCapacity, 1);
  });
});

describe('HeartbeatObservations', () => {
  it("counts a worker gone only when its heartbeat stood still for the duration on the observer's clock", () => {
    const observations = new HeartbeatObservations();
    observations.observe(new Map([['a', 5]]), 0);
    assert.equal(observations.isAlive('a', LEASE_MS - 1, LEASE_MS, 0), true);
    assert.equal(observations.isAlive('a', LEASE_MS, LEASE_MS, 0), false);
    observations.observe(new Map([['a', 6]]), LEASE_MS + 1);
    assert.equal(observations.isAlive('a', LEASE_MS + 2, LEASE_MS, 0), true);
    assert.equal(
      observations.isAlive('never-beat', LEASE_MS - 1, LEASE_MS, 0),
      true,
      'watched for less than the duration',
    );
    assert.equal(observations.isAlive('never-beat', LEASE_MS, LEASE_MS, 0), false);
  });
});

describe('shardOf', () => {
  it('is stable and spreads accounts over the shards', () => {
    assert.equal(shardOf('acme', 256), shardOf('acme', 256));
    const used = new Set(Array.from({ length: 2_000 }, (_, i) => shardOf(`account-${i}`, 256)));
    assert.ok(used.size > 240, `${used.size} of 256 shards used`);
  });
});

/** Workers over one lease table, on one injected clock; `cycle` runs every worker's round once. */
function cluster(store = new MemoryLeaseStore(), capacity?: ShardOwnershipSettings['capacity']) {
  const clock = { time: 0, now: () => clock.time };
  const workers = new Map<string, ShardOwnership>();
  const join = (id: string) => {
    const worker = new ShardOwnership(store, clock, quiet, {
      workerId: id,
      shardCount: SHARDS,
      leaseDurationMs: LEASE_MS,
      ...(capacity ? { capacity } : {}),
    });
    workers.set(id, worker);
    return worker;
  };
  const cycle = async (...ids: string[]) => {
    for (const id of ids.length > 0 ? ids : [...workers.keys()]) await workers.get(id)?.cycle();
  };
  const counts = () => [...workers.values()].map((w) => w.shards.length);
  return { store, clock, workers, join, cycle, counts };
}

/** Shards two workers believe they hold: a steal is seen by the loser at its next cycle, not before. */
function overlapOf(workers: Iterable<ShardOwnership>): number {
  const all = [...workers].flatMap((w) => w.shards);
  return all.length - new Set(all).size;
}

describe('ShardOwnership', () => {
  it('never holds more mailboxes than its capacity when a worker dies: the rest waits for a new worker', async () => {
    const mailboxes = new Map(Array.from({ length: 240 }, (_, i) => [`account-${i}`, 1 + (i % 2)]));
    const total = [...mailboxes.values()].reduce((a, b) => a + b, 0);
    const maxMailboxes = Math.ceil(total * 0.6);
    const byShard = new Map<number, number>();
    for (const [account, count] of mailboxes) {
      const shard = shardOf(account, SHARDS);
      byShard.set(shard, (byShard.get(shard) ?? 0) + count);
    }
    const c = cluster(new MemoryLeaseStore(), { maxMailboxes, mailboxesByShard: async () => byShard });
    const heldBy = (worker: ShardOwnership) =>
      [...mailboxes]
        .filter(([account]) => worker.lease(account) !== undefined)
        .reduce((n, [, m]) => n + m, 0);
    c.join('a');
    c.join('b');
    for (let round = 0; round < SHARDS; round++) {
      c.clock.time += 1_000;
      await c.cycle();
    }
    c.workers.delete('b');
    for (let round = 0; round < 2 * SHARDS; round++) {
      c.clock.time += 1_000;
      await c.cycle();
      const a = c.workers.get('a') as ShardOwnership;
      assert.ok(heldBy(a) <= maxMailboxes, `round ${round}: ${heldBy(a)} of at most ${maxMailboxes}`);
    }
    const survivor = c.workers.get('a') as ShardOwnership;
    assert.ok(survivor.shards.length < SHARDS, 'some shards wait for another worker');
    assert.ok(survivor.shardsRefusedForCapacity > 0, 'and it says so');
    c.join('c');
    for (let round = 0; round < 2 * SHARDS; round++) {
      c.clock.time += 1_000;
      await c.cycle();
    }
    const owned = new Set([...c.workers.values()].flatMap((w) => w.shards));
    assert.equal(owned.size, SHARDS, 'a new worker takes what the survivor could not');
    for (const worker of c.workers.values()) assert.ok(heldBy(worker) <= maxMailboxes);
  });

  it('gives one worker every shard, and balances as workers join, one steal per worker and cycle', async () => {
    const c = cluster();
    c.join('a');
    await c.cycle();
    assert.deepEqual(c.counts(), [SHARDS]);
    c.join('b');
    c.join('c');
    for (let round = 0; round < SHARDS; round++) {
      c.clock.time += 1_000;
      await c.cycle();
      assert.ok(overlapOf(c.workers.values()) <= 2, 'at most the steals of this cycle overlap');
    }
    assert.deepEqual(c.counts(), [4, 4, 4]);
    assert.equal(overlapOf(c.workers.values()), 0);
  });

  it("takes a silent worker's shards after the lease duration, not before", async () => {
    const c = cluster();
    c.join('a');
    c.join('b');
    for (let round = 0; round < 8; round++) {
      c.clock.time += 1_000;
      await c.cycle();
    }
    assert.deepEqual(c.counts(), [6, 6]);
    // a stops renewing (killed or paused); b keeps cycling.
    for (let elapsed = 0; elapsed < LEASE_MS - 1_000; elapsed += 1_000) {
      c.clock.time += 1_000;
      await c.cycle('b');
      assert.equal(c.workers.get('b')?.shards.length, 6, `still 6 after ${elapsed + 1_000} ms`);
    }
    c.clock.time += 2_000;
    await c.cycle('b');
    assert.equal(c.workers.get('b')?.shards.length, SHARDS);
  });

  it('fences itself: a worker whose heartbeat cannot be stored for the lease duration holds nothing', async () => {
    const c = cluster();
    const a = c.join('a');
    await c.cycle();
    c.store.unreachable = true;
    c.clock.time += LEASE_MS - 1;
    await a.cycle().catch(() => undefined);
    assert.equal(a.shards.length, SHARDS, 'kept while within the lease duration');
    c.clock.time += 1;
    await a.cycle().catch(() => undefined);
    assert.deepEqual(a.shards, [], 'dropped once a lease may have expired for others');
    const owned = await a.owned(['x']);
    assert.deepEqual(owned, []);
  });

  it('a paused worker (a zombie) holds nothing the moment it resumes, before its next cycle', async () => {
    const c = cluster();
    const a = c.join('a');
    await c.cycle();
    const ref = 'x';
    assert.notEqual(a.lease(ref), undefined);
    c.clock.time += LEASE_MS; // SIGSTOP ... SIGCONT: no cycle ran meanwhile
    assert.equal(a.lease(ref), undefined);
    assert.deepEqual(await a.owned([ref]), []);
  });

  it('a resumed zombie does not vouch for its old shards between its heartbeat and its reading of the table', async () => {
    let listing: Promise<void> | undefined;
    let listed = () => {};
    class SlowListing extends MemoryLeaseStore {
      override async list(shardCount: number) {
        await listing;
        return super.list(shardCount);
      }
    }
    const c = cluster(new SlowListing());
    const a = c.join('a');
    await c.cycle();
    // SIGSTOP ... SIGCONT; meanwhile b starts, watches a's heartbeat stand still for the lease, takes every shard
    const b = c.join('b');
    await b.cycle();
    c.clock.time += LEASE_MS;
    await b.cycle();
    assert.equal(b.shards.length, SHARDS);

    listing = new Promise((resolve) => {
      listed = resolve;
    });
    const resumed = a.cycle();
    await new Promise((resolve) => setImmediate(resolve)); // the heartbeat is stored, the list is pending
    assert.equal(a.lease('x'), undefined, 'acts for a shard b holds');
    listed();
    await resumed;
    assert.equal(a.lease('x'), undefined);
    assert.ok(a.shards.length < SHARDS, 'a steals at most one shard back per cycle');
  });

  it('acts under a later epoch once a shard has moved: the new owner outranks the old in the store', async () => {
    const c = cluster();
    const a = c.join('a');
    await c.cycle();
    const ref = 'x';
    const before = a.lease(ref)?.epoch;
    assert.notEqual(before, undefined);
    await a.release();
    const b = c.join('b');
    await b.cycle();
    const after = b.lease(ref)?.epoch;
    assert.ok(after !== undefined && before !== undefined && after > before, `${before} -> ${after}`);
    await a.cycle();
    assert.ok((a.lease(ref)?.epoch ?? -1) !== before, 'the old owner never acts under its old epoch again');
  });

  it('hands its shards over on release without waiting for expiry', async () => {
    const c = cluster();
    const a = c.join('a');
    const b = c.join('b');
    await c.cycle();
    await a.release();
    assert.deepEqual(a.shards, []);
    c.clock.time += 1;
    await b.cycle();
    assert.equal(b.shards.length, SHARDS);
  });
});
