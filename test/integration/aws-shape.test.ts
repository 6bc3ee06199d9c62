import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { apiFunction } from '../../src/compose/aws/api-function.js';
import {
  blobLinkFunction,
  composeAwsAdapters,
  deliverFunction,
  parseFunction,
} from '../../src/compose/aws/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import type { InvocationMetrics } from '../../src/compose/aws/lambda-handlers.js';
import type { AwsEnvironment } from '../../src/config/aws-environment.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import type { SecretResolver } from '../../src/ports/services.js';
import { storedDovecotAccount } from '../support/accounts.js';
import { invokeApi } from '../support/aws-api.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { pollOnce } from '../support/event-source.js';
import { LINK_KEY_ARN, startLinkEndpoint, withLinkKey } from '../support/link-endpoint.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

const secrets = new Map<string, string>();
// Secrets Manager has no local emulator: a resolver with the same contract reads this map instead.
const stubSecrets: SecretResolver = {
  resolve: async (arn) => secrets.get(arn) ?? assert.fail(`no secret ${arn}`),
};

/** The Metrics port as the functions use it, recorded. */
class RecordedMetrics implements InvocationMetrics {
  readonly queued: string[] = [];
  readonly filterOutcomes: string[] = [];
  readonly attempts: Parameters<InvocationMetrics['deliveryAttempt']>[0][] = [];
  flushes = 0;
  login(): void {}
  eventQueued(type: string): void {
    this.queued.push(type);
  }
  filterOutcome(subscriptionId: string, matched: boolean): void {
    this.filterOutcomes.push(`${subscriptionId}:${matched ? 'matched' : 'filtered_out'}`);
  }
  deliveryAttempt(attempt: Parameters<InvocationMetrics['deliveryAttempt']>[0]): void {
    this.attempts.push(attempt);
  }
  flush(): void {
    this.flushes++;
  }
}

describe('AWS shape end to end: Dovecot -> watcher -> SQS FIFO -> parse -> SQS -> deliver -> webhook', () => {
  let dovecot: DovecotServer;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let env: AwsEnvironment;
  let watcher: AwsWatcher;
  const receiver = new WebhookReceiver(newWebhookSecret());
  /** A subscription with a filter: only subjects starting "New ". */
  const filteredReceiver = new WebhookReceiver(receiver.secret);
  let adapters: ReturnType<typeof composeAwsAdapters>;
  let pump: () => Promise<void>;
  const heartbeats: number[] = [];
  const parseMetrics = new RecordedMetrics();
  const deliverMetrics = new RecordedMetrics();
  let links: Awaited<ReturnType<typeof startLinkEndpoint>>;

  const health = async () =>
    (await (await fetch(watcher.healthUrl)).json()) as {
      mailboxes: number;
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 150; i++) {
      if (await check()) return;
      await pump();
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`timed out waiting for ${what}`);
  }
  const idle = (account: string) => async () =>
    Object.values((await health()).accounts[account]?.mailboxes ?? {}).some((m) => m.state === 'idle');
  const passwordArn = (id: string) => `arn:aws:secretsmanager:us-east-1:000000000000:secret:${id}`;
  const account = (id: string, user: string) =>
    storedDovecotAccount(dovecot, id, { user, passwordSecretArn: passwordArn(id) });

  before(async () => {
    dovecot = await startDovecot([
      { name: 'support', password: 'support-pw' },
      { name: 'sales', password: 'sales-pw' },
    ]);
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    links = await startLinkEndpoint(() => blobLinkFunction(adapters));
    env = loadAwsEnvironment({
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
      IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
      IDLEHOOK_BLOB_BUCKET: await aws.createBucket('idlehook-e2e'),
      IDLEHOOK_BLOB_LINK_URL: links.url,
      IDLEHOOK_BLOB_LINK_KEY_ARN: LINK_KEY_ARN,
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '1',
      IDLEHOOK_LOG_LEVEL: 'error',
      // The receiver listens on loopback, which SSRF protection refuses unless allowlisted.
      IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8,::1',
    });
    const clients = { dynamo: dynamo.client, sqs: aws.sqs, s3: aws.s3, secrets: withLinkKey(stubSecrets) };
    adapters = composeAwsAdapters(env, clients);
    // The functions' Powertools (EMF) metrics, recorded here: test/unit/emf-metrics.test.ts checks their format.
    const parse = parseFunction(adapters, parseMetrics);
    const deliver = deliverFunction(adapters, env, deliverMetrics);
    pump = async () => {
      await pollOnce(aws.sqs, env.IDLEHOOK_INGEST_QUEUE_URL, parse);
      await pollOnce(aws.sqs, env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver);
    };

    secrets.set(passwordArn('support'), 'support-pw');
    secrets.set('arn:hook', receiver.secret);
    await adapters.accounts.put(account('support', 'support'));
    await adapters.subscriptions.put({ id: 'hook', url: await receiver.listen(), secretArn: 'arn:hook' });
    await adapters.subscriptions.put({
      id: 'only-new',
      url: await filteredReceiver.listen(),
      secretArn: 'arn:hook',
      filter: JSON.stringify({ data: { subject: [{ wildcard: 'New *' }] } }),
    });
    // CloudWatch has no local emulator: the heartbeat is recorded instead of sent.
    watcher = await startAwsWatcher(env, {
      clients,
      healthPort: 0,
      heartbeat: async (mailboxes) => {
        heartbeats.push(mailboxes);
      },
    });
  });

  after(async () => {
    await watcher?.stop();
    await adapters?.http.close();
    await receiver.close();
    await filteredReceiver.close();
    await links?.close();
    await aws?.stop();
    await dynamo?.stop();
    await dovecot?.stop();
  });

  it('delivers a new message through the queues and the two functions, signed', async () => {
    await until('the support mailbox in IDLE', idle('support'));
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('Through AWS'));
    await appender.logout();
    await until('the webhook', async () => receiver.accepted.length === 1);
    const [webhook] = receiver.accepted;
    assert.equal(webhook?.body.data.subject, 'Through AWS');
    assert.equal(webhook?.body.data.account, 'support');
    assert.equal(receiver.invalidSignatures, 0);
    // The link goes to the link endpoint, which redirects to a URL presigned at that moment.
    assert.ok(webhook?.body.data.raw.url.startsWith(links.url), webhook?.body.data.raw.url);
    const raw = await fetch(webhook?.body.data.raw.url);
    assert.match(await raw.text(), /Subject: Through AWS/);
    const cursor = await adapters.state.getCursor('support', 'INBOX');
    assert.equal(cursor?.lastUid, webhook?.body.data.uid, 'the cursor in DynamoDB advanced');
  });

  it('reads the message again through the API function: the event as delivered, its links signed anew', async () => {
    const [webhook] = receiver.accepted;
    assert.ok(webhook);
    const { data } = webhook.body;
    const token = (await adapters.apiTokens.create('read-again', 'full')).token;
    const ref = encodeURIComponent(`${data.uidValidity}:${data.uid}:${data.mailbox}`);
    const answer = await invokeApi(
      apiFunction(adapters, env),
      'GET',
      `/v1/accounts/support/messages/${ref}`,
      {
        token,
      },
    );
    assert.equal(answer.status, 200, answer.text);
    const { id, ...event } = answer.json;
    assert.equal(id, webhook.id);
    // The links are made afresh (in AWS they carry their signing time), the rest is as delivered.
    const withoutLinks = (body: any) => ({
      ...body,
      data: { ...body.data, raw: { ...body.data.raw, url: '' } },
    });
    assert.deepEqual(withoutLinks(event), withoutLinks(webhook.body));
    assert.match(await (await fetch(event.data.raw.url)).text(), /Subject: Through AWS/);
  });

  it('picks up an account added to DynamoDB, and drops a removed one, without a restart', async () => {
    secrets.set(passwordArn('sales'), 'sales-pw');
    await adapters.accounts.put(account('sales', 'sales'));
    await until('the new account in IDLE', idle('sales'));
    const appender = await connectAppender(dovecot, 'sales', 'sales-pw');
    await appender.append('INBOX', simpleMessage('New account'));
    await appender.logout();
    await until("the new account's webhook", async () => receiver.accepted.length === 2);
    assert.equal(receiver.accepted[1]?.body.data.account, 'sales');

    await adapters.accounts.remove('support');
    await until('the removed account to go', async () => (await health()).accounts.support === undefined);
    assert.equal((await health()).mailboxes, 1);
    assert.ok(heartbeats.length >= 1, 'a heartbeat was sent at start');
  });

  it("applies a stored subscription's filter in the parse function: only the matching message reaches it", async () => {
    await until('the filtered webhook', async () => filteredReceiver.accepted.length === 1);
    assert.deepEqual(
      filteredReceiver.accepted.map((w) => w.body.data.subject),
      ['New account'],
      '"Through AWS" was filtered out',
    );
    assert.deepEqual(parseMetrics.filterOutcomes, ['only-new:filtered_out', 'only-new:matched']);
  });

  it('serves /metrics in the watcher task: connections by state and logins', async () => {
    const text = await (await fetch(new URL('/metrics', watcher.healthUrl))).text();
    assert.match(text, /^idlehook_connections\{state="idle"\} 1$/m, 'the one mailbox left, in IDLE');
    const logins = /^idlehook_logins_total\{outcome="ok",cause=""\} (\d+)$/m.exec(text);
    assert.ok(Number(logins?.[1]) >= 2, `support and sales logged in: ${logins?.[0]}`);
  });

  it('the functions count what they did: events queued, deliveries with their latencies, once per invocation', () => {
    assert.deepEqual(parseMetrics.queued, ['message.received', 'message.received']);
    const delivered = deliverMetrics.attempts.filter((a) => a.outcome === 'delivered');
    assert.equal(delivered.length, 3, 'two to the unfiltered subscription, one to the filtered');
    assert.ok(
      delivered.every(
        (a) =>
          a.statusClass === '2xx' &&
          a.sinceDetectedMs !== undefined &&
          a.endToEndMs !== undefined &&
          a.eventAgeMs === a.sinceDetectedMs,
      ),
    );
    assert.ok(parseMetrics.flushes >= 2 && deliverMetrics.flushes >= 2, 'published after each batch');
  });

  it("passes the container's health check, which fails when /health does not answer", async () => {
    // Not spawnSync: the watcher answering /health runs in this process.
    const healthCheck = (port: string) =>
      new Promise<number | null>((resolve) =>
        spawn(process.execPath, ['--import', 'tsx', 'containers/watcher/healthcheck.ts'], {
          env: { ...process.env, IDLEHOOK_HEALTH_PORT: port },
          stdio: 'ignore',
        }).on('exit', resolve),
      );
    assert.equal(await healthCheck(new URL(watcher.healthUrl).port), 0);
    assert.equal(await healthCheck('1'), 1);
  });
});
