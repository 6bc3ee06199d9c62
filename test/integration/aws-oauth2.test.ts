import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { composeAwsAdapters, deliverFunction, parseFunction } from '../../src/compose/aws/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import type { SecretResolver } from '../../src/ports/services.js';
import type { OAuth2TokenStore, StoredOAuth2Tokens } from '../../src/ports/watcher.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { pollOnce } from '../support/event-source.js';
import { UNFETCHED_LINKS, withLinkKey } from '../support/link-endpoint.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { TokenServer } from '../support/token-server.js';

const ACCOUNT_SECRET = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/accounts/support';

describe('an OAuth2 account in the AWS shape (account in DynamoDB, refresh token in a secret)', () => {
  const tokens = new TokenServer();
  const receiver = new WebhookReceiver(newWebhookSecret());
  // Secrets Manager cannot run here: the account's secret and the token store are maps with the same contracts.
  const secretValues = new Map<string, string>();
  const secrets: SecretResolver = {
    resolve: async (arn) => secretValues.get(arn) ?? assert.fail(`no secret ${arn}`),
  };
  const tokenSecrets = new Map<string, StoredOAuth2Tokens>();
  const oauth2Tokens: OAuth2TokenStore = {
    load: async (account) => tokenSecrets.get(account),
    save: async (account, stored) => {
      tokenSecrets.set(account, stored);
    },
  };
  let dovecot: DovecotServer;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let watcher: AwsWatcher;
  let startWatcher: () => Promise<AwsWatcher>;
  let pump: () => Promise<void>;
  let adapters: ReturnType<typeof composeAwsAdapters>;

  async function until(what: string, check: () => boolean): Promise<void> {
    for (let i = 0; i < 150; i++) {
      if (check()) return;
      await pump();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`timed out waiting for ${what}`);
  }

  before(async () => {
    const base = await tokens.listen();
    tokens.rotateRefreshTokens = true;
    dovecot = await startDovecot([{ name: 'support', password: 'appender' }], {
      oauth2IntrospectionUrl: `${base}/introspect`,
    });
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    const env = loadAwsEnvironment({
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
      IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
      IDLEHOOK_BLOB_BUCKET: await aws.createBucket('idlehook-oauth2'),
      ...UNFETCHED_LINKS,
      IDLEHOOK_LOG_LEVEL: 'error',
      IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    });
    const clients = {
      dynamo: dynamo.client,
      sqs: aws.sqs,
      s3: aws.s3,
      secrets: withLinkKey(secrets),
      oauth2Tokens,
    };
    adapters = composeAwsAdapters(env, clients);
    const parse = parseFunction(adapters);
    const deliver = deliverFunction(adapters, env);
    pump = async () => {
      await pollOnce(aws.sqs, env.IDLEHOOK_INGEST_QUEUE_URL, parse);
      await pollOnce(aws.sqs, env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver);
    };
    secretValues.set(ACCOUNT_SECRET, JSON.stringify({ refreshToken: tokens.issueRefreshToken() }));
    secretValues.set('arn:hook', receiver.secret);
    await adapters.accounts.put({
      id: 'support',
      host: '127.0.0.1',
      port: dovecot.tlsPort,
      security: 'tls',
      user: 'support',
      oauth2: { tokenUrl: `${base}/token`, clientId: 'idlehook-test', secretArn: ACCOUNT_SECRET },
      tlsCa: readFileSync(dovecot.caFile, 'utf8'),
      tlsServername: 'localhost',
      mailboxes: ['INBOX'],
      initialSync: 'new',
    });
    await adapters.subscriptions.put({ id: 'hook', url: await receiver.listen(), secretArn: 'arn:hook' });
    startWatcher = () => startAwsWatcher(env, { clients, healthPort: 0, heartbeat: async () => {} });
    watcher = await startWatcher();
  });

  after(async () => {
    await watcher?.stop();
    await adapters?.http.close();
    await receiver.close();
    await aws?.stop();
    await dynamo?.stop();
    await dovecot?.stop();
    await tokens.close();
  });

  async function idle(): Promise<boolean> {
    const health = (await (await fetch(watcher.healthUrl)).json()) as {
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
    return health.accounts.support?.mailboxes.INBOX?.state === 'idle';
  }

  it('logs in with XOAUTH2 and delivers; a restarted task uses the rotated refresh token it stored', async () => {
    for (let i = 0; i < 100 && !(await idle()); i++) await new Promise((r) => setTimeout(r, 100));
    const appender = await connectAppender(dovecot, 'support', 'appender');
    await appender.append('INBOX', simpleMessage('oauth2 in aws'));
    await until('the webhook', () => receiver.accepted.length === 1);
    assert.equal(receiver.accepted[0]?.body.data.subject, 'oauth2 in aws');
    assert.equal(tokens.refreshes, 1);
    assert.notEqual(tokenSecrets.get('support')?.refreshToken, undefined, 'the rotated token was stored');

    await watcher.stop();
    tokens.revokeAccessTokens(); // the new task must refresh, with the rotated refresh token
    watcher = await startWatcher();
    for (let i = 0; i < 100 && !(await idle()); i++) await new Promise((r) => setTimeout(r, 100));
    await appender.append('INBOX', simpleMessage('after a task restart'));
    await appender.logout();
    await until('the second webhook', () => receiver.accepted.length === 2);
    assert.equal(tokens.refreshes, 2);
    assert.equal(receiver.ofType('account.error').length, 0);
  });
});
