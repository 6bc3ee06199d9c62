import { createHash } from 'node:crypto';

/**
 * Shard leases, after the Kinesis Client Library's lease table: mailboxes map to a fixed number of virtual shards,
 * and each watcher holds the leases of some shards. Unlike KCL, liveness is one heartbeat per worker, not one
 * renewal per lease: renewing 256 leases every few seconds would cost a DynamoDB write each. A worker whose
 * heartbeat counter has not moved for the lease duration, as timed on the observer's own clock, is gone, and its
 * leases are free. No clock is shared, so no clock needs to be synchronised.
 */

/** A shard's lease as stored: who holds it (null: nobody), and a counter bumped by every take and release. */
export interface Lease {
  readonly shard: number;
  readonly owner: string | null;
  readonly counter: number;
}

/** The lease table at one moment: every shard's lease, and each worker's heartbeat counter. */
export interface LeaseTable {
  readonly leases: readonly Lease[];
  readonly heartbeats: ReadonlyMap<string, number>;
}

/**
 * The shard an account (all its mailboxes) belongs to: a stable hash, the same in every process and after every
 * restart. By account, not by mailbox: the connection limit and login gate of an account must be in one process.
 */
export function shardOf(account: string, shardCount: number): number {
  const hash = createHash('sha256').update(account).digest();
  return hash.readUInt32BE(0) % shardCount;
}

/** What one observer has seen of each worker's heartbeat, and when (on its own clock) it last saw it move. */
export class HeartbeatObservations {
  private readonly seen = new Map<string, { readonly counter: number; readonly changedAt: number }>();

  /** Records the heartbeats as listed at `now`. */
  observe(heartbeats: ReadonlyMap<string, number>, now: number): void {
    for (const [worker, counter] of heartbeats) {
      if (this.seen.get(worker)?.counter !== counter) this.seen.set(worker, { counter, changedAt: now });
    }
  }

  /** Whether `worker` has beaten within `durationMs` of `now`. One never seen beating counts as alive until it has been watched that long. */
  isAlive(worker: string, now: number, durationMs: number, firstObservedAt: number): boolean {
    const seen = this.seen.get(worker);
    const since = seen?.changedAt ?? firstObservedAt;
    return now - since < durationMs;
  }
}

export interface LeasePlan {
  /** Leases to take: free ones, or one stolen from the most loaded worker. */
  readonly take: readonly Lease[];
  /** Shards this worker would have taken but for its capacity (none without one). */
  readonly refusedForCapacity: number;
}

/**
 * How many mailboxes a worker may hold (its memory's worth) and how many each shard holds. A worker holding no
 * shard takes one even past its capacity: a shard nobody can hold would otherwise never be watched.
 */
export interface LeaseCapacity {
  readonly maxMailboxes: number;
  readonly mailboxesOf: (shard: number) => number;
}

/**
 * This worker's next step, towards ceil(shards / live workers) leases each: take free leases (no owner, or one
 * whose owner is gone) up to its share, in random order (workers starting together would otherwise all race for
 * the lowest shards and lose most takes), and when none are left and it is still short, steal one lease (one per
 * cycle, so that ownership moves gradually) from the worker holding the most, if that one holds more than its
 * share, or exactly its share while this worker is two or more short (2, 2, 0 becomes 2, 1, 1). With a capacity
 * (the KCL's maxLeasesForWorker, counted in mailboxes), nothing is taken that would put this worker past it: when
 * a task dies, the survivors take what they can hold and the rest waits for a new task, instead of one survivor
 * taking everything, running out of memory, and passing the load on to kill the next.
 */
export function planLeases(
  me: string,
  leases: readonly Lease[],
  alive: (worker: string) => boolean,
  random: () => number = Math.random,
  capacity?: LeaseCapacity,
): LeasePlan {
  const mine = leases.filter((lease) => lease.owner === me);
  const byOwner = new Map<string, Lease[]>();
  for (const lease of leases)
    if (lease.owner !== null && lease.owner !== me && alive(lease.owner))
      byOwner.set(lease.owner, [...(byOwner.get(lease.owner) ?? []), lease]);
  const share = Math.ceil(leases.length / (byOwner.size + 1));
  const wanted = share - mine.length;
  if (wanted <= 0) return { take: [], refusedForCapacity: 0 };
  const fits = fitting(mine, capacity);
  const free = leases.filter((lease) => lease.owner !== me && (lease.owner === null || !alive(lease.owner)));
  if (free.length > 0) {
    const take: Lease[] = [];
    let refusedForCapacity = 0;
    for (const lease of shuffled(free, random)) {
      if (take.length === wanted) break;
      if (fits(lease)) take.push(lease);
      else refusedForCapacity += 1;
    }
    return { take, refusedForCapacity };
  }
  const [mostLoaded = []] = [...byOwner.values()].sort((a, b) => b.length - a.length);
  const steal = mostLoaded.length > share || (mostLoaded.length === share && wanted > 1);
  const stolen = steal ? mostLoaded.slice(0, 1) : [];
  const taken = stolen.filter(fits);
  return { take: taken, refusedForCapacity: stolen.length - taken.length };
}

/** A filter passing leases, in order, while the mailboxes they add keep this worker within its capacity. */
function fitting(mine: readonly Lease[], capacity: LeaseCapacity | undefined): (lease: Lease) => boolean {
  if (!capacity) return () => true;
  let held = mine.reduce((sum, lease) => sum + capacity.mailboxesOf(lease.shard), 0);
  let shards = mine.length;
  return (lease) => {
    const adds = capacity.mailboxesOf(lease.shard);
    if (shards > 0 && held + adds > capacity.maxMailboxes) return false;
    held += adds;
    shards += 1;
    return true;
  };
}

/** Fisher-Yates, on a copy. */
function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}
