// The hosted OAuth2 connect flow in AWS mode: the API function invoked with API Gateway's own events, the connect
// settings and signing key in the Secrets Manager stand-in, pending flows in DynamoDB (dynalite), a stand-in
// authorization server, Dovecot's oauth2 passdb, the AWS watcher and the functions. API Gateway and Lambda
// cannot run here: the events are built as AWS documents them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ApiHandler, apiFunction } from '../../src/compose/aws/api-function.js';
import { API_URL as API, type ApiStack, invokeApi, startApiStack } from '../support/aws-api.js';
import { CookieJar } from '../support/cookie-jar.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { TokenServer } from '../support/token-server.js';

const PREFIX = 'idlehook/ConnectTest/';
const APP = 'https://app.example.com/mail/';

describe('the hosted OAuth2 connect flow in AWS mode (the API function, on the emulators)', () => {
  const tokens = new TokenServer();
  const receiver = new WebhookReceiver(newWebhookSecret());
  let dovecot: DovecotServer;
  let stack: ApiStack;
  let handler: ApiHandler;
  let apiToken = '';
  let authorizeBase = '';

  const invoke = (method: string, url: string, body?: unknown) =>
    invokeApi(handler, method, url, { token: apiToken, ...(body === undefined ? {} : { body }) });
  /** The user's browser: the flow binds itself to it with a cookie. */
  const browser = new CookieJar();
  /** One hop of the browser's journey through the function: where its 302 sends the browser. */
  const functionHop = async (url: string) => {
    const answer = await invokeApi(handler, 'GET', url, { token: null, cookies: browser.cookiesFor(url) });
    browser.store(url, answer.setCookies);
    assert.equal(answer.status, 302, `${url}: ${answer.status} ${answer.text}`);
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
    assert.equal(made.status, 201, made.text);
    return (made.json as { url: string }).url;
  };

  before(async () => {
    const base = await tokens.listen();
    authorizeBase = `${base}/authorize`;
    dovecot = await startDovecot([{ name: 'support', password: 'appender-password' }], {
      oauth2IntrospectionUrl: `${base}/introspect`,
    });
    // What the operator stores once (the config file's `connect` section), and the key the stack generates.
    const settings = {
      allowedRedirects: [APP],
      providers: {
        gmail: {
          clientId: 'idlehook-test',
          authorizeUrl: authorizeBase,
          tokenUrl: `${base}/token`,
          imap: { host: 'localhost', port: dovecot.tlsPort, ca: readFileSync(dovecot.caFile, 'utf8') },
        },
      },
    };
    stack = await startApiStack({
      bucket: 'idlehook-connect',
      prefix: PREFIX,
      secrets: new Map([
        [`${PREFIX}connect`, JSON.stringify(settings)],
        [`${PREFIX}connect-key`, 'k'.repeat(64)],
      ]),
      environment: (arns) => ({
        IDLEHOOK_CONNECT_CONFIG_ARN: arns.get(`${PREFIX}connect`) ?? '',
        IDLEHOOK_CONNECT_KEY_ARN: arns.get(`${PREFIX}connect-key`) ?? '',
      }),
    });
    handler = apiFunction(stack.adapters(), stack.env);
    apiToken = await stack.createToken('app');
    const subscription = await invoke('POST', `${API}/v1/subscriptions`, {
      id: 'hook',
      url: await receiver.listen(),
      secret: receiver.secret,
    });
    assert.equal(subscription.status, 201, subscription.text);
  });

  after(async () => {
    await stack?.stop();
    await receiver.close();
    await tokens.close();
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
    handler = apiFunction(stack.adapters(), stack.env);
    const backToApp = new URL(await functionHop(toCallback));
    assert.equal(`${backToApp.origin}${backToApp.pathname}`, `${APP}connected`);
    assert.equal(backToApp.searchParams.get('from'), 'test');
    assert.equal(backToApp.searchParams.get('status'), 'connected', backToApp.toString());
    assert.equal(backToApp.searchParams.get('account'), 'customer-1');

    const deadline = Date.now() + 30_000;
    while ((await stack.mailboxState('customer-1')) !== 'idle') {
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
    const account = (await invoke('GET', `${API}/v1/accounts/customer-1`)).json;
    assert.equal(account.auth, 'oauth2');
    assert.equal(account.user, 'support', "the address from the provider's ID token");
    const [stored] = await stack.adapters().accounts.stored();
    assert.ok(!JSON.stringify(stored).includes('refresh'), 'the refresh token is in Secrets Manager only');

    // The state is single-use, across instances too; the link too (its use is in DynamoDB).
    const again = await invokeApi(handler, 'GET', toCallback, {
      token: null,
      cookies: browser.cookiesFor(toCallback),
    });
    assert.equal(again.status, 400);
    const linkAgain = await invokeApi(handler, 'GET', link, {
      token: null,
      cookies: browser.cookiesFor(link),
    });
    assert.equal(linkAgain.status, 401);
    assert.match(linkAgain.text, /already used/);
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
      (elsewhere.json as { errors: { path: string }[] }).errors.map((e) => e.path),
      ['redirect'],
    );
  });
});
