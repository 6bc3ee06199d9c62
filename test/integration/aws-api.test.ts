// The management API in AWS mode: the Lambda handler invoked with the events API Gateway (HTTP API, payload 2.0)
// and a function URL send, over the emulators (DynamoDB, SQS, S3), the Secrets Manager stand-in, Dovecot and a
// receiver that verifies with the standardwebhooks package. API Gateway and Lambda cannot run here: the events
// are built as AWS documents them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { SecretsManagerResolver } from '../../src/adapters/aws/secrets-manager-resolver.js';
import { SecretsManagerWriter } from '../../src/adapters/aws/secrets-manager-writer.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { type ApiHandler, apiFunction } from '../../src/runtime/api-function.js';
import { type AwsClients, composeAwsAdapters } from '../../src/runtime/aws-composition.js';
import { type AwsWatcher, startAwsWatcher } from '../../src/runtime/aws-watcher.js';
import { type EmulatedStack, runFunctions, startEmulatedStack } from '../support/aws-pipeline.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { withLinkKey } from '../support/link-endpoint.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type SecretsManagerStandIn, startSecretsManager } from '../support/secrets-manager-standin.js';

const PREFIX = 'idlehook/ApiTest/';

/** An HTTP API (payload format 2.0) proxy event, as API Gateway sends it to the function. */
function apiGatewayEvent(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; iamCaller?: string } = {},
): APIGatewayProxyEventV2 {
  const url = new URL(path, 'https://api.example.com');
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: {
      host: 'api.example.com',
      ...(options.body ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'request',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      // Set by AWS only when it verified a SigV4 signature (a function URL or route with IAM auth).
      ...(options.iamCaller
        ? {
            authorizer: {
              iam: {
                accessKey: 'AKIA',
                accountId: '123456789012',
                callerId: 'AROA',
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: options.iamCaller,
                userId: 'AROA:session',
              },
            },
          }
        : {}),
    } as APIGatewayProxyEventV2['requestContext'],
    body: options.body,
    isBase64Encoded: false,
  };
}

describe('the management API in AWS mode (the Lambda handler, on the emulators)', () => {
  let dovecot: DovecotServer;
  let stack: EmulatedStack;
  let secretsManager: SecretsManagerStandIn;
  let env: AwsEnvironment;
  let handler: ApiHandler;
  let token: string;
  let watcher: AwsWatcher;
  let functions: { stop(): Promise<void> };
  const hookSecret = newWebhookSecret();
  const receiver = new WebhookReceiver(hookSecret);
  const refusing = new WebhookReceiver(newWebhookSecret());

  /** Each component its own clients, as each function and the task has its own. */
  const clientsOf = (): Partial<AwsClients> => {
    const client = new SecretsManagerClient({
      ...stack.dynamo.clientConfig,
      endpoint: secretsManager.endpoint,
    });
    return {
      ...stack.clients,
      secrets: withLinkKey(new SecretsManagerResolver(client, systemClock)),
      secretWriter: new SecretsManagerWriter(client),
    };
  };

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    options: { token?: string | null; iamCaller?: string } = {},
  ) => {
    const bearer = options.token === undefined ? token : options.token;
    const result = (await handler(
      apiGatewayEvent(method, path, {
        headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        ...(options.iamCaller ? { iamCaller: options.iamCaller } : {}),
      }),
    )) as Exclude<APIGatewayProxyResultV2, string>;
    const text = result.body ?? '';
    return { status: result.statusCode ?? 0, text, json: text ? (JSON.parse(text) as any) : undefined };
  };

  const mailboxState = async (account: string) => {
    const health = (await (await fetch(watcher.healthUrl)).json()) as {
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
    return Object.hasOwn(health.accounts, account)
      ? health.accounts[account]?.mailboxes.INBOX?.state
      : undefined;
  };
  const waitFor = async (what: string, condition: () => boolean | Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };

  before(async () => {
    dovecot = await startDovecot([{ name: 'support', password: 'support-pw' }]);
    stack = await startEmulatedStack('idlehook-api');
    secretsManager = await startSecretsManager();
    env = loadAwsEnvironment({
      ...stack.variables,
      IDLEHOOK_SECRET_PREFIX: PREFIX,
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '1',
      IDLEHOOK_LOG_LEVEL: 'error',
    });
    const api = composeAwsAdapters(env, clientsOf());
    handler = apiFunction(api, env);
    // What `idlehook tokens create --stack NAME` does, with the operator's credentials.
    token = (await composeAwsAdapters(env, clientsOf()).apiTokens.create('helpdesk')).token;
    watcher = await startAwsWatcher(env, { clients: clientsOf(), healthPort: 0, heartbeat: async () => {} });
    functions = runFunctions(composeAwsAdapters(env, clientsOf()), env, stack.aws.sqs);
  });

  after(async () => {
    await functions?.stop();
    await watcher?.stop();
    await receiver.close();
    await refusing.close();
    await secretsManager?.close();
    await stack?.stop();
    await dovecot?.stop();
  });

  it('refuses a request without a token, or with a wrong one, and accepts an IAM-authenticated one', async () => {
    const none = await call('GET', '/v1/accounts', undefined, { token: null });
    assert.equal(none.status, 401);
    assert.equal(none.json.status, 401);
    const wrong = await call('GET', '/v1/accounts', undefined, { token: 'ihk_wrong' });
    assert.equal(wrong.status, 401);
    const iam = await call('GET', '/v1/accounts', undefined, {
      token: null,
      iamCaller: 'arn:aws:sts::123456789012:assumed-role/helpdesk/session',
    });
    assert.equal(iam.status, 200, iam.text);
    assert.equal((await call('GET', '/v1/openapi.json')).json.openapi, '3.1.0');
  });

  it('creates a subscription and an account (doctor first); mail arrives as a webhook', async () => {
    const subscription = await call('POST', '/v1/subscriptions', {
      id: 'hook',
      url: await receiver.listen(),
      secret: hookSecret,
    });
    assert.equal(subscription.status, 201, subscription.text);
    assert.equal(subscription.json.secret, undefined, 'a secret sent in is never sent back');

    const bad = await call('POST', '/v1/accounts', {
      id: 'plain',
      host: '127.0.0.1',
      port: dovecot.plainPort,
      security: 'none',
      allowInsecure: true,
      user: 'support',
      password: 'support-pw',
    });
    assert.equal(bad.status, 422, bad.text);
    assert.deepEqual(
      bad.json.errors.map((e: { path: string }) => e.path),
      ['security'],
    );

    const wrongPassword = await call('POST', '/v1/accounts?check=true', {
      id: 'support',
      host: '127.0.0.1',
      port: dovecot.tlsPort,
      user: 'support',
      password: 'not-the-password',
      tls: { ca: readFileSync(dovecot.caFile, 'utf8'), servername: 'localhost' },
    });
    assert.equal(wrongPassword.status, 422, wrongPassword.text);
    assert.ok(wrongPassword.json.doctor.steps.some((s: { ok: boolean }) => !s.ok));
    assert.equal((await call('GET', '/v1/accounts/support')).status, 404, 'nothing stored on failure');

    const created = await call('POST', '/v1/accounts?check=true', {
      id: 'support',
      host: '127.0.0.1',
      port: dovecot.tlsPort,
      user: 'support',
      password: 'support-pw',
      tls: { ca: readFileSync(dovecot.caFile, 'utf8'), servername: 'localhost' },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.json.status.state, 'unknown', 'the live status is in the watcher task');
    assert.ok(!created.text.includes('support-pw'), 'the password never comes back');
    const [stored] = await composeAwsAdapters(env, clientsOf()).accounts.stored();
    assert.match(
      String(stored?.passwordSecretArn),
      /^arn:aws:secretsmanager:.*:secret:idlehook\/ApiTest\/accounts\/support\//,
    );
    assert.ok(
      !JSON.stringify(stored).includes('support-pw'),
      'the password is in Secrets Manager, not DynamoDB',
    );

    await waitFor(
      'the watcher to IDLE on the new account',
      async () => (await mailboxState('support')) === 'idle',
    );
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('through the AWS API'));
    await appender.logout();
    await waitFor('the webhook', () =>
      receiver.accepted.some((w) => w.body.data.subject === 'through the AWS API'),
    );
  });

  it('rotates a subscription secret: both signatures during the overlap', async () => {
    const rotated = await call('POST', '/v1/subscriptions/hook/rotate-secret', {
      previousSecretValidSeconds: 3600,
    });
    assert.equal(rotated.status, 200, rotated.text);
    const newSecret = rotated.json.secret as string;
    assert.match(newSecret, /^whsec_/);
    const shown = await call('GET', '/v1/subscriptions/hook');
    assert.equal(shown.json.previousSecretExpiresAt, rotated.json.previousSecretExpiresAt);

    // The deliver function caches the subscription list for 30 s: a new instance sees the rotation at once.
    await functions.stop();
    functions = runFunctions(composeAwsAdapters(env, clientsOf()), env, stack.aws.sqs);
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('after the rotation'));
    await appender.logout();
    await waitFor('the webhook', () =>
      receiver.accepted.some((w) => w.body.data.subject === 'after the rotation'),
    );
    const during = receiver.accepted.find((w) => w.body.data.subject === 'after the rotation');
    assert.ok(during);
    assert.equal(during.raw.headers['webhook-signature']?.split(' ').length, 2, 'two signatures');
    assert.doesNotThrow(() => new Webhook(newSecret).verify(during.raw.body, during.raw.headers));
    assert.doesNotThrow(() => new Webhook(hookSecret).verify(during.raw.body, during.raw.headers));
  });

  it('lists dead letters and replays them', async () => {
    refusing.respond = () => 400;
    const created = await call('POST', '/v1/subscriptions', {
      id: 'refusing',
      url: await refusing.listen(),
      secret: refusing.secret,
      events: ['message.received'],
    });
    assert.equal(created.status, 201, created.text);
    await functions.stop();
    functions = runFunctions(composeAwsAdapters(env, clientsOf()), env, stack.aws.sqs);
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('refused at first'));
    await appender.logout();
    let letters: { eventId: string }[] = [];
    await waitFor('the dead letter', async () => {
      letters = (await call('GET', '/v1/dead-letters?subscription=refusing')).json.data;
      return letters.length > 0;
    });
    refusing.respond = () => 200;
    const replayed = await call('POST', '/v1/dead-letters/replay', { subscription: 'refusing' });
    assert.equal(replayed.status, 200, replayed.text);
    assert.equal(replayed.json.delivered, letters.length);
    assert.ok(
      refusing.accepted.some((w) => w.id === letters[0]?.eventId),
      'replayed under its original id',
    );
    assert.equal((await call('GET', '/v1/dead-letters?subscription=refusing')).json.data.length, 0);
    const attempts = await call('GET', '/v1/subscriptions/refusing/attempts');
    assert.ok(attempts.json.data.some((a: { succeeded: boolean }) => a.succeeded));
  });

  it('deletes the account: the watcher lets it go and no more events come', async () => {
    const deleted = await call('DELETE', '/v1/accounts/support');
    assert.equal(deleted.status, 204, deleted.text);
    await waitFor(
      'the watcher to drop the account',
      async () => (await mailboxState('support')) === undefined,
    );
    const before = receiver.accepted.length;
    const appender = await connectAppender(dovecot, 'support', 'support-pw');
    await appender.append('INBOX', simpleMessage('after the delete'));
    await appender.logout();
    await sleep(3_000);
    assert.equal(receiver.accepted.length, before, 'no event for a deleted account');
    assert.equal((await call('GET', '/v1/accounts/support')).status, 404);
  });

  it('refuses oversized bodies and stays up', async () => {
    const huge = await call('POST', '/v1/subscriptions', `{"id":"x","url":"${'a'.repeat(70_000)}"}`);
    assert.equal(huge.status, 413, huge.text);
    assert.equal((await call('GET', '/v1/status')).status, 200);
  });
});
