import { errorMessage, IdlehookError } from '../domain/errors.js';
import { HeartbeatObservations, type LeaseCapacity, planLeases, shardOf } from '../domain/shard-leases.js';
import type { Clock, Logger } from '../ports/services.js';
import type { LeaseFence, LeaseStore, MailboxOwnership } from '../ports/watcher.js';

export interface ShardOwnershipSettings {
  /** This worker's name in the lease table: unique per process (the task id, say). */
  readonly workerId: string;
  /** Fixed per deployment: changing it remaps every mailbox. */
  readonly shardCount: number;
  /** A worker whose heartbeat has not moved for this long is gone, and its leases are free. */
  readonly leaseDurationMs: number;
  /** Orders the free shards a worker takes (tests seed it). */
  readonly random?: () => number;
  /**
   * The most mailboxes this worker may hold (what its memory holds), and where to learn how many each shard's
   * accounts watch (a recent figure is fine: it only weighs the shards). Unbounded without it.
   */
  readonly capacity?: {
    readonly maxMailboxes: number;
    readonly mailboxesByShard: () => Promise<ReadonlyMap<number, number>>;
  };
}

/** The lease table was set up for another shard count: mailboxes would map to other shards than its leases. */
export class ShardCountMismatchError extends IdlehookError {
  override readonly name = 'ShardCountMismatchError';
  constructor(stored: number, configured: number) {
    super(
      'SHARD_COUNT_MISMATCH',
      false,
      `the lease table was set up for ${stored} shards and this watcher runs with ${configured} (IDLEHOOK_SHARD_COUNT, the construct's shardCount). ` +
        `Deploy with shardCount ${stored} again; to change it, follow "Changing shardCount" in docs/deploying-to-aws.md (stop every watcher task, then \`idlehook leases reset --stack NAME\`).`,
    );
  }
}

/**
 * Mailbox ownership by shard leases (see domain/shard-leases.ts). `cycle()` beats, takes and steals; the caller
 * runs it every few seconds (a third of the lease duration leaves two heartbeats' slack). A worker whose own
 * heartbeat has not been stored for the lease duration drops every lease before anyone may take them over
 * (self-fencing), and `lease()` answers from the local clock, so a process that was paused checks before it acts.
 * What `lease()` returns carries the lease's counter at the take as an epoch: cursor writes carry it, and the
 * store refuses one under an older epoch than the last write's (fencing that holds even if this clock lied).
 */
export class ShardOwnership implements MailboxOwnership {
  private readonly observations = new HeartbeatObservations();
  private readonly startedAt: number;
  /** Held shards, each with its lease counter as of this worker's take (the epoch its cursor writes carry). */
  private held = new Map<number, number>();
  /** When this worker's heartbeat was last stored (own clock); undefined before the first. */
  private lastBeatAt: number | undefined;
  /** Shards the last cycle left to others (or to nobody) because this worker was at its capacity. */
  private refused = 0;

  constructor(
    private readonly store: LeaseStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly settings: ShardOwnershipSettings,
  ) {
    this.startedAt = clock.now();
  }

  async owned(accountIds: readonly string[]): Promise<readonly string[]> {
    return accountIds.filter((id) => this.lease(id) !== undefined);
  }

  /** The lease to act for the account under, if its shard is held and the heartbeat is recent enough. */
  lease(accountId: string): LeaseFence | undefined {
    if (!this.fresh()) return undefined;
    const epoch = this.held.get(shardOf(accountId, this.settings.shardCount));
    return epoch === undefined ? undefined : { epoch };
  }

  /** The shards this worker holds now. */
  get shards(): readonly number[] {
    return this.fresh() ? [...this.held.keys()].sort((a, b) => a - b) : [];
  }

  /**
   * Stores the shard count at the first start and refuses to run with another: the leases' epochs are per shard,
   * and mailboxes mapped anew would be compared against another shard's counter.
   */
  async checkShardCount(): Promise<void> {
    const stored = await this.store.claimShardCount(this.settings.shardCount);
    if (stored !== this.settings.shardCount)
      throw new ShardCountMismatchError(stored, this.settings.shardCount);
  }

  /**
   * One round: learn who holds what, beat, take and steal. Resolves to whether the held set changed. Listing comes
   * first (as in the KCL): a worker that can beat but not list would otherwise look alive to the others while it
   * fences itself off, and its mailboxes would go unwatched.
   */
  async cycle(): Promise<boolean> {
    const before = this.shards.join(',');
    const { workerId: me, leaseDurationMs, shardCount } = this.settings;
    try {
      const table = await this.store.list(shardCount);
      const now = this.clock.now();
      this.observations.observe(table.heartbeats, now);
      // What the table says is ours; a lease stolen since the last cycle is gone from here on.
      this.held = new Map(
        table.leases.filter((lease) => lease.owner === me).map((lease) => [lease.shard, lease.counter]),
      );
      // The heartbeat vouches for what was just listed, as of when it was sent.
      const beatSentAt = this.clock.now();
      await this.store.heartbeat(me);
      this.lastBeatAt = beatSentAt;
      const alive = (worker: string) =>
        worker === me || this.observations.isAlive(worker, now, leaseDurationMs, this.startedAt);
      const { take, refusedForCapacity } = planLeases(
        me,
        table.leases,
        alive,
        this.settings.random,
        await this.leaseCapacity(),
      );
      if (refusedForCapacity > 0 && this.refused === 0)
        this.logger.warn('at capacity: shards are left for other tasks (scaling adds one if none has room)', {
          worker: me,
          shardsLeft: refusedForCapacity,
          maxMailboxes: this.settings.capacity?.maxMailboxes,
        });
      this.refused = refusedForCapacity;
      await Promise.all(
        take.map(async (lease) => {
          const epoch = await this.store.take(lease, me);
          if (epoch !== undefined) this.held.set(lease.shard, epoch);
        }),
      );
    } catch (error) {
      // The table is unreachable: keep what is held until the heartbeat is too old (see fresh()).
      this.logger.warn('shard lease cycle failed', { worker: me, error: errorMessage(error) });
    }
    const after = this.shards.join(',');
    if (after !== before)
      this.logger.info('shard leases changed', { worker: me, shards: this.shards.length });
    return after !== before;
  }

  /** Shards the last cycle did not take because this worker holds all the mailboxes it may. */
  get shardsRefusedForCapacity(): number {
    return this.refused;
  }

  private async leaseCapacity(): Promise<LeaseCapacity | undefined> {
    const { capacity } = this.settings;
    if (!capacity) return undefined;
    const byShard = await capacity.mailboxesByShard();
    return { maxMailboxes: capacity.maxMailboxes, mailboxesOf: (shard) => byShard.get(shard) ?? 0 };
  }

  /** Gives every held lease up (on SIGTERM), so the others take them without waiting for expiry. */
  async release(): Promise<void> {
    const { workerId: me, shardCount } = this.settings;
    const held = this.held;
    this.held = new Map();
    const { leases } = await this.store.list(shardCount);
    await Promise.all(
      leases.filter((l) => held.has(l.shard) && l.owner === me).map((l) => this.store.release(l, me)),
    );
  }

  /**
   * Whether this worker can vouch for the shards it holds: false while it holds some and its last stored heartbeat
   * is older than the lease duration (it has fenced itself off; the others may take them). /health fails then.
   */
  get vouched(): boolean {
    return this.held.size === 0 || this.fresh();
  }

  /**
   * Others count this worker gone once its heartbeat has stood still for the lease duration on their clocks;
   * a heartbeat this worker stored longer ago than that (on its own clock) may already count as gone.
   */
  private fresh(): boolean {
    return (
      this.lastBeatAt !== undefined && this.clock.now() - this.lastBeatAt < this.settings.leaseDurationMs
    );
  }
}
