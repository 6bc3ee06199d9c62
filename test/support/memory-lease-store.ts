import type { Lease, LeaseTable } from '../../src/domain/shard-leases.js';
import type { LeaseStore } from '../../src/ports/watcher.js';

/** The lease table in memory, with the same conditional writes as DynamoDB (the contract test runs both). */
export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<number, Lease>();
  private readonly heartbeats = new Map<string, number>();
  private shardCount: number | undefined;
  /** Makes every call throw, as a partitioned network would. */
  unreachable = false;

  async list(shardCount: number): Promise<LeaseTable> {
    this.check();
    return {
      leases: Array.from({ length: shardCount }, (_, shard) => this.current(shard)),
      heartbeats: new Map(this.heartbeats),
    };
  }

  async heartbeat(worker: string): Promise<void> {
    this.check();
    this.heartbeats.set(worker, (this.heartbeats.get(worker) ?? 0) + 1);
  }

  async claimShardCount(shardCount: number): Promise<number> {
    this.check();
    this.shardCount ??= shardCount;
    return this.shardCount;
  }

  async take(lease: Lease, owner: string): Promise<number | undefined> {
    return this.write(lease.shard, (current) => current.counter === lease.counter, owner);
  }

  async release(lease: Lease, owner: string): Promise<void> {
    this.write(lease.shard, (current) => current.owner === owner, null);
  }

  private current(shard: number): Lease {
    return this.leases.get(shard) ?? { shard, owner: null, counter: 0 };
  }

  private write(
    shard: number,
    condition: (current: Lease) => boolean,
    owner: string | null,
  ): number | undefined {
    this.check();
    const current = this.current(shard);
    if (!condition(current)) return undefined;
    const counter = current.counter + 1;
    this.leases.set(shard, { shard, owner, counter });
    return counter;
  }

  private check(): void {
    if (this.unreachable) throw new Error('lease table unreachable');
  }
}
