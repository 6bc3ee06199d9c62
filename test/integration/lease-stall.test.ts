import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import type { SecretResolver } from '../../src/ports/index.js';
import { composeAwsAdapters, DYNAMODB_TIMEOUTS } from '../../src/runtime/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/runtime/aws-watcher.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { FlakyNetwork } from '../support/flaky-network.js';
import { UNFETCHED_LINKS, withLinkKey } from '../support/link-endpoint.js';

const PASSWORD_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:support';
// Secrets Manager has no local emulator: a resolver with the same contract answers from memory.
const secrets: SecretResolver = {
  resolve: async (arn) => (arn === PASSWORD_ARN ? 'support-pw' : assert.fail(`no secret ${arn}`)),
};

describe('a watcher whose DynamoDB goes silent (requests hang, no error)', () => {
  let dovecot: DovecotServer;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let network: FlakyNetwork;
  let watcherDynamo: DynamoDBClient;
  let watcher: AwsWatcher;

  const health = async () =>
    (await (await fetch(watcher.healthUrl)).json()) as {
      mailboxes: number;
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
  const inIdle = async () => (await health()).accounts.support?.mailboxes.INBOX?.state === 'idle';
  async function within(seconds: number, what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`not within ${seconds} s: ${what}`);
  }

  before(async () => {
    dovecot = await startDovecot([{ name: 'support', password: 'support-pw' }]);
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    network = new FlakyNetwork(Number(new URL(dynamo.endpoint).port));
    await network.listen();
    const env = loadAwsEnvironment({
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
      IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
      IDLEHOOK_BLOB_BUCKET: await aws.createBucket('idlehook-lease-stall'),
      ...UNFETCHED_LINKS,
      IDLEHOOK_LEASE_SECONDS: '3',
      IDLEHOOK_SHARD_COUNT: '4',
      IDLEHOOK_LOG_LEVEL: 'error',
      IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    });
    const direct = composeAwsAdapters(env, { dynamo: dynamo.client, secrets: withLinkKey(secrets) });
    await direct.accounts.put({
      id: 'support',
      host: '127.0.0.1',
      port: dovecot.tlsPort,
      security: 'tls',
      user: 'support',
      passwordSecretArn: PASSWORD_ARN,
      tlsCa: readFileSync(dovecot.caFile, 'utf8'),
      tlsServername: 'localhost',
      mailboxes: ['INBOX'],
      initialSync: 'new',
    });
    await direct.http.close();
    // The watcher reaches DynamoDB through a network that can go silent, with the timeouts production uses.
    watcherDynamo = new DynamoDBClient({
      ...dynamo.clientConfig,
      endpoint: `http://127.0.0.1:${network.port}`,
      requestHandler: DYNAMODB_TIMEOUTS,
    });
    watcher = await startAwsWatcher(env, {
      clients: { dynamo: watcherDynamo, sqs: aws.sqs, s3: aws.s3, secrets: withLinkKey(secrets) },
      healthPort: 0,
      heartbeat: async () => {},
      workerId: 'stalling-task',
    });
  });

  after(async () => {
    await watcher?.stop().catch(() => undefined);
    watcherDynamo?.destroy();
    await network?.close();
    await aws?.stop();
    await dynamo?.stop();
    await dovecot?.stop();
  });

  it('closes its connections once its lease has run out, and takes them up again when DynamoDB answers', async () => {
    await within(15, 'the mailbox in IDLE', inIdle);

    network.cutOff();
    // Lease 3 s, a tick every second: after that, another task may hold the shard and watch the mailbox.
    await within(10, 'the session of the lost shard closed', async () => (await health()).mailboxes === 0);

    network.restore();
    // A request stuck on a silent connection times out, the retry opens a fresh one, the lease comes back.
    await within(90, 'the mailbox watched again', inIdle);
  });
});
