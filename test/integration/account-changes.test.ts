// A watcher task learns of account changes at the cost of the changes: it polls the shard versions and re-reads
// only the shard that changed, never the whole account partition, between its full listings (every 10 minutes).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { TABLE_KEYS } from '../../src/adapters/aws/state-table.js';
import { composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { shardOf } from '../../src/domain/shard-leases.js';
import { storedDovecotAccount } from '../support/accounts.js';
import { type RecordedCall, recordCalls } from '../support/aws-calls.js';
import { startDynamoDb } from '../support/aws-emulators.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { UNFETCHED_LINKS, withLinkKey } from '../support/link-endpoint.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/accounts/support';

describe('account changes reach the watcher task through shard versions (dynalite, Dovecot)', () => {
  let dovecot: DovecotServer;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let env: AwsEnvironment;
  let watcher: AwsWatcher;
  const calls: RecordedCall[] = [];

  const state = async (account: string) => {
    const health = (await (await fetch(watcher.healthUrl)).json()) as {
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
    return Object.hasOwn(health.accounts, account)
      ? health.accounts[account]?.mailboxes.INBOX?.state
      : undefined;
  };
  const until = async (what: string, check: () => Promise<boolean>) => {
    const started = Date.now();
    while (!(await check())) {
      if (Date.now() - started > 20_000) assert.fail(`timed out waiting for ${what}`);
      await sleep(50);
    }
    return Date.now() - started;
  };
  const accountQueries = () =>
    calls.filter(
      (c) =>
        c.action === 'dynamodb:Query' &&
        c.target.kind === 'table' &&
        c.target.leadingKeys.includes('ACCOUNTS'),
    );
  const shardQueries = () =>
    calls.filter(
      (c) => c.action === 'dynamodb:Query' && c.target.kind === 'table' && c.target.index === 'gsi2',
    );

  before(async () => {
    dovecot = await startDovecot([
      { name: 'support', password: 'support-pw' },
      { name: 'legacy', password: 'support-pw' },
    ]);
    dynamo = await startDynamoDb();
    env = loadAwsEnvironment({
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: 'http://127.0.0.1:9/ingest.fifo',
      IDLEHOOK_DELIVERY_QUEUE_URL: 'http://127.0.0.1:9/delivery',
      IDLEHOOK_BLOB_BUCKET: 'unused',
      IDLEHOOK_LOG_LEVEL: 'error',
      ...UNFETCHED_LINKS,
    });
    // An account as the version before the shard index stored it: no index keys, no shard version.
    await stateTable(dynamo.client, env.IDLEHOOK_TABLE_NAME).documents.send(
      new PutCommand({
        TableName: env.IDLEHOOK_TABLE_NAME,
        Item: {
          ...TABLE_KEYS.account('legacy'),
          ...storedDovecotAccount(dovecot, 'legacy', { passwordSecretArn: ARN }),
        },
      }),
    );
    const recorded = new DynamoDBClient(dynamo.clientConfig);
    recordCalls(recorded, 'watcher', calls);
    watcher = await startAwsWatcher(env, {
      clients: { dynamo: recorded, secrets: withLinkKey({ resolve: async () => 'support-pw' }) },
      healthPort: 0,
      heartbeat: async () => {},
    });
  });
  after(async () => {
    await watcher?.stop();
    await dynamo?.stop();
    await dovecot?.stop();
  });

  it('watches an account stored before the shard index (read from the account partition at start)', async () => {
    await until('the legacy account to be watched', async () => (await state('legacy')) === 'idle');
  });

  it('picks up an added, changed and removed account by re-reading its shard only', async () => {
    const writer = composeAwsAdapters(env, { dynamo: dynamo.client }).accounts;
    assert.equal(env.IDLEHOOK_ACCOUNTS_REFRESH_SECONDS, 2, 'the default poll');
    // The only task: it holds every shard once its first lease cycles are through.
    await until('every shard held', async () => {
      const { leases } = (await (await fetch(watcher.healthUrl)).json()) as { leases: { shards: number } };
      return leases.shards === env.IDLEHOOK_SHARD_COUNT;
    });
    await sleep(2_500);
    const fullListings = accountQueries().length;
    assert.ok(fullListings >= 1, 'the first listing reads every account');
    calls.length = 0;
    await sleep(4_500);
    assert.deepEqual(accountQueries(), [], 'nothing changed: no account is read');
    assert.deepEqual(shardQueries(), []);
    assert.ok(
      calls.some((c) => c.target.kind === 'table' && c.target.leadingKeys.includes('ACCOUNT_VERSIONS')),
      'only the versions',
    );

    const account = storedDovecotAccount(dovecot, 'support', { passwordSecretArn: ARN });
    await writer.put(account);
    const added = await until(
      'the added account to be watched',
      async () => (await state('support')) === 'idle',
    );
    // A change of its mailboxes: INBOX is no longer watched, then again.
    await writer.put({ ...account, mailboxes: ['Elsewhere'] });
    const changed = await until('the changed account', async () => (await state('support')) !== 'idle');
    await writer.put(account);
    await until('the changed account to be watched again', async () => (await state('support')) === 'idle');
    await writer.remove('support');
    const removed = await until(
      'the removed account to be dropped',
      async () => (await state('support')) === undefined,
    );

    assert.deepEqual(accountQueries(), [], 'no full listing for four changes');
    const shard = `ACCOUNTS#${String(shardOf('support', env.IDLEHOOK_SHARD_COUNT)).padStart(5, '0')}`;
    const reread = shardQueries();
    assert.ok(reread.length >= 4, `the shard re-read per change (${reread.length})`);
    for (const call of reread)
      assert.deepEqual(call.target.kind === 'table' && call.target.leadingKeys, [shard], 'that shard only');
    // Reported for the record (the control-plane benchmark measures these at scale): each is about one poll.
    console.log(
      `# account change to session: added ${added} ms, changed ${changed} ms, removed ${removed} ms`,
    );
  });
});
