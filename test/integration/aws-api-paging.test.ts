// The management API's account listing at scale, in AWS mode on dynalite: a page is read as a page (bounded
// reads whatever the total), with the status of that page's accounts only, and no credential is opened.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { apiFunction } from '../../src/compose/aws/api-function.js';
import { composeAwsAdapters } from '../../src/compose/aws/aws-composition.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { invokeApi } from '../support/aws-api.js';
import { type RecordedCall, recordCalls } from '../support/aws-calls.js';
import { startDynamoDb } from '../support/aws-emulators.js';
import { type KmsStandIn, startKms } from '../support/kms-standin.js';
import { UNFETCHED_LINKS } from '../support/link-endpoint.js';

const ACCOUNTS = 250;

describe('GET /v1/accounts in AWS mode pages in DynamoDB and opens no credential', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let kms: KmsStandIn;
  const calls: RecordedCall[] = [];
  const secretReads: string[] = [];
  let api: ReturnType<typeof apiFunction>;
  let token: string;

  before(async () => {
    dynamo = await startDynamoDb();
    kms = await startKms();
    const env = loadAwsEnvironment({
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: 'http://127.0.0.1:9/ingest.fifo',
      IDLEHOOK_DELIVERY_QUEUE_URL: 'http://127.0.0.1:9/delivery',
      IDLEHOOK_BLOB_BUCKET: 'unused',
      IDLEHOOK_CREDENTIALS_KEY_ID: kms.keyArn,
      IDLEHOOK_LOG_LEVEL: 'error',
      ...UNFETCHED_LINKS,
    });
    const writer = composeAwsAdapters(env, { dynamo: dynamo.client, kms: kms.client() });
    for (let i = 0; i < ACCOUNTS; i++) {
      const id = `account-${String(i).padStart(3, '0')}`;
      await writer.accounts.put({
        id,
        host: 'imap.example.com',
        port: 993,
        security: 'tls',
        user: id,
        // Half sealed, half in a secret from before sealing: a listing opens neither.
        ...(i % 2
          ? { sealedPassword: await writer.sealer?.seal(`pw ${i}`, { kind: 'account', id }) }
          : { passwordSecretArn: `arn:aws:secretsmanager:us-east-1:0:secret:idlehook/accounts/${id}` }),
        mailboxes: ['INBOX'],
        initialSync: 'new',
      });
      if (i % 50 === 0)
        await writer.accountStatusReports.report(id, {
          status: { state: 'error', lastError: 'login refused', mailboxes: {} } as never,
          reportedAt: Date.now(),
        });
    }
    token = (await writer.apiTokens.create('paging', 'read')).token;
    const recorded = new DynamoDBClient(dynamo.clientConfig);
    const recordedKms = kms.client();
    recordCalls(recorded, 'api', calls);
    recordCalls(recordedKms, 'api', calls);
    api = apiFunction(
      composeAwsAdapters(env, {
        dynamo: recorded,
        kms: recordedKms,
        secrets: {
          resolve: async (arn) => {
            secretReads.push(arn);
            return 'pw';
          },
        },
      }),
      env,
    );
  });
  after(async () => {
    await kms.close();
    await dynamo.stop();
  });

  it('reads each page of 100 with one bounded query and one batch of status reads', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      calls.length = 0;
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await invokeApi(api, 'GET', `/v1/accounts?limit=100${query}`, { token });
      assert.equal(page.status, 200, page.text);
      seen.push(...page.json.data.map((a: { id: string }) => a.id));
      for (const account of page.json.data) assert.equal(account.auth, 'password');
      const failing = page.json.data.filter((a: { status: { state: string } }) => a.status.state === 'error');
      assert.ok(
        failing.every((a: { id: string }) => Number(a.id.slice(-3)) % 50 === 0),
        'status per account',
      );
      cursor = page.json.nextCursor;
      pages += 1;
      const table = calls.filter((c) => c.action.startsWith('dynamodb:'));
      const actions = table
        .map((c) => c.action)
        .filter((a) => a !== 'dynamodb:UpdateItem' && a !== 'dynamodb:GetItem');
      // The token's check (a get-and-update) aside: one query of the accounts, one batch of their statuses.
      assert.deepEqual(actions, ['dynamodb:Query', 'dynamodb:BatchGetItem'], JSON.stringify(table));
      assert.ok(
        !table.some(
          (c) =>
            c.target.kind === 'table' &&
            c.target.leadingKeys.some((key) => key.startsWith('ACCOUNT_STATUS#')) &&
            c.action === 'dynamodb:Query',
        ),
        'never every status',
      );
    } while (cursor !== null);
    assert.equal(pages, 3);
    assert.deepEqual(
      seen,
      Array.from({ length: ACCOUNTS }, (_, i) => `account-${String(i).padStart(3, '0')}`),
      'every account once, in order',
    );
    assert.deepEqual(secretReads, [], 'no Secrets Manager read');
    assert.deepEqual(
      calls.filter((c) => c.action.startsWith('kms:')),
      [],
      'no KMS call: no credential opened',
    );
  });
});
