// The partition throughput model in front of dynalite (test/support/dynamodb-partitions.ts): a hot key throttles
// as DynamoDB's does, the SDK's retries carry the requests through, and spread keys never throttle.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynamoDb } from '../support/aws-emulators.js';
import { enforcePartitionLimits, PartitionMeter } from '../support/dynamodb-partitions.js';

/** Makes an item 1 write unit (under 1 KB) or, for the hot key, 2 (under 2 KB). */
const FILLER = 'x'.repeat(900);
const FILLER_2_UNITS = 'x'.repeat(1_900);

describe('DynamoDB partition throughput on dynalite', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let table: string;
  before(async () => {
    dynamo = await startDynamoDb();
    table = await dynamo.createTable();
  });
  after(async () => {
    await dynamo.stop();
  });

  /** `count` puts of `filler` at once, the partition of each from `keys`, on a client metered by `meter`. */
  const burst = async (
    meter: PartitionMeter,
    count: number,
    keys: (i: number) => Record<string, string>,
    filler = FILLER,
  ) => {
    const client = new DynamoDBClient(dynamo.clientConfig);
    enforcePartitionLimits(client, meter);
    const results = await Promise.allSettled(
      Array.from({ length: count }, (_, i) =>
        client.send(
          new PutItemCommand({
            TableName: table,
            Item: Object.fromEntries(
              Object.entries({ ...keys(i), sk: `item-${i}`, filler }).map(([k, v]) => [k, { S: v }]),
            ),
          }),
        ),
      ),
    );
    client.destroy();
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    return { landed: count - failures.length, failures };
  };
  const throttledTotal = (meter: PartitionMeter) => [...meter.throttled.values()].reduce((a, b) => a + b, 0);

  it('throttles one partition key past 1,000 write units a second, as DynamoDB does', async () => {
    const meter = new PartitionMeter();
    // 2 units a write: 3,000 units in all, past the limit even where dynalite completes fewer than 1,000 puts a
    // second (in one CI run 1 KB puts came at 840 a second, and no second was ever full).
    const { landed, failures } = await burst(meter, 1_500, () => ({ pk: 'HOT' }), FILLER_2_UNITS);
    assert.ok(throttledTotal(meter) > 0, 'some writes were refused');
    assert.ok((meter.peaks.get('HOT')?.write ?? 0) <= 1_000, 'never more than 1,000 units in a second');
    // The SDK retried the refused ones with backoff until its retry quota ran out, as a client of AWS would: more
    // landed than one second's 500.
    assert.ok(landed > 500, `${landed} landed`);
    for (const failure of failures) assert.equal(failure.name, 'ProvisionedThroughputExceededException');
    assert.equal(meter.totals.get('HOT')?.write, landed * 2, 'each landed write 2 units');
  });

  it('does not throttle the same load spread over keys', async () => {
    const meter = new PartitionMeter();
    const { failures } = await burst(meter, 1_500, (i) => ({ pk: `SPREAD#${i % 10}` }));
    assert.equal(throttledTotal(meter), 0);
    assert.deepEqual(failures, []);
  });

  it("counts an index write on the index's partition: one hot index key throttles items spread in the table", async () => {
    const meter = new PartitionMeter();
    // 2 units a write, as in the hot-key test: past the index partition's limit even when dynalite is slow.
    await burst(
      meter,
      1_500,
      (i) => ({ pk: `ITEM#${i}`, gsi2pk: 'ACCOUNTS#00001', gsi2sk: `item-${i}` }),
      FILLER_2_UNITS,
    );
    assert.ok(throttledTotal(meter) > 0, 'the index partition was throttled');
    assert.deepEqual([...meter.throttled.keys()], ['gsi2:ACCOUNTS#00001']);
    assert.ok((meter.peaks.get('gsi2:ACCOUNTS#00001')?.write ?? 0) <= 1_000);
  });
});
