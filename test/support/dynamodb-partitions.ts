// DynamoDB's per-partition throughput, enforced in front of dynalite: AWS serves at most 3,000 read units and
// 1,000 write units a second for one partition key value (and for one index partition key value), and throttles
// past that with ProvisionedThroughputExceededException, which the SDK retries with backoff. dynalite serves any
// rate, so without this a design with a hot key passes here and throttles in production.
//
// Units as DynamoDB counts them: a read is its item size (a query: the items it returned, together) rounded up to
// 4 KB, halved when eventually consistent; a write is its item size rounded up to 1 KB, charged again on each
// index the item is in. Approximations, each on the side of fewer units: an update or delete counts the key's
// partition once at 1 unit (its item size is not known before it runs), and writes to an index count the new
// item only.
import type { AttributeValue, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoItemSize } from './aws-limits.js';

export const PARTITION_LIMITS = { readUnitsPerSecond: 3_000, writeUnitsPerSecond: 1_000 } as const;

const INDEX_KEYS = ['gsi1pk', 'gsi2pk'] as const;

type Item = Record<string, AttributeValue>;
type Input = Record<string, unknown>;

/** Units used, per partition key value and second, across every client of one DynamoDB server. */
export class PartitionMeter {
  private readonly current = new Map<string, { second: number; read: number; write: number }>();
  /** Units over the whole run, by partition (`pk`, or `<index>:<value>`). */
  readonly totals = new Map<string, { read: number; write: number }>();
  /** Requests refused for throughput, by partition. */
  readonly throttled = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether `units` more of `kind` would take `partition` past its limit this second. */
  full(partition: string, kind: 'read' | 'write', units = 0): boolean {
    const used = this.window(partition);
    return kind === 'read'
      ? used.read + units > PARTITION_LIMITS.readUnitsPerSecond
      : used.write + units > PARTITION_LIMITS.writeUnitsPerSecond;
  }

  /** The most units of each kind any one second saw, by partition. */
  readonly peaks = new Map<string, { read: number; write: number }>();

  charge(partition: string, kind: 'read' | 'write', units: number): void {
    const used = this.window(partition);
    used[kind] += units;
    const peak = this.peaks.get(partition) ?? { read: 0, write: 0 };
    peak[kind] = Math.max(peak[kind], used[kind]);
    this.peaks.set(partition, peak);
    const total = this.totals.get(partition) ?? { read: 0, write: 0 };
    total[kind] += units;
    this.totals.set(partition, total);
  }

  refuse(partition: string): void {
    this.throttled.set(partition, (this.throttled.get(partition) ?? 0) + 1);
  }

  private window(partition: string) {
    const second = Math.floor(this.now() / 1000);
    const used = this.current.get(partition);
    if (used && used.second === second) return used;
    const fresh = { second, read: 0, write: 0 };
    this.current.set(partition, fresh);
    return fresh;
  }
}

const s = (value: AttributeValue | undefined) => value?.S;
const readUnits = (bytes: number, consistent: boolean) =>
  Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** The partitions a request is charged to before it runs: what is throttled if full. */
export function partitionsOf(
  operation: string,
  input: Input,
): { partition: string; kind: 'read' | 'write' }[] {
  const key = (input.Key ?? input.Item) as Item | undefined;
  if (operation === 'GetItem') return [{ partition: s(key?.pk) ?? '', kind: 'read' }];
  if (operation === 'PutItem' || operation === 'UpdateItem' || operation === 'DeleteItem')
    return [{ partition: s(key?.pk) ?? '', kind: 'write' }];
  if (operation === 'Query') {
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>;
    const placeholder = /(?:pk|gsi1pk|gsi2pk)\s*=\s*(:\w+)/.exec(
      String(input.KeyConditionExpression ?? ''),
    )?.[1];
    const value = placeholder ? s(values[placeholder]) : undefined;
    const index = input.IndexName ? `${String(input.IndexName)}:` : '';
    return value ? [{ partition: `${index}${value}`, kind: 'read' }] : [];
  }
  if (operation === 'BatchGetItem')
    return Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: Item[] }>)
      .flatMap((request) => request.Keys ?? [])
      .map((k) => ({ partition: s(k.pk) ?? '', kind: 'read' as const }));
  if (operation === 'BatchWriteItem')
    return Object.values((input.RequestItems ?? {}) as Record<string, Input[]>)
      .flat()
      .map((request) => {
        const put = (request.PutRequest as { Item?: Item } | undefined)?.Item;
        const del = (request.DeleteRequest as { Key?: Item } | undefined)?.Key;
        return { partition: s((put ?? del)?.pk) ?? '', kind: 'write' as const };
      });
  return [];
}

/** The units a request used, once it has run, by partition. */
export function unitsOf(
  operation: string,
  input: Input,
  output: Input,
): { partition: string; kind: 'read' | 'write'; units: number }[] {
  const consistent = input.ConsistentRead === true;
  if (operation === 'GetItem') {
    const item = output.Item as Item | undefined;
    return [
      {
        partition: s((input.Key as Item).pk) ?? '',
        kind: 'read',
        units: readUnits(item ? dynamoItemSize(item) : 1, consistent),
      },
    ];
  }
  if (operation === 'Query') {
    const [target] = partitionsOf(operation, input);
    const bytes = ((output.Items ?? []) as Item[]).reduce((n, item) => n + dynamoItemSize(item), 0);
    return target ? [{ ...target, units: readUnits(bytes, consistent) }] : [];
  }
  if (operation === 'BatchGetItem')
    return Object.values((output.Responses ?? {}) as Record<string, Item[]>)
      .flat()
      .map((item) => ({
        partition: s(item.pk) ?? '',
        kind: 'read' as const,
        units: readUnits(dynamoItemSize(item), false),
      }));
  const itemWrites = (item: Item) => {
    const units = writeUnits(dynamoItemSize(item));
    return [
      { partition: s(item.pk) ?? '', kind: 'write' as const, units },
      ...INDEX_KEYS.flatMap((name) => {
        const value = s(item[name]);
        return value
          ? [{ partition: `${name.replace('pk', '')}:${value}`, kind: 'write' as const, units }]
          : [];
      }),
    ];
  };
  if (operation === 'PutItem') return itemWrites(input.Item as Item);
  if (operation === 'UpdateItem' || operation === 'DeleteItem')
    return [{ partition: s((input.Key as Item).pk) ?? '', kind: 'write', units: 1 }];
  if (operation === 'BatchWriteItem')
    return Object.values((input.RequestItems ?? {}) as Record<string, Input[]>)
      .flat()
      .flatMap((request) => {
        const put = (request.PutRequest as { Item?: Item } | undefined)?.Item;
        if (put) return itemWrites(put);
        const del = (request.DeleteRequest as { Key?: Item } | undefined)?.Key;
        return [{ partition: s(del?.pk) ?? '', kind: 'write' as const, units: 1 }];
      });
  return [];
}

/** What DynamoDB answers a request to a partition past its throughput (the SDK retries it, with backoff). */
class ProvisionedThroughputExceededException extends Error {
  override readonly name = 'ProvisionedThroughputExceededException';
  readonly $fault = 'client';
  readonly $metadata = { httpStatusCode: 400 };
}

/**
 * Whether a request may go ahead on `meter`: charges its writes and returns undefined, or returns the partition
 * it would take past its limit (counted as refused). Reads are charged once answered (`chargeReads`).
 */
export function admit(meter: PartitionMeter, operation: string, input: Input): string | undefined {
  const writes = unitsOf(operation, input, {}).filter((use) => use.kind === 'write');
  for (const { partition, units } of writes)
    if (meter.full(partition, 'write', units)) {
      meter.refuse(partition);
      return partition;
    }
  for (const { partition, kind } of partitionsOf(operation, input))
    if (kind === 'read' && meter.full(partition, 'read')) {
      meter.refuse(partition);
      return partition;
    }
  for (const { partition, units } of writes) meter.charge(partition, 'write', units);
  return undefined;
}

export function chargeReads(meter: PartitionMeter, operation: string, input: Input, output: Input): void {
  for (const { partition, kind, units } of unitsOf(operation, input, output))
    if (kind === 'read') meter.charge(partition, kind, units);
}

/**
 * Meters `client`'s requests on `meter` (shared by every client of one server), refusing those to a partition
 * past its limit this second. Installed where the SDK's retries wrap it, so a throttled request is retried as
 * in AWS.
 */
export function enforcePartitionLimits(client: DynamoDBClient, meter: PartitionMeter): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      const input = args.input as Input;
      // Writes are charged as they are sent (their size is known), reads once answered: requests sent together
      // cannot all slip under the limit before any is counted.
      const refused = admit(meter, operation, input);
      if (refused !== undefined)
        throw new ProvisionedThroughputExceededException(
          `The level of configured provisioned throughput for the table was exceeded (partition ${refused})`,
        );
      const result = await next(args);
      chargeReads(meter, operation, input, (result.output ?? {}) as unknown as Input);
      return result;
    },
    { step: 'deserialize', name: 'partitionLimits', priority: 'low' },
  );
}
