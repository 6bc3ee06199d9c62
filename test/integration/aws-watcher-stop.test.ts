// Stopping a watcher task (SIGTERM in Fargate) while its lease cycle is still waiting on DynamoDB: the stop waits
// for that cycle, so that no lease is taken after the task released its leases, and no request outlives the stop.
// DynamoDB is dynalite behind a client that answers each request 250 ms late, so that a cycle is caught mid-way.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { startEmulatedStack } from '../support/aws-pipeline.js';

describe('stopping a watcher task', () => {
  let stack: Awaited<ReturnType<typeof startEmulatedStack>>;
  before(async () => {
    stack = await startEmulatedStack('idlehook-stop');
  });
  after(async () => stack?.stop());

  it('waits for a lease cycle under way: no DynamoDB request is left in flight or starts after the stop', async () => {
    const slow = new DynamoDBClient(stack.dynamo.clientConfig);
    let inFlight = 0;
    let stopped = false;
    let afterStop = 0;
    slow.middlewareStack.add(
      (next) => async (args) => {
        if (stopped) afterStop++;
        inFlight++;
        try {
          await sleep(250);
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: 'initialize', name: 'slowDynamoDb' },
    );
    const env = loadAwsEnvironment({
      ...stack.variables,
      IDLEHOOK_SECRET_PREFIX: 'idlehook/StopTest/',
      IDLEHOOK_LOG_LEVEL: 'error',
      // Cycles every second (a third of the lease).
      IDLEHOOK_LEASE_SECONDS: '3',
      IDLEHOOK_SHARD_COUNT: '16',
    });
    const watcher = await startAwsWatcher(env, {
      clients: { ...stack.clients, dynamo: slow },
      healthPort: 0,
      heartbeat: async () => {},
    });
    // The next cycle starts at 1 s and takes at least two slow round trips (heartbeat, then the lease listing).
    const deadline = Date.now() + 10_000;
    await sleep(1_000);
    while (inFlight === 0 && Date.now() < deadline) await sleep(10);
    assert.ok(inFlight > 0, 'a lease cycle is under way');
    await watcher.stop();
    stopped = true;
    assert.equal(inFlight, 0, 'no request outlives the stop');
    await sleep(1_500);
    assert.equal(afterStop, 0, 'no request starts after the stop');
  });
});
