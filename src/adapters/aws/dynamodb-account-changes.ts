import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { shardOf } from '../../domain/shard-leases.js';
import type { Clock } from '../../ports/services.js';
import type { StoredAccount } from './dynamodb-account-repository.js';
import { queryAll } from './dynamodb-documents.js';
import { ACCOUNT_SHARD_INDEX, TABLE_KEYS, TABLE_PARTITIONS } from './state-table.js';

/** How often a watcher task reads every account anyway: a safety net for a change it could have missed. */
export const FULL_LISTING_EVERY_MS = 10 * 60_000;

const padded = (shard: number) => String(shard).padStart(5, '0');

/** The index keys that file an account under its shard (see ACCOUNT_SHARD_INDEX). */
export function accountShardKeys(accountId: string, shardCount: number) {
  return {
    [ACCOUNT_SHARD_INDEX.partitionKey]: `${ACCOUNT_SHARD_INDEX.partitionPrefix}${padded(shardOf(accountId, shardCount))}`,
    [ACCOUNT_SHARD_INDEX.sortKey]: accountId,
  };
}

/**
 * The accounts as a watcher task lists them, at a cost that grows with changes, not with accounts times tasks.
 * Every write of an account bumps its shard's version item (`bump`); a listing reads the 256 version items (a few
 * KB) and re-reads, through the shard index, only the shards whose version moved since. Each changed shard is
 * read again at the next listing too (the index may lag a write by a moment), and everything is read in full
 * every FULL_LISTING_EVERY_MS (and at the first listing). Polled rather than fed by DynamoDB Streams: a stream
 * needs a consumer per task (or a fan-out through Lambda) and has no emulator here, while the versions cost one
 * small query per poll.
 */
export class AccountChanges {
  private listing:
    | {
        readonly fullAt: number;
        readonly byShard: Map<number, Map<string, StoredAccount>>;
        versions: ReadonlyMap<number, number>;
        recheck: ReadonlySet<number>;
      }
    | undefined;

  constructor(
    private readonly documents: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly shardCount: number,
    private readonly clock: Clock,
    private readonly readAll: () => Promise<StoredAccount[]>,
  ) {}

  /** Marks the account's shard changed (after its item was written or deleted). */
  async bump(accountId: string): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.accountVersion(padded(shardOf(accountId, this.shardCount))),
        UpdateExpression: 'ADD version :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
  }

  /** Every account, as of now: from memory, plus the shards that changed since the last call. */
  async accounts(): Promise<StoredAccount[]> {
    const now = this.clock.now();
    const listing = this.listing;
    if (!listing || now - listing.fullAt >= FULL_LISTING_EVERY_MS) {
      // Versions first: a write after them shows as a newer version at the next call.
      const versions = await this.versions();
      const byShard = new Map<number, Map<string, StoredAccount>>();
      for (const account of await this.readAll()) this.file(byShard, account);
      this.listing = { fullAt: now, byShard, versions, recheck: new Set() };
      return this.flattened();
    }
    const versions = await this.versions();
    const changed = [...versions].filter(([shard, version]) => listing.versions.get(shard) !== version);
    const reread = new Set([...changed.map(([shard]) => shard), ...listing.recheck]);
    await Promise.all(
      [...reread].map(async (shard) => {
        const fresh = await this.shardAccounts(shard);
        // Items written before the index existed are not in it: they stay until the next full listing.
        const kept = [...(listing.byShard.get(shard)?.values() ?? [])].filter(
          (account) => !(ACCOUNT_SHARD_INDEX.partitionKey in account),
        );
        const accounts = new Map<string, StoredAccount>();
        for (const account of [...kept, ...fresh]) accounts.set(account.id, account);
        listing.byShard.set(shard, accounts);
      }),
    );
    listing.versions = versions;
    listing.recheck = new Set(changed.map(([shard]) => shard));
    return this.flattened();
  }

  private file(byShard: Map<number, Map<string, StoredAccount>>, account: StoredAccount): void {
    const shard = shardOf(account.id, this.shardCount);
    const accounts = byShard.get(shard) ?? new Map<string, StoredAccount>();
    accounts.set(account.id, account);
    byShard.set(shard, accounts);
  }

  private flattened(): StoredAccount[] {
    return [...(this.listing?.byShard.values() ?? [])].flatMap((accounts) => [...accounts.values()]);
  }

  private async versions(): Promise<ReadonlyMap<number, number>> {
    const items = await queryAll<{ sk: string; version: number }>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.accountVersions },
    });
    return new Map(items.map((item) => [Number(item.sk), item.version]));
  }

  private shardAccounts(shard: number): Promise<StoredAccount[]> {
    return queryAll<StoredAccount>(this.documents, {
      TableName: this.tableName,
      IndexName: ACCOUNT_SHARD_INDEX.name,
      KeyConditionExpression: `${ACCOUNT_SHARD_INDEX.partitionKey} = :shard`,
      ExpressionAttributeValues: { ':shard': `${ACCOUNT_SHARD_INDEX.partitionPrefix}${padded(shard)}` },
    });
  }
}
