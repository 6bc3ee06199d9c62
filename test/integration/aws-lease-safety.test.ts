// Lease safety on the DynamoDB emulator: a task that can write but not list the lease table, and a shard count
// changed under a deployed table. (The lease algorithm itself: test/unit/shard-leases.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { DynamoDbLeaseStore } from '../../src/adapters/aws/dynamodb-lease-store.js';
import { composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { shardOf } from '../../src/domain/shard-leases.js';
import { ShardOwnership } from '../../src/ownership/shard-ownership.js';
import { startDynamoDb } from '../support/aws-emulators.js';
import { UNFETCHED_LINKS, withLinkKey } from '../support/link-endpoint.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

/** A client whose Query of the lease partition fails while `failing` says so; every other request goes through. */
function clientWithFailingListing(config: DynamoDBClientConfig) {
  const client = new DynamoDBClient(config);
  const control = { failing: false };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      // Marshalled ({ S: 'LEASES' }) or not yet (the document client's 'LEASES'), depending on the step.
      const input = args.input as { ExpressionAttributeValues?: Record<string, unknown> };
      const values = Object.values(input.ExpressionAttributeValues ?? {});
      if (control.failing && context.commandName === 'QueryCommand')
        if (values.some((v) => v === 'LEASES' || (v as { S?: unknown } | null)?.S === 'LEASES'))
          throw Object.assign(new Error('the listing failed'), { name: 'InternalServerError' });
      return next(args);
    },
    { step: 'initialize', name: 'failingListing' },
  );
  return { client, control };
}

describe('shard leases when the listing fails but writes succeed (DynamoDB emulator)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  before(async () => {
    dynamo = await startDynamoDb();
  });
  after(async () => {
    await dynamo?.stop();
  });

  it('a worker that cannot list stops beating: the other takes its shards after the lease duration', async () => {
    const table = await dynamo.createTable();
    const clock = { time: 0, now: () => clock.time };
    const failing = clientWithFailingListing(dynamo.clientConfig);
    const worker = (id: string, client: DynamoDBClient) =>
      new ShardOwnership(new DynamoDbLeaseStore(stateTable(client, table), clock), clock, quiet, {
        workerId: id,
        shardCount: 8,
        leaseDurationMs: 10_000,
      });
    const a = worker('a', failing.client);
    const b = worker('b', dynamo.client);
    await a.cycle();
    await b.cycle();
    assert.equal(a.shards.length, 8, 'a came first and took every shard');
    assert.ok(a.vouched);

    failing.control.failing = true;
    for (let elapsed = 0; elapsed <= 12_000; elapsed += 1_000) {
      clock.time += 1_000;
      await a.cycle();
      await b.cycle();
    }
    assert.deepEqual(a.shards, [], 'a fenced itself off');
    assert.equal(a.vouched, false, 'and says it holds shards it cannot vouch for');
    assert.equal(b.shards.length, 8, "b took a's shards: a's heartbeat stood still");
    failing.client.destroy();
  });

  it('fails the watcher task’s /health once it holds shards it cannot vouch for, and refuses another shard count', async () => {
    const env = (shardCount: number, table: string) =>
      loadAwsEnvironment({
        ...environment(table),
        IDLEHOOK_SHARD_COUNT: String(shardCount),
        IDLEHOOK_LOG_LEVEL: 'error',
      });
    const table = await dynamo.createTable();
    const failing = clientWithFailingListing(dynamo.clientConfig);
    const clients = { dynamo: failing.client, secrets: withLinkKey({ resolve: async () => '' }) };
    let watcher: AwsWatcher | undefined;
    try {
      watcher = await startAwsWatcher(env(4, table), { clients, healthPort: 0, heartbeat: async () => {} });
      const health = async () => {
        const response = await fetch(watcher?.healthUrl ?? '');
        return { status: response.status, body: (await response.json()) as { leases: unknown } };
      };
      assert.deepEqual(await health(), {
        status: 200,
        body: { ...(await health()).body, leases: { shards: 4, vouched: true, shardsLeftForCapacity: 0 } },
      });

      failing.control.failing = true;
      const deadline = Date.now() + 15_000;
      let answer = await health();
      while (answer.status === 200 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        answer = await health();
      }
      assert.equal(answer.status, 503);
      assert.deepEqual(answer.body.leases, { shards: 0, vouched: false, shardsLeftForCapacity: 0 });
      failing.control.failing = false;

      // The table was set up for 4 shards: a task deployed with 8 would map mailboxes to other shards.
      await assert.rejects(
        startAwsWatcher(env(8, table), { clients: { ...clients, dynamo: dynamo.client }, healthPort: 0 }),
        /the lease table was set up for 4 shards and this watcher runs with 8.*Changing shardCount/s,
      );
    } finally {
      await watcher?.stop();
      failing.client.destroy();
    }
  });

  it('takes no more mailboxes than IDLEHOOK_MAX_MAILBOXES_PER_TASK and says how many shards it left', async () => {
    const table = await dynamo.createTable();
    const shardCount = 4;
    // Three accounts of two mailboxes each, in three different shards; the task may hold three mailboxes.
    const ids: string[] = [];
    const used = new Set<number>();
    for (let i = 0; ids.length < 3; i++) {
      const shard = shardOf(`account-${i}`, shardCount);
      if (used.has(shard)) continue;
      used.add(shard);
      ids.push(`account-${i}`);
    }
    const accounts = composeAwsAdapters(
      loadAwsEnvironment({
        ...environment(table),
        IDLEHOOK_SHARD_COUNT: String(shardCount),
        IDLEHOOK_LOG_LEVEL: 'error',
      }),
      {
        dynamo: dynamo.client,
      },
    ).accounts;
    for (const id of ids)
      await accounts.put({
        id,
        // Nothing listens there: the task's sessions fail and retry, which does not matter here.
        host: '127.0.0.1',
        port: 9,
        security: 'tls',
        user: id,
        passwordSecretArn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:unused',
        mailboxes: ['INBOX', 'Sent'],
        initialSync: 'new',
      });
    const watcher = await startAwsWatcher(
      loadAwsEnvironment({
        ...environment(table),
        IDLEHOOK_SHARD_COUNT: String(shardCount),
        IDLEHOOK_MAX_MAILBOXES_PER_TASK: '3',
        IDLEHOOK_LOG_LEVEL: 'error',
      }),
      {
        clients: { dynamo: dynamo.client, secrets: withLinkKey({ resolve: async () => 'unused' }) },
        healthPort: 0,
        heartbeat: async () => {},
      },
    );
    try {
      const { leases } = (await (await fetch(watcher.healthUrl)).json()) as {
        leases: { shards: number; shardsLeftForCapacity: number };
      };
      // One shard of two mailboxes fits (and the empty fourth); a second account's would make four.
      assert.equal(leases.shards, 2, JSON.stringify(leases));
      assert.equal(leases.shardsLeftForCapacity, 2);
    } finally {
      await watcher.stop();
    }
  });
});

function environment(table: string): Record<string, string> {
  return {
    IDLEHOOK_TABLE_NAME: table,
    IDLEHOOK_INGEST_QUEUE_URL: 'http://127.0.0.1:9/ingest.fifo',
    IDLEHOOK_DELIVERY_QUEUE_URL: 'http://127.0.0.1:9/delivery',
    IDLEHOOK_BLOB_BUCKET: 'unused',
    ...UNFETCHED_LINKS,
    IDLEHOOK_LEASE_SECONDS: '3',
  };
}
