// Every AWS call the watcher, parse, deliver, blobs and the management API make in an AWS-shape run, checked against that component's role
// in the synthesized template with an IAM policy simulator. IAM cannot run here (nor can real AWS): the simulator
// evaluates the policies the way IAM documents it. The CLI runs with the operator's own credentials and has no
// role in the stack, so its calls are not checked here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Template } from 'aws-cdk-lib/assertions';
import { IdlehookStack } from '../../infra/idlehook-stack.js';
import { apiFunction } from '../../src/compose/aws/api-function.js';
import {
  blobLinkFunction,
  composeAwsAdapters,
  deliverFunction,
  parseFunction,
} from '../../src/compose/aws/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import type { BlobLinkHandler } from '../../src/compose/aws/blob-link-handler.js';
import { type AwsEnvironment, loadAwsEnvironment, secretName } from '../../src/config/aws-environment.js';
import type { SecretResolver } from '../../src/ports/services.js';
import { storedDovecotAccount } from '../support/accounts.js';
import { dovecotAccount, invokeApi } from '../support/aws-api.js';
import {
  type Component,
  type RecordedCall,
  recordCalls,
  recordingResolver,
  recordingWriter,
} from '../support/aws-calls.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { enforceAwsLimits, enforceDynamoDbLimits } from '../support/aws-limits.js';
import { projectApp } from '../support/cdk-app.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { enforcePartitionLimits } from '../support/dynamodb-partitions.js';
import { pollOnce } from '../support/event-source.js';
import {
  ACCOUNT_ID,
  type CfnTemplate,
  keyPolicy,
  logicalIdOf,
  resourceArn,
  resourceName,
  roleStatements,
  type Statement,
} from '../support/iam-template.js';
import { type KmsStandIn, startKms } from '../support/kms-standin.js';
import { startLinkEndpoint } from '../support/link-endpoint.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

const STACK = 'IamTest';
const PREFIX = `idlehook/${STACK}/`;
/** The construct's link key secret, named by CloudFormation (set once the template is made). */
let linkKeyArn = '';
const secretArn = (kind: 'accounts' | 'subscriptions', id: string) =>
  `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${secretName(PREFIX, kind, id)}-AbCdEf`;

const ROLES: Record<Component, string> = {
  watcher: 'WatcherTaskTaskRole',
  parse: 'ParseServiceRole',
  deliver: 'DeliverServiceRole',
  blobs: 'BlobLinksServiceRole',
  api: 'ApiHandlerServiceRole',
};

/**
 * Grants no run here exercises, each with the reason it stays, keyed by the grant as `grantsOf` names it:
 * `action resource` and, for the table, the partition. Anything granted, unexercised and not listed here fails the
 * test: it goes, or gets a reason.
 */
const UNEXERCISED: Record<Component, Record<string, string>> = {
  watcher: {
    'cloudwatch:PutMetricData *':
      'the mailbox-count heartbeat; CloudWatch has no emulator, the test records it',
    'secretsmanager:GetSecretValue oauth2-tokens/*':
      'an OAuth2 account reads tokens saved before sealing; secrets-manager-token-store.test.ts covers the read',
    'dynamodb:GetItem OAUTH2#*':
      'an OAuth2 account reads its sealed tokens; credential-sealing.test.ts covers the store on dynalite',
    'dynamodb:PutItem OAUTH2#*': 'an OAuth2 account seals its rotated tokens; covered as above',
    'dynamodb:PutItem CREDENTIAL_KEY':
      "the stack's first seal, when a watcher seals a rotated token before the API sealed anything; credential-sealing.test.ts covers the race",
    'kms:GenerateDataKey credentials key': 'as above: the wrapping key made by a watcher',
    's3:GetObject state/*': 'reads of its own large state (state/), not reached at this size',
    's3:PutObject state/*': 'its own large state (state/), not reached at this size',
    's3:DeleteObject state/*': 'replacing its own large state (state/), not reached at this size',
    's3:PutObject queue-overflow/*': "an ingest record over SQS's 1 MiB, not reached at this size",
  },
  parse: {
    'sqs:ChangeMessageVisibility ingest queue': "the event source mapping's retries",
    's3:GetObject queue-overflow/*': "an ingest record over SQS's 1 MiB, which the watcher sent through S3",
    'sqs:GetQueueAttributes ingest queue': 'the event source mapping reads the queue when it starts',
    'sqs:GetQueueUrl ingest queue': 'part of the consume group CDK grants for the event source mapping',
  },
  blobs: {},
  api: {
    'secretsmanager:GetSecretValue oauth2-tokens/*':
      "the doctor's OAuth2 check reads tokens a watcher saved before sealing; as the watcher's",
    'dynamodb:GetItem OAUTH2#*':
      "the doctor's OAuth2 check reads an account's sealed tokens; as the watcher's",
    'dynamodb:PutItem OAUTH2#*': "the doctor's OAuth2 refresh seals a rotated token; as the watcher's",
  },
  deliver: {
    'sqs:GetQueueAttributes delivery queue': 'the event source mapping reads the queue when it starts',
    's3:PutObject queue-overflow/*':
      "re-queueing a held-back record over SQS's 1 MiB: reached when the rate limit holds back the large one",
    'sqs:GetQueueUrl delivery queue': 'part of the consume group CDK grants for the event source mapping',
  },
};

describe('IAM: every AWS call each component makes is allowed by its role, and every grant is used', () => {
  const calls: RecordedCall[] = [];
  let template: CfnTemplate;
  let dovecot: DovecotServer;
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let kms: KmsStandIn;
  let env: AwsEnvironment;
  let watcher: AwsWatcher | undefined;
  let links: Awaited<ReturnType<typeof startLinkEndpoint>>;
  let linkHandler: BlobLinkHandler;
  const receiver = new WebhookReceiver(newWebhookSecret());
  const refusing = new WebhookReceiver(receiver.secret);
  // Answers 500 until the API's retry now: its deliveries wait in SQS, noted in the table, then settle.
  const down = new WebhookReceiver(receiver.secret);
  const secrets = new Map<string, string>();
  // Secrets Manager cannot run here: each component's reads go through a resolver over this map, recorded.
  const stubSecrets: SecretResolver = {
    resolve: async (arn) => secrets.get(arn) ?? assert.fail(`no secret ${arn}`),
  };

  /** Clients of one component: pointed at the emulators, AWS limits enforced, every call recorded. */
  const clientsOf = async (component: Component) => {
    const dynamoClient = new DynamoDBClient(dynamo.clientConfig);
    const sqs = new SQSClient(aws.clientConfig);
    const s3 = new S3Client({ ...aws.clientConfig, forcePathStyle: true });
    enforceDynamoDbLimits(dynamoClient, new DynamoDBClient(dynamo.clientConfig));
    enforcePartitionLimits(dynamoClient, dynamo.partitions);
    enforceAwsLimits(sqs, 'SQS');
    enforceAwsLimits(s3, 'S3');
    const kmsClient = kms.client();
    for (const client of [dynamoClient, sqs, s3, kmsClient]) recordCalls(client, component, calls);
    return {
      dynamo: dynamoClient,
      sqs,
      s3,
      kms: kmsClient,
      secrets: recordingResolver(stubSecrets, component, calls),
    };
  };

  before(async () => {
    const app = projectApp();
    template = Template.fromStack(new IdlehookStack(app, STACK)).toJSON() as CfnTemplate;
    linkKeyArn = resourceName(template, logicalIdOf(template, 'AWS::SecretsManager::Secret', 'BlobLinkKey'));

    dovecot = await startDovecot([{ name: 'support', password: 'support-pw' }]);
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    kms = await startKms(resourceArn(template, logicalIdOf(template, 'AWS::KMS::Key', 'CredentialsKey')));
    links = await startLinkEndpoint(() => linkHandler);
    env = loadAwsEnvironment({
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', {
        FifoQueue: 'true',
        MaximumMessageSize: '1048576',
      }),
      IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery', { MaximumMessageSize: '1048576' }),
      IDLEHOOK_BLOB_BUCKET: await aws.createBucket('idlehook-iam'),
      IDLEHOOK_SECRET_PREFIX: PREFIX,
      IDLEHOOK_CREDENTIALS_KEY_ID: kms.keyArn,
      IDLEHOOK_STACK_NAME: STACK,
      IDLEHOOK_BLOB_LINK_URL: links.url,
      IDLEHOOK_BLOB_LINK_KEY_ARN: linkKeyArn,
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '1',
      IDLEHOOK_LOG_LEVEL: 'error',
      IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8,::1',
    });
    const operator = composeAwsAdapters(env, {
      dynamo: dynamo.client,
      sqs: aws.sqs,
      s3: aws.s3,
      secrets: stubSecrets,
    });
    secrets.set(secretArn('accounts', 'support'), 'support-pw');
    secrets.set(linkKeyArn, Buffer.alloc(32, 5).toString('base64'));
    secrets.set(secretArn('subscriptions', 'hook'), receiver.secret);
    secrets.set(secretArn('subscriptions', 'refusing'), receiver.secret);
    secrets.set(secretArn('subscriptions', 'down'), receiver.secret);
    await operator.accounts.put(
      storedDovecotAccount(dovecot, 'support', { passwordSecretArn: secretArn('accounts', 'support') }),
    );
    await operator.subscriptions.put({
      id: 'hook',
      url: await receiver.listen(),
      secretArn: secretArn('subscriptions', 'hook'),
      // Tight enough that records are held back and re-queued (deliver sends to its own queue).
      rateLimitPerSecond: 1,
      // Filed by deliver as a command, run by the watcher task.
      afterDelivery: [{ type: 'add-flags', flags: ['$Ticketed'] }],
    });
    refusing.respond = () => 400;
    down.respond = () => 500;
    await operator.subscriptions.put({
      id: 'down',
      url: await down.listen(),
      secretArn: secretArn('subscriptions', 'down'),
    });
    await operator.subscriptions.put({
      id: 'refusing',
      url: await refusing.listen(),
      secretArn: secretArn('subscriptions', 'refusing'),
      // Its replays' 2xx have the api function file the actions (hook has its 2xx by then). Not on 'plain', whose
      // actions deliver files, which it would not while a subscription that asked for actions has no 2xx.
      afterDelivery: [{ type: 'mark-seen' }],
      filter: JSON.stringify({ data: { subject: [{ 'anything-but': 'plain' }] } }),
    });
    await operator.http.close();

    const parse = parseFunction(composeAwsAdapters(env, await clientsOf('parse')));
    // Presigning makes no request; S3 checks the signer's GetObject right when the URL is used: record it so.
    const blobAdapters = composeAwsAdapters(env, await clientsOf('blobs'));
    const presign = blobAdapters.blobs.presign.bind(blobAdapters.blobs);
    blobAdapters.blobs.presign = (key) => {
      calls.push({ component: 'blobs', action: 's3:GetObject', target: { kind: 'object', key } });
      return presign(key);
    };
    linkHandler = blobLinkFunction(blobAdapters);
    const deliverAdapters = composeAwsAdapters(env, await clientsOf('deliver'));
    const deliver = deliverFunction(deliverAdapters, env);
    const parseSqs = (await clientsOf('parse')).sqs;
    const deliverSqs = (await clientsOf('deliver')).sqs;
    const running = await startAwsWatcher(env, {
      clients: await clientsOf('watcher'),
      healthPort: 0,
      heartbeat: async () => {},
      statusReportTiming: {
        tickMs: 200,
        countersEveryMs: 1_000,
        refreshEveryMs: 60 * 60_000,
        tallyEveryMs: 60_000,
      },
    });
    watcher = running;
    const idle = async (account = 'support') => {
      const health = (await (await fetch(running.healthUrl)).json()) as {
        accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
      };
      const mailboxes = Object.hasOwn(health.accounts, account) ? health.accounts[account]?.mailboxes : {};
      return Object.values(mailboxes ?? {}).some((m) => m.state === 'idle');
    };
    for (let i = 0; i < 200 && !(await idle()); i++) await new Promise((r) => setTimeout(r, 100));

    // Mail that takes every path: a plain one, one with an attachment, and one whose event is too large for an
    // SQS message (overflow to S3) and for a DynamoDB item once dead-lettered (body to S3).
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('plain'));
    await appender.append(
      'INBOX',
      'From: a@example.com\r\nSubject: attached\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n' +
        '--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/pdf; name="a.pdf"\r\n' +
        'Content-Disposition: attachment; filename="a.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n',
    );
    await appender.append('INBOX', simpleMessage('large', 'é'.repeat(300_000)));
    await appender.logout();
    const deadline = Date.now() + 60_000;
    while (
      Date.now() < deadline &&
      // (Flag changes come to the hook too: its afterDelivery adds a keyword.)
      (receiver.accepted.filter((w) => w.body.type === 'message.received').length < 3 ||
        refusing.attempts.length < 2 ||
        down.attempts.length < 3)
    ) {
      await pollOnce(parseSqs, env.IDLEHOOK_INGEST_QUEUE_URL, parse);
      await pollOnce(deliverSqs, env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let the dead letters land.
    for (let i = 0; i < 5; i++) await pollOnce(deliverSqs, env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver);
    // Follow the links in an event, as a receiver does.
    const attached = receiver.accepted.find((w) => w.body.data.subject === 'attached')?.body.data;
    for (const url of [attached?.raw.url, attached?.attachments[0]?.url])
      assert.equal((await fetch(url)).status, 200, `the link ${url}`);
    await blobAdapters.http.close();

    // The management API, as an HTTP API invokes it: every route that reaches AWS, with a token.
    const apiAdapters = composeAwsAdapters(env, {
      ...(await clientsOf('api')),
      secretWriter: recordingWriter(
        secrets,
        (name) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${name}-AbCdEf`,
        'api',
        calls,
      ),
    });
    const token = (
      await composeAwsAdapters(env, { dynamo: dynamo.client, secrets: stubSecrets }).apiTokens.create(
        'iam',
        'full',
      )
    ).token;
    const api = apiFunction(apiAdapters, env);
    const request = async (method: string, path: string, body?: unknown) => {
      const answer = await invokeApi(api, method, path, { token, ...(body === undefined ? {} : { body }) });
      assert.ok(answer.status < 300, `${method} ${path}: ${answer.status} ${answer.text}`);
      return answer.json;
    };
    await request('GET', '/v1/status');
    await request('GET', '/v1/accounts');
    // A message action: filed by the API, run by the watcher task, its result read back.
    const plain =
      receiver.accepted.find((w) => w.body.data.subject === 'plain')?.body.data ??
      assert.fail('no plain message');
    const ref = encodeURIComponent(`${plain.uidValidity}:${plain.uid}:INBOX`);
    await request('POST', `/v1/accounts/support/messages/${ref}/actions`, { type: 'mark-seen' });
    assert.equal((await request('GET', '/v1/accounts/support/actions')).data[0].outcomes[0].kind, 'done');
    await request(
      'POST',
      '/v1/accounts?check=true',
      dovecotAccount(dovecot, 'api-made', 'support', 'support-pw'),
    );
    // The watcher opens the sealed password (KMS Decrypt of the stack's wrapping key) and logs in.
    for (let i = 0; i < 200 && !(await idle('api-made')); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await idle('api-made'), 'the watcher watches the account the API sealed');
    // A cold API instance reads the wrapping key the first one made.
    const coldAdapters = composeAwsAdapters(env, await clientsOf('api'));
    await invokeApi(apiFunction(coldAdapters, env), 'GET', '/v1/accounts/api-made', { token });
    await coldAdapters.http.close();
    await request('PATCH', '/v1/accounts/api-made', { mailboxes: ['INBOX'] });
    // One account's route reads that account's status item, not every account's. (The watcher keeps writing
    // status items meanwhile: only the API's calls count.)
    const callsBefore = calls.length;
    await request('GET', '/v1/accounts/api-made');
    const statusReads = calls
      .slice(callsBefore)
      .filter(
        (c) =>
          c.component === 'api' &&
          c.target.kind === 'table' &&
          c.target.leadingKeys.some((key) => key.startsWith('ACCOUNT_STATUS#')),
      )
      .map((c) => c.action);
    assert.deepEqual(statusReads, ['dynamodb:GetItem']);
    await request('DELETE', '/v1/accounts/api-made');
    // The account stored before sealing (its password in a secret) moves over at its next change: the API reads
    // the secret, seals the password and deletes the secret.
    await request('PATCH', '/v1/accounts/support', { mailboxes: ['INBOX'] });
    assert.ok(
      calls.some((c) => c.component === 'api' && c.action === 'secretsmanager:DeleteSecret'),
      "the old account's secret is deleted",
    );
    await request('POST', '/v1/subscriptions', {
      id: 'api-made',
      url: 'https://hooks.example.com/',
      accounts: ['support'],
    });
    await request('POST', '/v1/subscriptions/api-made/rotate-secret', { previousSecretValidSeconds: 60 });
    await request('POST', '/v1/subscriptions/api-made/enable');
    await request('GET', '/v1/subscriptions');
    await request('GET', '/v1/subscriptions/refusing/attempts');
    // A message read again: its raw source from S3, parsed anew.
    const delivered = attached ?? assert.fail('no delivered message to read again');
    const again = await request(
      'GET',
      `/v1/accounts/${delivered.account}/messages/${encodeURIComponent(`${delivered.uidValidity}:${delivered.uid}:${delivered.mailbox}`)}`,
    );
    assert.equal(again.data.subject, 'attached');
    await request('DELETE', '/v1/subscriptions/api-made');
    // The large dead letter's body is in S3: a replay reads it, and deletes it once delivered.
    assert.ok((await request('GET', '/v1/dead-letters')).data.length > 0);
    refusing.respond = () => 200;
    const commandsFiled = () =>
      calls.filter(
        (c) =>
          c.component === 'api' &&
          c.action === 'dynamodb:PutItem' &&
          c.target.kind === 'table' &&
          c.target.leadingKeys.some((key) => key.startsWith('COMMANDS#')),
      ).length;
    const filedBefore = commandsFiled();
    assert.ok((await request('POST', '/v1/dead-letters/replay', { subscription: 'refusing' })).delivered > 0);
    assert.ok(commandsFiled() > filedBefore, "the replays' 2xx filed their after-delivery actions");
    // The deliveries being retried, listed and hurried: SQS makes them due by their receipt handles.
    const pending = (await request('GET', '/v1/deliveries/pending?subscription=down')).data;
    assert.ok(pending.length > 0, 'the failed deliveries are noted');
    down.respond = () => 200;
    assert.ok((await request('POST', '/v1/subscriptions/down/retry-now')).retried > 0);
    await apiAdapters.http.close();
    // Delivered now, their notes are removed.
    // (The flag changes the message actions made come to it too, by then delivered at their first attempt.)
    const hurried = () => down.accepted.filter((w) => w.body.type === 'message.received').length;
    const settled = Date.now() + 30_000;
    while (Date.now() < settled && hurried() < 3) {
      await pollOnce(deliverSqs, env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(hurried(), 3, 'the hurried deliveries arrived');
    await deliverAdapters.http.close();
    // A stopping task takes its status tally back.
    const stopping = watcher;
    watcher = undefined;
    await stopping?.stop();
  });

  after(async () => {
    await watcher?.stop();
    await receiver.close();
    await refusing.close();
    await down.close();
    await links?.close();
    await aws?.stop();
    await kms?.close();
    await dynamo?.stop();
    await dovecot?.stop();
  });

  /** The ARN IAM authorizes a recorded call against, in the template's made-up deployment. */
  const resourceOf = (call: RecordedCall): string => {
    const { target } = call;
    if (target.kind === 'table') {
      const table = resourceArn(template, logicalIdOf(template, 'AWS::DynamoDB::Table', 'State'));
      return target.index ? `${table}/index/${target.index}` : table;
    }
    if (target.kind === 'queue') {
      const which = target.url === env.IDLEHOOK_INGEST_QUEUE_URL ? 'Ingest' : 'Delivery';
      return resourceArn(template, logicalIdOf(template, 'AWS::SQS::Queue', which, 'DeadLetters'));
    }
    if (target.kind === 'key') return target.arn;
    if (target.kind === 'object')
      return `arn:aws:s3:::${resourceName(template, logicalIdOf(template, 'AWS::S3::Bucket', 'Blobs', 'AccessLogs'))}/${target.key}`;
    return target.arn;
  };

  /** `*` in an IAM pattern matches any run of characters (IAM's StringLike and resource matching). */
  const matches = (pattern: string, value: string) =>
    new RegExp(
      `^${pattern
        .split('*')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
      's',
    ).test(value);

  /** A resource as a reader of this test names it: the table, a queue, an S3 key prefix, a secret's kind. */
  const labelOf = (resource: string): string => {
    const table = resourceArn(template, logicalIdOf(template, 'AWS::DynamoDB::Table', 'State'));
    if (resource === table) return 'table';
    if (resource.startsWith(`${table}/`)) return `table${resource.slice(table.length)}`;
    for (const which of ['Ingest', 'Delivery'])
      if (resource === resourceArn(template, logicalIdOf(template, 'AWS::SQS::Queue', which, 'DeadLetters')))
        return `${which.toLowerCase()} queue`;
    const objects = resourceOf({ component: 'api', action: '', target: { kind: 'object', key: '' } });
    if (resource.startsWith(objects)) return resource.slice(objects.length);
    if (resource === linkKeyArn) return 'blob link key';
    if (resource === kms.keyArn) return 'credentials key';
    const secrets = `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${PREFIX}`;
    if (resource.startsWith(secrets)) return resource.slice(secrets.length);
    return resource;
  };

  /**
   * Each (action, resource) and each (action, table partition) a role's statements allow, with whether a call
   * used it: a role must not hold on one resource or partition what it needs on another, which a check per action
   * name alone lets pass.
   */
  const grantsOf = (statements: readonly Statement[]) =>
    statements.flatMap((statement) => {
      const partitions =
        (statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] as
          | string[]
          | undefined) ?? [];
      const resources = [statement.Resource].flat();
      return [statement.Action].flat().flatMap((action) => [
        ...resources.map((resource) => ({
          name: `${action} ${labelOf(resource)}`,
          covers: (call: RecordedCall) => call.action === action && matches(resource, resourceOf(call)),
        })),
        ...partitions.map((partition) => ({
          name: `${action} ${partition}`,
          covers: (call: RecordedCall) =>
            call.action === action &&
            resources.some((resource) => matches(resource, resourceOf(call))) &&
            call.target.kind === 'table' &&
            call.target.leadingKeys.some((key) => matches(partition, key)),
        })),
      ]);
    });

  /**
   * The simulator ignores KMS's `kms:EncryptionContext:<key>` condition keys (it matches variable keys only in the
   * `aws:PrincipalTag/<key>` form), so those conditions are evaluated here, as IAM's StringEquals does: a statement
   * whose encryption-context conditions the call does not meet is dropped, and the conditions leave the rest.
   */
  const withContextConditionsApplied = (
    statements: readonly Statement[],
    call: RecordedCall,
  ): Statement[] => {
    if (call.target.kind !== 'key') return [...statements];
    const context = call.target.context;
    return statements.flatMap((statement) => {
      const equals = (statement.Condition?.StringEquals ?? {}) as Record<string, string>;
      const contextKeys = Object.keys(equals).filter((key) => key.startsWith('kms:EncryptionContext:'));
      if (contextKeys.length === 0) return [statement];
      const met = contextKeys.every(
        (key) => context[key.slice('kms:EncryptionContext:'.length)] === equals[key],
      );
      if (!met) return [];
      const rest = Object.fromEntries(Object.entries(equals).filter(([key]) => !contextKeys.includes(key)));
      const { StringEquals: _applied, ...otherConditions } = statement.Condition ?? {};
      const Condition =
        Object.keys(rest).length > 0 ? { ...otherConditions, StringEquals: rest } : otherConditions;
      return [
        { ...statement, ...(Object.keys(Condition).length > 0 ? { Condition } : { Condition: undefined }) },
      ];
    });
  };

  const allowed = async (statements: readonly Statement[], call: RecordedCall, component: Component) => {
    const response = await runSimulation(
      {
        identityPolicies: [
          {
            name: 'role',
            policy: {
              Version: '2012-10-17',
              Statement: JSON.parse(JSON.stringify(withContextConditionsApplied(statements, call))),
            },
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(call.target.kind === 'key'
          ? {
              resourcePolicy: keyPolicy(
                template,
                logicalIdOf(template, 'AWS::KMS::Key', 'CredentialsKey'),
                STACK,
              ),
            }
          : {}),
        request: {
          action: call.action,
          principal: resourceArn(template, logicalIdOf(template, 'AWS::IAM::Role', ROLES[component])),
          resource: { accountId: ACCOUNT_ID, resource: resourceOf(call) },
          contextVariables:
            call.target.kind === 'table'
              ? { 'dynamodb:LeadingKeys': [...call.target.leadingKeys] }
              : call.target.kind === 'key'
                ? Object.fromEntries(
                    Object.entries(call.target.context).map(([key, value]) => [
                      `kms:EncryptionContext:${key}`,
                      value,
                    ]),
                  )
                : {},
        },
      } as never,
      {},
    );
    if (response.resultType === 'error') assert.fail(`simulation error: ${JSON.stringify(response.errors)}`);
    return response.overallResult === 'Allowed';
  };

  for (const component of ['watcher', 'parse', 'deliver', 'blobs', 'api'] as const) {
    it(`${component}: each call it made is allowed, and each grant was used or has a reason`, async () => {
      const statements = roleStatements(template, ROLES[component], STACK);
      const mine = calls.filter((c) => c.component === component);
      assert.ok(mine.length > 0, `${component} made calls`);
      const denied: string[] = [];
      for (const call of mine)
        if (!(await allowed(statements, call, component)))
          denied.push(`${call.action} ${resourceOf(call)} ${JSON.stringify(call.target)}`);
      assert.deepEqual([...new Set(denied)], [], `${component}'s role would deny these calls`);

      const grants = grantsOf(statements);
      assert.ok(grants.length > 0);
      const unused = grants
        .filter((grant) => !mine.some((call) => grant.covers(call)))
        .map((grant) => grant.name)
        .filter((name) => !Object.hasOwn(UNEXERCISED[component], name));
      assert.deepEqual(unused, [], `${component} holds grants no test used and no reason keeps`);
      // Reasons may name grants a run reaches only sometimes (a held-back record large enough to overflow), so a
      // used one is no error; a reason for a grant no longer held is.
      const names = new Set(grants.map((grant) => grant.name));
      const stale = Object.keys(UNEXERCISED[component]).filter((name) => !names.has(name));
      assert.deepEqual(stale, [], `${component}: these reasons name grants no longer held`);
    });
  }

  it('the run took every path: overflow, attachments, dead-letter bodies and rate counters', () => {
    const objects = calls
      .filter((c) => c.target.kind === 'object')
      .map((c) => `${c.component} ${c.action} ${(c.target as { key: string }).key.split('/')[0]}`);
    for (const expected of [
      'watcher s3:PutObject raw',
      'parse s3:GetObject raw',
      'parse s3:PutObject attachments',
      'parse s3:PutObject queue-overflow',
      'deliver s3:GetObject queue-overflow',
      'deliver s3:PutObject dead-letters',
      'api s3:GetObject dead-letters',
      'api s3:DeleteObject dead-letters',
    ])
      assert.ok(objects.includes(expected), `${expected} (saw: ${[...new Set(objects)].join('; ')})`);
    assert.ok(
      calls.some((c) => c.target.kind === 'table' && c.target.leadingKeys.some((k) => k.startsWith('RATE#'))),
    );
    assert.ok(calls.some((c) => c.component === 'deliver' && c.action === 'secretsmanager:GetSecretValue'));
    const statusReports = (component: Component, action: string) =>
      calls.some(
        (c) =>
          c.component === component &&
          c.action === action &&
          c.target.kind === 'table' &&
          c.target.leadingKeys.some((key) => key.startsWith('ACCOUNT_STATUS#')),
      );
    assert.ok(statusReports('watcher', 'dynamodb:PutItem'), 'the watcher reported account status');
    assert.ok(statusReports('api', 'dynamodb:BatchGetItem'), "the API read a page of accounts' reports");
    const tallies = (component: Component, action: string) =>
      calls.some(
        (c) =>
          c.component === component &&
          c.action === action &&
          c.target.kind === 'table' &&
          c.target.leadingKeys.includes('STATUS_TALLIES'),
      );
    assert.ok(tallies('watcher', 'dynamodb:PutItem'), 'the watcher tallied its accounts');
    assert.ok(tallies('watcher', 'dynamodb:DeleteItem'), 'and took the tally back as it stopped');
    assert.ok(tallies('api', 'dynamodb:Query'), 'the API added the tallies up');
    assert.ok(statusReports('api', 'dynamodb:GetItem'), "and one account's");
    const parseSecrets = calls.filter(
      (c) => c.component === 'parse' && c.action.startsWith('secretsmanager:'),
    );
    assert.ok(parseSecrets.every((c) => c.target.kind === 'secret' && c.target.arn === linkKeyArn));
    assert.ok(calls.some((c) => c.component === 'blobs' && c.action === 's3:GetObject'));
  });
});
