import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbAccountRepository } from '../../src/adapters/aws/dynamodb-account-repository.js';
import { DynamoDbApiTokenStore } from '../../src/adapters/aws/dynamodb-api-token-store.js';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { DynamoDbLeaseStore } from '../../src/adapters/aws/dynamodb-lease-store.js';
import { DynamoDbStateStore } from '../../src/adapters/aws/dynamodb-state-store.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { ShardOwnership } from '../../src/ownership/shard-ownership.js';
import { cliAwsEnvironment, startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { startDovecot } from '../support/dovecot.js';
import { type KmsStandIn, startKms } from '../support/kms-standin.js';
import { newWebhookSecret } from '../support/receiver.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../support/secrets-manager-standin.js';

const CLI = resolve(import.meta.dirname, '../../bin/idlehook.js');
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
/** The state store's blob store for large items: none are that large here. */
const unusedOverflow = {
  put: async () => {},
  get: async () => undefined,
  delete: async () => {},
  url: async () => '',
};

describe('the idlehook CLI in AWS mode, on dynalite and fauxqs', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let env: NodeJS.ProcessEnv;
  let table: string;
  let secretsManager: SecretsManagerStandIn;
  let kms: KmsStandIn;
  // Asynchronous on purpose: the emulators run in this process and must keep answering while the CLI runs.
  const idlehook = (...args: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((done) => {
      execFile(
        process.execPath,
        [CLI, ...args, '--aws'],
        { encoding: 'utf8', env },
        (error, stdout, stderr) => done({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  /** The account items as stored, read and written directly (no sealer: sealed values stay as they are). */
  const accountRepository = () =>
    new DynamoDbAccountRepository(
      stateTable(dynamo.client, table),
      { secrets: { resolve: async () => '' }, sealer: undefined },
      quiet,
      { shardCount: 256, clock: { now: () => Date.now() } },
    );

  before(async () => {
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    table = await dynamo.createTable();
    secretsManager = await startSecretsManager();
    kms = await startKms();
    env = {
      ...(await cliAwsEnvironment({ dynamo, secretsManager, kms })),
      IDLEHOOK_CREDENTIALS_KEY_ID: kms.keyArn,
      IDLEHOOK_STACK_NAME: 'CliTest',
      IDLEHOOK_TABLE_NAME: table,
      IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
      IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
      IDLEHOOK_BLOB_BUCKET: 'unused',
      IDLEHOOK_LOG_LEVEL: 'error',
      WRONG_PASSWORD: 'wrong',
    };
  });
  after(async () => {
    await aws.stop();
    await dynamo.stop();
    await secretsManager.close();
    await kms.close();
  });

  // This test passes existing secret ARNs and skips the pre-add check. Creating a secret from --password-env or
  // --secret-env goes through SecretsManagerWriter, which the API's tests (aws-api, aws-connect) exercise against
  // the Secrets Manager stand-in; here --password-env reaches only the doctor (the refused login below).
  it('adds, lists and removes accounts without a redeploy, never showing the password', async () => {
    const added = await idlehook(
      'accounts',
      'add',
      '--skip-check',
      '--id',
      'support',
      '--host',
      'imap.example.com',
      '--user',
      'support@example.com',
      '--password-secret-arn',
      'arn:aws:secretsmanager:us-east-1:1:secret:idlehook/accounts/support-AbCdEf',
      '--mailboxes',
      'INBOX,Support',
    );
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stdout, /Account support added \(support@example.com at imap.example.com:993\)/);
    const listed = await idlehook('accounts', 'list');
    assert.equal(
      listed.stdout.trim(),
      'support  support@example.com  imap.example.com:993 (tls)  INBOX,Support',
    );
    assert.equal((await idlehook('accounts', 'remove', 'support')).status, 0);
    assert.equal((await idlehook('accounts', 'list')).stdout.trim(), '');
  });

  it('seals a password given through the environment; `accounts seal` moves older ones out of Secrets Manager', async () => {
    const repository = accountRepository();
    const added = await idlehook(
      'accounts',
      'add',
      '--skip-check',
      '--id',
      'sealed',
      '--host',
      'imap.example.com',
      '--user',
      'sealed@example.com',
      '--password-env',
      'WRONG_PASSWORD',
    );
    assert.equal(added.status, 0, added.stderr);
    const stored = await repository.current('sealed');
    assert.match(String(stored?.sealedPassword), /^esdk1:/);
    assert.equal(stored?.passwordSecretArn, undefined);
    assert.deepEqual(secretsManager.live(), [], 'no secret made for it');

    // Two accounts from before sealing: one whose secret this stack made, one an operator passed by ARN.
    const own = secretsManager.put('idlehook/accounts/old', 'old-password');
    const operators = secretsManager.put('team/imap/support', 'their-password');
    const settings = {
      host: 'imap.example.com',
      port: 993,
      security: 'tls',
      mailboxes: ['INBOX'],
      initialSync: 'new',
    } as const;
    await repository.put({ ...settings, id: 'old', user: 'old', passwordSecretArn: own });
    await repository.put({ ...settings, id: 'theirs', user: 'theirs', passwordSecretArn: operators });
    const sealing = await idlehook('accounts', 'seal');
    assert.equal(sealing.status, 0, sealing.stderr + sealing.stdout);
    assert.match(sealing.stdout, /theirs: kept in .*team\/imap\/support/);
    assert.match(sealing.stdout, /1 account\(s\) sealed/);
    const old = await repository.current('old');
    assert.match(String(old?.sealedPassword), /^esdk1:/);
    assert.equal(old?.passwordSecretArn, undefined);
    assert.equal(secretsManager.scheduledForDeletion.get('idlehook/accounts/old'), 7);
    assert.equal((await repository.current('theirs'))?.passwordSecretArn, operators);

    const removed = await idlehook('accounts', 'remove', 'sealed');
    assert.match(removed.stdout, /removed, with its sealed credentials/);
    const kept = await idlehook('accounts', 'remove', 'theirs');
    assert.match(kept.stdout, /the secret it named is kept/);
    await idlehook('accounts', 'remove', 'old');
  });

  it("`accounts seal` keeps an operator's secret under the prefix that idlehook did not name, and says so", async () => {
    const repository = accountRepository();
    const theirs = secretsManager.put('idlehook/accounts/ops-password', 'ops-password');
    await repository.put({
      id: 'ops',
      host: 'imap.example.com',
      port: 993,
      security: 'tls',
      user: 'ops',
      passwordSecretArn: theirs,
      mailboxes: ['INBOX'],
      initialSync: 'new',
    });
    const sealing = await idlehook('accounts', 'seal');
    assert.equal(sealing.status, 0, sealing.stderr + sealing.stdout);
    assert.match(sealing.stdout, /ops: sealed; its secret .*ops-password.* is kept \(named by you/);
    assert.match(
      sealing.stdout,
      /1 account\(s\) sealed; 0 secret\(s\) idlehook made for them scheduled for deletion/,
    );
    assert.match(String((await repository.current('ops'))?.sealedPassword), /^esdk1:/);
    assert.equal(secretsManager.scheduledForDeletion.has('idlehook/accounts/ops-password'), false);
    await idlehook('accounts', 'remove', 'ops');
  });

  it('checks an account before adding it, and stores nothing when the login fails', async () => {
    const dovecot = await startDovecot([{ name: 'support', password: 'right' }]);
    try {
      const refused = await idlehook(
        'accounts',
        'add',
        '--id',
        'support',
        '--host',
        'localhost',
        '--port',
        String(dovecot.tlsPort),
        '--ca',
        dovecot.caFile,
        '--user',
        'support',
        '--password-env',
        'WRONG_PASSWORD',
      );
      assert.equal(refused.status, 78, refused.stderr);
      assert.match(
        refused.stdout,
        /FAIL +login .*rejected the login for support: wrong user name or password/,
      );
      assert.match(refused.stderr, /nothing was stored/);
      assert.equal(dovecot.loginFailures('support'), 1, 'exactly one login attempt');
      assert.equal((await idlehook('accounts', 'list')).stdout.trim(), '');
    } finally {
      await dovecot.stop();
    }
  });

  it('rejects a bad account with every bad option named', async () => {
    const bad = await idlehook(
      'accounts',
      'add',
      '--id',
      'no spaces',
      '--host',
      'h',
      '--port',
      '99999',
      '--security',
      'none',
    );
    assert.equal(bad.status, 78);
    for (const option of ['--id', '--port', '--security', '--user'])
      assert.match(bad.stderr, new RegExp(`- ${option}:`));
  });

  it('adds, lists and removes subscriptions', async () => {
    const added = await idlehook(
      'subscriptions',
      'add',
      '--id',
      'helpdesk',
      '--url',
      'https://hooks.example.com/email',
      '--secret-arn',
      secretsManager.put('idlehook/subscriptions/helpdesk', newWebhookSecret()),
      '--events',
      'message.received,account.error',
    );
    assert.equal(added.status, 0, added.stderr);
    assert.equal(
      (await idlehook('subscriptions')).stdout.trim(),
      'helpdesk  https://hooks.example.com/email  enabled',
    );
    assert.equal((await idlehook('subscriptions', 'remove', 'helpdesk')).status, 0);
    assert.equal((await idlehook('subscriptions')).stdout.trim(), '');
  });

  it('refuses to add a subscription whose secret is unreadable or not a whsec_ secret, storing nothing', async () => {
    const add = (arn: string) =>
      idlehook(
        'subscriptions',
        'add',
        '--id',
        'bad',
        '--url',
        'https://hooks.example.com/',
        '--secret-arn',
        arn,
      );
    const notWhsec = await add(
      secretsManager.put('idlehook/subscriptions/plain', 'hunter2-not-a-webhook-secret'),
    );
    assert.equal(notWhsec.status, 78);
    assert.match(notWhsec.stderr, /--secret-arn: the secret must start with "whsec_"/);
    assert.doesNotMatch(notWhsec.stderr, /hunter2/);
    const missing = await add('arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/nope-AbCdEf');
    assert.equal(missing.status, 78);
    assert.match(missing.stderr, /--secret-arn: .* cannot be read: .*can't find/);
    assert.equal((await idlehook('subscriptions')).stdout.trim(), '');
  });

  it('makes, lists and revokes management API tokens in the state table, storing only their hashes', async () => {
    const made = await idlehook('tokens', 'create', '--name', 'helpdesk');
    assert.equal(made.status, 0, made.stderr);
    const token = made.stdout.trim();
    assert.match(token, /^ihk_[A-Za-z0-9_-]{43}$/);
    const store = new DynamoDbApiTokenStore(stateTable(dynamo.client, table), systemClock);
    assert.equal(await store.verify(token), 'full', 'the API accepts it, with full access by default');
    assert.equal(await store.verify(`${token}x`), undefined);
    const items = await dynamo.client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'API_TOKENS' } },
      }),
    );
    assert.ok(!JSON.stringify(items.Items).includes(token), 'only the hash is stored');
    const listed = await idlehook('tokens', 'list', '--json');
    const [entry] = JSON.parse(listed.stdout) as { id: string; name: string; lastUsedAt: string | null }[];
    assert.equal(entry?.name, 'helpdesk');
    assert.ok(entry?.lastUsedAt, 'its use is noted');
    assert.equal((await idlehook('tokens', 'revoke', entry?.id ?? '')).status, 0);
    assert.equal(await store.verify(token), undefined, 'revoked at once');
    assert.equal((await idlehook('tokens', 'revoke', entry?.id ?? '')).status, 1);
  });

  it('lists dead letters from DynamoDB', async () => {
    const state = new DynamoDbStateStore(stateTable(dynamo.client, table), systemClock, unusedOverflow);
    await state.deadLetter({
      eventId: 'evt_dead',
      subscriptionId: 'helpdesk',
      eventType: 'message.received',
      body: '{}',
      reason: 'HTTP 503 after 8 attempts',
      attempts: 8,
      failedAt: Date.parse('2026-11-27T10:00:00Z'),
    });
    const listed = await idlehook('deliveries', '--failed');
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(
      listed.stdout,
      /2026-11-27T10:00:00.000Z {2}evt_dead {2}message.received {2}-> helpdesk {2}attempts=8 {2}HTTP 503 after 8 attempts/,
    );
  });

  it('resets the shard leases for a new shard count, but not while a watcher still beats', async () => {
    const clock = { now: () => Date.now() };
    const store = new DynamoDbLeaseStore(stateTable(dynamo.client, table), clock);
    const ownership = new ShardOwnership(store, clock, quiet, {
      workerId: 'w1',
      shardCount: 4,
      leaseDurationMs: 3_000,
    });
    await ownership.checkShardCount();
    await ownership.cycle();
    // A lease taken twice: its epoch is above what a fresh table's first take gives.
    await ownership.release();
    await ownership.cycle();
    const state = new DynamoDbStateStore(stateTable(dynamo.client, table), systemClock, unusedOverflow);
    const fence = ownership.lease('support');
    assert.ok(fence);
    await state.resetCursor(
      'support',
      'INBOX',
      { uidValidity: '7', lastUid: 10, highestModseq: null },
      fence,
    );

    // A watcher still beating: refused, nothing removed.
    const beating = setInterval(() => void store.heartbeat('w1'), 200);
    const refused = await idlehook('leases', 'reset', '--watch-seconds', '1');
    clearInterval(beating);
    assert.equal(refused.status, 1, refused.stderr);
    assert.match(refused.stderr, /still running \(w1 beat/);
    assert.equal(await store.claimShardCount(8), 4, 'the shard count is still stored');

    const reset = await idlehook('leases', 'reset', '--watch-seconds', '1');
    assert.equal(reset.status, 0, reset.stderr);
    assert.match(
      reset.stdout,
      /Leases reset: \d+ lease table items removed, 1 cursors' lease epochs cleared/,
    );
    // A watcher with another shard count now starts; the cursor accepts its (lower) epochs.
    const resized = new ShardOwnership(store, clock, quiet, {
      workerId: 'w2',
      shardCount: 8,
      leaseDurationMs: 3_000,
    });
    await resized.checkShardCount();
    await resized.cycle();
    const newFence = resized.lease('support');
    assert.ok(
      newFence && newFence.epoch < fence.epoch,
      `a fresh epoch ${newFence?.epoch} under the old ${fence.epoch}`,
    );
    await state.advanceCursor(
      'support',
      'INBOX',
      { uidValidity: '7', lastUid: 11, highestModseq: null },
      newFence,
    );
    assert.equal((await state.getCursor('support', 'INBOX'))?.lastUid, 11);
  });

  it('says which variables are missing when AWS mode has no configuration', () => {
    const result = spawnSync(process.execPath, [CLI, 'accounts', 'list', '--aws'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    assert.equal(result.status, 78);
    assert.match(result.stderr, /IDLEHOOK_TABLE_NAME: is not set/);
  });
});
