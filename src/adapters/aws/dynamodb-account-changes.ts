import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { shardOf } from '../../domain/shard-leases.js';
import type { Clock } from '../../ports/services.js';
import { batchGetAll, queryAll, type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { ACCOUNT_SHARD_INDEX, TABLE_KEYS, TABLE_PARTITIONS } from './state-table.js';
import type { StoredAccount } from './stored-account.js';

/** How often a watcher task reads its accounts anyway: a safety net for a change it could have missed. */
export const FULL_LISTING_EVERY_MS = 10 * 60_000;

/** A shard number as its version item's sort key: zero-padded, so that a query lists them in order. */
export const padded = (shard: number) => String(shard).padStart(5, '0');

/** The version item's count of action commands filed for the shard's accounts (ActionCommandOutbox.file). */
export const COMMANDS_FILED = 'commandsFiled';

/** Shard queries a task runs at once. */
const SHARD_READS_AT_ONCE = 8;

/** The index keys that file an account under its shard (see ACCOUNT_SHARD_INDEX). */
export function accountShardKeys(accountId: string, shardCount: number) {
  return {
    [ACCOUNT_SHARD_INDEX.partitionKey]: `${ACCOUNT_SHARD_INDEX.partitionPrefix}${padded(shardOf(accountId, shardCount))}`,
    [ACCOUNT_SHARD_INDEX.sortKey]: accountId,
  };
}

/** Whether an item was filed in the shard index (written by this version or later) and so counted there. */
export const inShardIndex = (item: Record<string, unknown> | undefined): boolean =>
  item !== undefined && ACCOUNT_SHARD_INDEX.partitionKey in item;

/** A shard's version item: bumped by every account write there, with its accounts and the mailboxes they watch. */
export interface ShardVersion {
  readonly version: number;
  readonly accounts: number;
  readonly mailboxes: number;
  readonly commandsFiled: number;
}

/** How an account write changed its shard's counts: an account added (+1), removed (-1) or changed (0). */
export interface ShardDelta {
  readonly accounts: number;
  readonly mailboxes: number;
}

/**
 * The accounts as a watcher task lists them, at a cost that grows with changes, not with accounts times tasks.
 * Every write of an account bumps its shard's version item (`bump`); a listing reads the version items (256 small
 * ones) and re-reads, through the shard index, only the shards this task holds whose version moved, or that it
 * just took. Each changed shard is read again at the next listing too (the index may lag a write by a moment),
 * and all held shards every FULL_LISTING_EVERY_MS. Polled rather than fed by DynamoDB Streams: a stream needs a
 * consumer per task (or a fan-out through Lambda) and has no emulator here, while the versions cost one small
 * query per poll. Items from before the shard index (no index keys) are read from the account partition at the
 * first listing, and every FULL_LISTING_EVERY_MS while any are left (`idlehook accounts seal` rewrites them).
 */
export class AccountChanges extends StateTableAdapter {
  private state:
    | {
        readonly fullAt: number;
        readonly byShard: Map<number, readonly StoredAccount[]>;
        readonly unindexed: readonly StoredAccount[];
        versions: ReadonlyMap<number, ShardVersion>;
        recheck: ReadonlySet<number>;
      }
    | undefined;

  /** Whether the account partition may still hold items from before the shard index (until a look finds none). */
  private unindexedLeft = true;

  constructor(
    table: StateTable,
    private readonly shardCount: number,
    private readonly clock: Clock,
    private readonly readAll: () => Promise<StoredAccount[]>,
  ) {
    super(table);
  }

  /** Marks the account's shard changed (after its item was written or deleted), with its counts' change. */
  async bump(accountId: string, delta: ShardDelta): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.accountVersion(padded(shardOf(accountId, this.shardCount))),
        UpdateExpression: 'ADD version :one, accounts :accounts, mailboxes :mailboxes',
        ExpressionAttributeValues: { ':one': 1, ':accounts': delta.accounts, ':mailboxes': delta.mailboxes },
      }),
    );
  }

  /** How many accounts are stored: the shards' counts summed (256 small items, whatever the number of accounts). */
  async accountTotal(): Promise<number> {
    let total = 0;
    for (const { accounts } of (await this.versions()).values()) total += accounts;
    return total;
  }

  /** The mailboxes each shard's accounts watch, from the last listing's versions (or a fresh read). */
  async mailboxesByShard(): Promise<ReadonlyMap<number, number>> {
    const versions = this.state?.versions ?? (await this.versions());
    return new Map([...versions].map(([shard, { mailboxes }]) => [shard, mailboxes]));
  }

  /** Per shard, the action commands filed there, as of the last listing (none before it). */
  commandsFiled(): ReadonlyMap<number, number> {
    const versions = this.state?.versions ?? new Map<number, ShardVersion>();
    return new Map([...versions].map(([shard, { commandsFiled }]) => [shard, commandsFiled]));
  }

  /** The accounts of the shards `held` (every shard when undefined), as of now. */
  async accounts(held: readonly number[] | undefined): Promise<StoredAccount[]> {
    const shards = held ?? Array.from({ length: this.shardCount }, (_, shard) => shard);
    const now = this.clock.now();
    // Versions first: a write after them shows as a newer version at the next call.
    const versions = await this.versions();
    const state = this.state;
    if (!state || now - state.fullAt >= FULL_LISTING_EVERY_MS) {
      const byShard = new Map<number, readonly StoredAccount[]>();
      const all = held === undefined ? await this.readAll() : await this.readShards(shards);
      // Read whole (a filter does not save reads), so only while the last look found any.
      const unindexed = held === undefined || !this.unindexedLeft ? [] : await this.readUnindexed();
      this.unindexedLeft = unindexed.length > 0;
      for (const account of all) {
        const shard = shardOf(account.id, this.shardCount);
        byShard.set(shard, [...(byShard.get(shard) ?? []), account]);
      }
      for (const shard of shards) if (!byShard.has(shard)) byShard.set(shard, []);
      this.state = { fullAt: now, byShard, unindexed, versions, recheck: new Set() };
      return this.held(shards);
    }
    const changed = new Set(
      [...versions].filter(([shard, v]) => state.versions.get(shard)?.version !== v.version).map(([s]) => s),
    );
    const reread = shards.filter(
      (shard) => !state.byShard.has(shard) || changed.has(shard) || state.recheck.has(shard),
    );
    const fresh = await this.readShards(reread);
    for (const shard of reread) state.byShard.set(shard, []);
    for (const account of fresh) {
      const shard = shardOf(account.id, this.shardCount);
      state.byShard.set(shard, [...(state.byShard.get(shard) ?? []), account]);
    }
    const wanted = new Set(shards);
    for (const shard of [...state.byShard.keys()]) if (!wanted.has(shard)) state.byShard.delete(shard);
    state.versions = versions;
    state.recheck = changed;
    return this.held(shards);
  }

  private held(shards: readonly number[]): StoredAccount[] {
    const state = this.state;
    if (!state) return [];
    const wanted = new Set(shards);
    const indexed = new Set<string>();
    const accounts = shards.flatMap((shard) => state.byShard.get(shard) ?? []);
    for (const account of accounts) indexed.add(account.id);
    const unindexed = state.unindexed.filter(
      (account) => !indexed.has(account.id) && wanted.has(shardOf(account.id, this.shardCount)),
    );
    return [...accounts, ...unindexed].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private async versions(): Promise<ReadonlyMap<number, ShardVersion>> {
    const items = await queryAll<{
      sk: string;
      version?: number;
      accounts?: number;
      mailboxes?: number;
      [COMMANDS_FILED]?: number;
    }>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.accountVersions },
    });
    return new Map(
      items.map((item) => [
        Number(item.sk),
        {
          version: item.version ?? 0,
          accounts: item.accounts ?? 0,
          mailboxes: item.mailboxes ?? 0,
          commandsFiled: item[COMMANDS_FILED] ?? 0,
        },
      ]),
    );
  }

  /** The shards' accounts, SHARD_READS_AT_ONCE queries at a time (a start takes dozens of shards at once). */
  private async readShards(shards: readonly number[]): Promise<StoredAccount[]> {
    const accounts: StoredAccount[] = [];
    const pending = [...shards];
    const reader = async () => {
      for (let shard = pending.shift(); shard !== undefined; shard = pending.shift())
        accounts.push(
          ...(await queryAll<StoredAccount>(this.documents, {
            TableName: this.tableName,
            IndexName: ACCOUNT_SHARD_INDEX.name,
            KeyConditionExpression: `${ACCOUNT_SHARD_INDEX.partitionKey} = :shard`,
            ExpressionAttributeValues: { ':shard': `${ACCOUNT_SHARD_INDEX.partitionPrefix}${padded(shard)}` },
          })),
        );
    };
    await Promise.all(Array.from({ length: SHARD_READS_AT_ONCE }, reader));
    return accounts;
  }

  /**
   * Accounts stored before the shard index, which it does not hold: their keys found by a filtered query of the
   * account partition (read whole; only the keys come back), then the items themselves.
   */
  private async readUnindexed(): Promise<StoredAccount[]> {
    const keys = await queryAll<{ pk: string; sk: string }>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'attribute_not_exists(#indexed)',
      ProjectionExpression: 'pk, sk',
      ExpressionAttributeNames: { '#indexed': ACCOUNT_SHARD_INDEX.partitionKey },
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.accounts },
    });
    return batchGetAll<StoredAccount>(
      this.documents,
      this.tableName,
      keys.map(({ pk, sk }) => ({ pk, sk })),
    );
  }
}
