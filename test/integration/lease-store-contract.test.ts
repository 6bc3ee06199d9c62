import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { DynamoDbLeaseStore } from '../../src/adapters/aws/dynamodb-lease-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import type { LeaseStore } from '../../src/ports/watcher.js';
import { startDynamoDb } from '../support/aws-emulators.js';
import { MemoryLeaseStore } from '../support/memory-lease-store.js';

/** The conditional writes the shard ownership relies on, asserted on each lease store. */
function leaseStoreContract(name: string, open: () => Promise<LeaseStore>): void {
  describe(`${name} lease store`, () => {
    it('lists every shard, free at counter 0 until taken, and no heartbeat yet', async () => {
      const store = await open();
      const table = await store.list(3);
      assert.deepEqual(table.leases, [
        { shard: 0, owner: null, counter: 0 },
        { shard: 1, owner: null, counter: 0 },
        { shard: 2, owner: null, counter: 0 },
      ]);
      assert.equal(table.heartbeats.size, 0);
    });

    it('counts each heartbeat per worker', async () => {
      const store = await open();
      await store.heartbeat('a');
      await store.heartbeat('a');
      await store.heartbeat('b');
      assert.deepEqual([...(await store.list(1)).heartbeats].sort(), [
        ['a', 2],
        ['b', 1],
      ]);
    });

    it('lets one of two workers take a lease seen at the same counter', async () => {
      const store = await open();
      const [seen] = (await store.list(1)).leases;
      assert.ok(seen);
      const results = await Promise.all([store.take(seen, 'a'), store.take(seen, 'b')]);
      assert.deepEqual(
        results.filter((r) => r !== undefined),
        [1],
      );
      const [taken] = (await store.list(1)).leases;
      assert.equal(taken?.counter, 1);
      assert.ok(taken?.owner === 'a' || taken?.owner === 'b');
    });

    it('refuses a take at a stale counter: a lease stolen once cannot be stolen back from the same view', async () => {
      const store = await open();
      const [free] = (await store.list(1)).leases;
      assert.ok(free);
      assert.equal(await store.take(free, 'a'), 1);
      const seen = { shard: 0, owner: 'a', counter: 1 };
      assert.equal(await store.take(seen, 'b'), 2);
      assert.equal(await store.take(seen, 'c'), undefined);
      assert.deepEqual((await store.list(1)).leases, [{ shard: 0, owner: 'b', counter: 2 }]);
    });

    it('releases only its own lease, and a released lease is free for anyone', async () => {
      const store = await open();
      const [free] = (await store.list(1)).leases;
      assert.ok(free);
      await store.take(free, 'a');
      await store.release({ shard: 0, owner: 'a', counter: 1 }, 'b');
      assert.equal((await store.list(1)).leases[0]?.owner, 'a');
      await store.release({ shard: 0, owner: 'a', counter: 1 }, 'a');
      const [released] = (await store.list(1)).leases;
      assert.equal(released?.owner, null);
      assert.ok(released && (await store.take(released, 'c')) !== undefined);
    });
  });
}

leaseStoreContract('in-memory (unit tests)', async () => new MemoryLeaseStore());

let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
before(async () => {
  dynamo = await startDynamoDb();
});
after(async () => {
  await dynamo?.stop();
});
// The AWS limits layer sits on `dynamo.client`: the store runs through it, as in every AWS-shape test.
leaseStoreContract(
  'DynamoDB',
  async () => new DynamoDbLeaseStore(stateTable(dynamo.client, await dynamo.createTable()), systemClock),
);
