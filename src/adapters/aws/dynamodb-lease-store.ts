import { DeleteCommand, paginateScan, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Lease, LeaseTable } from '../../domain/shard-leases.js';
import type { Clock } from '../../ports/services.js';
import type { LeaseStore } from '../../ports/watcher.js';
import { isFailedCondition, queryAll, type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { TABLE_KEYS, TABLE_PARTITIONS, TTL_ATTRIBUTE } from './state-table.js';

const shardKey = (shard: number) => TABLE_KEYS.lease(String(shard).padStart(6, '0'));
const HEARTBEAT_PREFIX = TABLE_KEYS.heartbeat('').sk;
const HEARTBEAT_KEPT_SECONDS = 86_400;
/** OWNER is a DynamoDB reserved word. */
const NAMES = { '#owner': 'owner', '#counter': 'counter' };

/** Shard leases and watcher heartbeats in the state table's LEASES partition (see ports LeaseStore). */
export class DynamoDbLeaseStore extends StateTableAdapter implements LeaseStore {
  constructor(
    table: StateTable,
    private readonly clock: Clock,
  ) {
    super(table);
  }

  async list(shardCount: number): Promise<LeaseTable> {
    const items = await queryAll<{ sk: string; owner?: string; counter: number }>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.leases },
      ConsistentRead: true,
    });
    const heartbeats = new Map<string, number>();
    const leases = new Map<number, Lease>();
    for (const item of items) {
      if (item.sk.startsWith(HEARTBEAT_PREFIX))
        heartbeats.set(item.sk.slice(HEARTBEAT_PREFIX.length), item.counter);
      else if (/^\d+$/.test(item.sk))
        leases.set(Number(item.sk), {
          shard: Number(item.sk),
          owner: item.owner ?? null,
          counter: item.counter,
        });
    }
    return {
      leases: Array.from(
        { length: shardCount },
        (_, shard) => leases.get(shard) ?? { shard, owner: null, counter: 0 },
      ),
      heartbeats,
    };
  }

  async heartbeat(worker: string): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.heartbeat(worker),
        // Every task that ever ran leaves an item: TTL removes those of tasks gone for a day.
        UpdateExpression: 'ADD #counter :one SET #expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#counter': 'counter', '#expiresAt': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':one': 1,
          ':expiresAt': Math.floor(this.clock.now() / 1000) + HEARTBEAT_KEPT_SECONDS,
        },
      }),
    );
  }

  async claimShardCount(shardCount: number): Promise<number> {
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.shardCount(),
        UpdateExpression: 'SET #count = if_not_exists(#count, :count)',
        ExpressionAttributeNames: { '#count': 'shardCount' },
        ExpressionAttributeValues: { ':count': shardCount },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return Number(Attributes?.shardCount);
  }

  /**
   * Deletes every item of the lease partition (leases, heartbeats, the shard count) and every cursor's lease
   * epoch, so that the next watcher starts a new shard count from scratch (`idlehook leases reset`; every
   * watcher stopped). The number of items changed.
   */
  async reset(): Promise<{ readonly leaseItems: number; readonly cursors: number }> {
    const items = await queryAll<{ pk: string; sk: string }>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.leases },
      ProjectionExpression: 'pk, sk',
    });
    for (const item of items)
      await this.documents.send(
        new DeleteCommand({ TableName: this.tableName, Key: { pk: item.pk, sk: item.sk } }),
      );
    // Cursors are spread over one partition per mailbox: only a scan finds them all (an operator's one-off).
    let cursors = 0;
    for await (const page of paginateScan(
      { client: this.documents },
      {
        TableName: this.tableName,
        FilterExpression: 'begins_with(pk, :mailbox) AND attribute_exists(leaseEpoch)',
        ExpressionAttributeValues: { ':mailbox': TABLE_PARTITIONS.mailbox },
        ProjectionExpression: 'pk, sk',
      },
    ))
      for (const item of (page.Items ?? []) as { pk: string; sk: string }[]) {
        await this.documents.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: item.pk, sk: item.sk },
            UpdateExpression: 'REMOVE leaseEpoch',
          }),
        );
        cursors++;
      }
    return { leaseItems: items.length, cursors };
  }

  take(lease: Lease, owner: string): Promise<number | undefined> {
    return this.update(lease, {
      UpdateExpression: 'SET #owner = :owner, #counter = :next',
      ConditionExpression:
        lease.counter === 0 ? 'attribute_not_exists(#counter) OR #counter = :seen' : '#counter = :seen',
      ExpressionAttributeValues: { ':owner': owner, ':seen': lease.counter, ':next': lease.counter + 1 },
    });
  }

  async release(lease: Lease, owner: string): Promise<void> {
    await this.update(lease, {
      UpdateExpression: 'SET #counter = #counter + :one REMOVE #owner',
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeValues: { ':owner': owner, ':one': 1 },
    });
  }

  /** The counter after the write, or undefined when its condition did not hold. */
  private async update(
    lease: Lease,
    write: Pick<UpdateCommandInput, 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeValues'>,
  ): Promise<number | undefined> {
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: shardKey(lease.shard),
          ExpressionAttributeNames: NAMES,
          ReturnValues: 'UPDATED_NEW',
          ...write,
        }),
      );
      return Number(Attributes?.counter);
    } catch (error) {
      if (isFailedCondition(error)) return undefined;
      throw error;
    }
  }
}
