// The hosted OAuth2 connect flow in AWS mode: the API function invoked with API Gateway's own events, the connect
// settings and signing key in the Secrets Manager stand-in, pending flows in DynamoDB (dynalite), a stand-in
// authorization server, Dovecot's oauth2 passdb, the AWS watcher and the functions. API Gateway and Lambda
// cannot run here: the events are built as AWS documents them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { SecretsManagerResolver } from '../../src/adapters/aws/secrets-manager-resolver.js';
import { SecretsManagerOAuth2TokenStore } from '../../src/adapters/aws/secrets-manager-token-store.js';
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
import { TokenServer } from '../support/token-server.js';

const PREFIX = 'idlehook/ConnectTest/';
const API = 'https://abc123.execute-api.us-east-1.amazonaws.com';
const APP = 'https://app.example.com/mail/';

/** A request as the HTTP API (payload format 2.0) hands it to the function. */
function eventFor(method: string, url: string, headers: Record<string, string>, body?: string) {
  const target = new URL(url);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: target.pathname,
    rawQueryString: target.search.slice(1),
    headers: { host: target.host, ...headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: target.host,
      domainPrefix: 'abc123',
      http: { method, path: target.pathname, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
      requestId: 'request',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: false,
  } as APIGatewayProxyEventV2;
}

describe('the hosted OAuth2 connect flow in AWS mode (the API function, on the emulators)', () => {
  const tokens = new TokenServer();
  const receiver = new WebhookReceiver(newWebhookSecret());
  let dovecot: DovecotServer;
  let stack: EmulatedStack;
  let secretsManager: SecretsManagerStandIn;
  let env: AwsEnvironment;
  let handler: ApiHandler;
  let apiToken = '';
  let authorizeBase = '';
  let watcher: AwsWatcher;
  let functions: { stop(): Promise<void> };

  const clientsOf = (): Partial<AwsClients> => {
    const client = new SecretsManagerClient({
      ...stack.dynamo.clientConfig,
      endpoint: secretsManager.endpoint,
    });
    return {
      ...stack.clients,
      secrets: withLinkKey(new SecretsManagerResolver(client, systemClock)),
      secretWriter: new SecretsManagerWriter(client),
      oauth2Tokens: new SecretsManagerOAuth2TokenStore(client, PREFIX),
    };
  };
  const invoke = async (method: string, url: string, body?: unknown) => {
    const result = (await handler(
      eventFor(
        method,
        url,
        { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
        body === undefined ? undefined : JSON.stringify(body),
      ),
    )) as Exclude<APIGatewayProxyResultV2, string>;
    return { status: result.statusCode ?? 0, headers: result.headers ?? {}, body: result.body ?? '' };
  };
  /** One hop of the browser's journey through the function: where its 302 sends the browser. */
  const functionHop = async (url: string) => {
    const answer = await invoke('GET', url);
    assert.equal(answer.status, 302, `${url}: ${answer.status} ${answer.body}`);
    return String(answer.headers.location ?? '');
  };
  /** One hop through the stand-in authorization server. */
  const providerHop = async (url: string) => {
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 302, `${url}: ${response.status}`);
    return response.headers.get('location') ?? '';
  };
  const linkFor = async (account: string) => {
    const made = await invoke('POST', `${API}/v1/connect-links`, {
      provider: 'gmail',
      account,
      redirect: `${APP}connected?from=test`,
    });
    assert.equal(made.status, 201, made.body);
    return (JSON.parse(made.body) as { url: string }).url;
  };
  const mailboxState = async (account: string) => {
    const health = (await (await fetch(watcher.healthUrl)).json()) as {
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
    return Object.hasOwn(health.accounts, account)
      ? health.accounts[account]?.mailboxes.INBOX?.state
      : undefined;
  };

  before(async () => {
    const base = await tokens.listen();
    authorizeBase = `${base}/authorize`;
    dovecot = await startDovecot([{ name: 'support', password: 'appender-password' }], {
      oauth2IntrospectionUrl: `${base}/introspect`,
    });
    stack = await startEmulatedStack('idlehook-connect');
    secretsManager = await startSecretsManager();
    // What the operator stores once: the config file's `connect` section, and the key the stack generates.
    const configArn = secretsManager.put(
      `${PREFIX}connect`,
      JSON.stringify({
        allowedRedirects: [APP],
        providers: {
          gmail: {
            clientId: 'idlehook-test',
            authorizeUrl: authorizeBase,
            tokenUrl: `${base}/token`,
            imap: { host: 'localhost', port: dovecot.tlsPort, ca: readFileSync(dovecot.caFile, 'utf8') },
          },
        },
      }),
    );
    const keyArn = secretsManager.put(`${PREFIX}connect-key`, 'k'.repeat(64));
    env = loadAwsEnvironment({
      ...stack.variables,
      IDLEHOOK_SECRET_PREFIX: PREFIX,
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '1',
      IDLEHOOK_LOG_LEVEL: 'error',
      IDLEHOOK_CONNECT_CONFIG_ARN: configArn,
      IDLEHOOK_CONNECT_KEY_ARN: keyArn,
    });
    handler = apiFunction(composeAwsAdapters(env, clientsOf()), env);
    apiToken = (await composeAwsAdapters(env, clientsOf()).apiTokens.create('app')).token;
    watcher = await startAwsWatcher(env, { clients: clientsOf(), healthPort: 0, heartbeat: async () => {} });
    functions = runFunctions(composeAwsAdapters(env, clientsOf()), env, stack.aws.sqs);
    const subscription = await invoke('POST', `${API}/v1/subscriptions`, {
      id: 'hook',
      url: await receiver.listen(),
      secret: receiver.secret,
    });
    assert.equal(subscription.status, 201, subscription.body);
  });

  after(async () => {
    await functions?.stop();
    await watcher?.stop();
    await receiver.close();
    await tokens.close();
    await secretsManager?.close();
    await stack?.stop();
    await dovecot?.stop();
  });

  it('a request to /connect ends with an account whose mailbox is in IDLE and whose mail arrives as webhooks', async () => {
    const link = await linkFor('customer-1');
    assert.ok(link.startsWith(`${API}/connect/gmail?`), link);
    const toProvider = await functionHop(link);
    assert.ok(toProvider.startsWith(`${authorizeBase}?`), toProvider);
    const asked = new URL(toProvider).searchParams;
    assert.equal(asked.get('redirect_uri'), `${API}/connect/callback`, "the HTTP API's own address");
    assert.equal(asked.get('code_challenge_method'), 'S256');

    const toCallback = await providerHop(toProvider);
    assert.ok(toCallback.startsWith(`${API}/connect/callback?`), toCallback);
    // The flow was left in DynamoDB: another function instance takes the user back.
    handler = apiFunction(composeAwsAdapters(env, clientsOf()), env);
    const backToApp = new URL(await functionHop(toCallback));
    assert.equal(`${backToApp.origin}${backToApp.pathname}`, `${APP}connected`);
    assert.equal(backToApp.searchParams.get('from'), 'test');
    assert.equal(backToApp.searchParams.get('status'), 'connected', backToApp.toString());
    assert.equal(backToApp.searchParams.get('account'), 'customer-1');

    const deadline = Date.now() + 30_000;
    while ((await mailboxState('customer-1')) !== 'idle') {
      assert.ok(Date.now() < deadline, 'the watcher did not IDLE on the connected account');
      await sleep(100);
    }
    const appender = await connectAppender(dovecot, 'support', 'appender-password');
    await appender.append('INBOX', simpleMessage('Connected in AWS'));
    await appender.logout();
    await receiver.waitUntil(
      () => receiver.ofType('message.received').some((w) => w.body.data.subject === 'Connected in AWS'),
      30_000,
      'the connected mailbox, delivered',
    );
    const account = JSON.parse((await invoke('GET', `${API}/v1/accounts/customer-1`)).body);
    assert.equal(account.auth, 'oauth2');
    assert.equal(account.user, 'support', "the address from the provider's ID token");
    const [stored] = await composeAwsAdapters(env, clientsOf()).accounts.stored();
    assert.ok(!JSON.stringify(stored).includes('refresh'), 'the refresh token is in Secrets Manager only');

    // The state is single-use, across instances too.
    assert.equal((await invoke('GET', toCallback)).status, 400);
  });

  it('refuses a changed link and a redirect it was not told about', async () => {
    const link = new URL(await linkFor('customer-2'));
    link.searchParams.set('account', 'support-takeover');
    assert.equal((await invoke('GET', link.toString())).status, 401);
    const elsewhere = await invoke('POST', `${API}/v1/connect-links`, {
      provider: 'gmail',
      account: 'customer-2',
      redirect: 'https://evil.example/steal',
    });
    assert.equal(elsewhere.status, 422);
    assert.deepEqual(
      (JSON.parse(elsewhere.body) as { errors: { path: string }[] }).errors.map((e) => e.path),
      ['redirect'],
    );
  });
});
