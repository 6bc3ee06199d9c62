import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerResolver } from '../../src/adapters/aws/secrets-manager-resolver.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { AWS_REQUEST_TIMEOUTS, composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { storedDovecotAccount } from '../support/accounts.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { FlakyNetwork } from '../support/flaky-network.js';
import { UNFETCHED_LINKS, withLinkKey } from '../support/link-endpoint.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../support/secrets-manager-standin.js';

// The watcher reaches DynamoDB and Secrets Manager (a stand-in speaking its protocol: it cannot run here) through
// networks that can go silent: requests then hang, with no error, as behind a NAT that lost its state.
describe('a watcher whose AWS services go silent', () => {
  let dovecot: DovecotServer;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let secretsManager: SecretsManagerStandIn;
  let dynamoNetwork: FlakyNetwork;
  let secretsNetwork: FlakyNetwork;
  let watcherDynamo: DynamoDBClient;
  let watcherSecrets: SecretsManagerClient;
  let direct: ReturnType<typeof composeAwsAdapters>;
  let watcher: AwsWatcher;

  const health = async () =>
    (await (await fetch(watcher.healthUrl)).json()) as {
      mailboxes: number;
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
  const inIdle = (account: string) => async () =>
    (await health()).accounts[account]?.mailboxes.INBOX?.state === 'idle';
  async function within(seconds: number, what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`not within ${seconds} s: ${what}`);
  }
  const account = (id: string) =>
    storedDovecotAccount(dovecot, id, { passwordSecretArn: secretsManager.put(id, `${id}-pw`) });

  before(async () => {
    dovecot = await startDovecot([
      { name: 'support', password: 'support-pw' },
      { name: 'sales', password: 'sales-pw' },
    ]);
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    secretsManager = await startSecretsManager();
    dynamoNetwork = new FlakyNetwork(Number(new URL(dynamo.endpoint).port));
    secretsNetwork = new FlakyNetwork(Number(new URL(secretsManager.endpoint).port));
    await dynamoNetwork.listen();
    await secretsNetwork.listen();
    const env = loadAwsEnvironment({
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
      IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
      IDLEHOOK_BLOB_BUCKET: await aws.createBucket('idlehook-aws-stall'),
      ...UNFETCHED_LINKS,
      IDLEHOOK_LEASE_SECONDS: '3',
      IDLEHOOK_SHARD_COUNT: '4',
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '1',
      IDLEHOOK_LOG_LEVEL: 'error',
      IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    });
    direct = composeAwsAdapters(env, {
      dynamo: dynamo.client,
      secrets: withLinkKey({ resolve: async () => '' }),
    });
    await direct.accounts.put(account('support'));
    // The clients the watcher uses: production's timeouts, through the networks that can go silent.
    watcherDynamo = new DynamoDBClient({
      ...dynamo.clientConfig,
      endpoint: `http://127.0.0.1:${dynamoNetwork.port}`,
      requestHandler: AWS_REQUEST_TIMEOUTS,
    });
    watcherSecrets = new SecretsManagerClient({
      ...dynamo.clientConfig,
      endpoint: `http://127.0.0.1:${secretsNetwork.port}`,
      requestHandler: AWS_REQUEST_TIMEOUTS,
    });
    watcher = await startAwsWatcher(env, {
      clients: {
        dynamo: watcherDynamo,
        sqs: aws.sqs,
        s3: aws.s3,
        secrets: withLinkKey(new SecretsManagerResolver(watcherSecrets, systemClock)),
      },
      healthPort: 0,
      heartbeat: async () => {},
      workerId: 'stalling-task',
    });
  });

  after(async () => {
    await watcher?.stop().catch(() => undefined);
    await direct?.http.close();
    watcherDynamo?.destroy();
    watcherSecrets?.destroy();
    await dynamoNetwork?.close();
    await secretsNetwork?.close();
    await secretsManager?.close();
    await aws?.stop();
    await dynamo?.stop();
    await dovecot?.stop();
  });

  it('DynamoDB: closes its connections once its lease has run out, and takes them up again when DynamoDB answers', async () => {
    await within(15, 'the mailbox in IDLE', inIdle('support'));

    dynamoNetwork.cutOff();
    // Lease 3 s, a tick every second: after that, another task may hold the shard and watch the mailbox.
    await within(10, 'the session of the lost shard closed', async () => (await health()).mailboxes === 0);

    dynamoNetwork.restore();
    // A request stuck on a silent connection times out, the retry opens a fresh one, the lease comes back.
    await within(90, 'the mailbox watched again', inIdle('support'));
  });

  it('Secrets Manager: an account added while a secret read hangs is watched after that read times out', async () => {
    await within(15, 'the first account in IDLE', inIdle('support'));
    const reads = () => secretsManager.calls.filter((call) => call === 'GetSecretValue').length;
    const readsBefore = reads();
    // The next secret read gets through, and its answer never comes back.
    secretsNetwork.breakOnce(/GetSecretValue/, 'silence');
    await direct.accounts.put(account('sales'));
    await within(60, 'the new account in IDLE', inIdle('sales'));
    assert.ok(reads() >= readsBefore + 2, 'the read that hung was made again');
    assert.ok(await inIdle('support')(), 'the first account stayed watched meanwhile');
  });
});
