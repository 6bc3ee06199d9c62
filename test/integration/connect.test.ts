import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BridgeProcess } from '../support/bridge.js';
import { CookieJar } from '../support/cookie-jar.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { waitForIdle } from '../support/scenario.js';
import { TokenServer } from '../support/token-server.js';

const APP = 'https://app.example.com/mail/';

describe('the hosted OAuth2 connect flow (local mode, a stand-in authorization server, Dovecot oauth2 passdb)', () => {
  const tokens = new TokenServer();
  const receiver = new WebhookReceiver(newWebhookSecret());
  let dovecot: DovecotServer;
  let bridge: BridgeProcess;
  let apiToken = '';
  let authorizeBase = '';

  const api = (path: string, body?: unknown, token = apiToken) =>
    fetch(`${bridge.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  /** The user's browser: the connect flow binds itself to it with a cookie. */
  let browser = new CookieJar();
  /** One hop of the browser's journey: the Location a 302 sends it to. */
  const hop = async (url: string) => {
    const response = await browser.fetch(url);
    assert.equal(response.status, 302, `${url}: ${response.status} ${await response.text()}`);
    return response.headers.get('location') ?? '';
  };
  const linkFor = async (account: string, redirect = `${APP}connected?from=test`) => {
    const response = await api('/v1/connect-links', { provider: 'gmail', account, redirect });
    assert.equal(response.status, 201, await response.clone().text());
    return ((await response.json()) as { url: string }).url;
  };

  before(async () => {
    const base = await tokens.listen();
    authorizeBase = `${base}/authorize`;
    dovecot = await startDovecot([{ name: 'support', password: 'appender-password' }], {
      oauth2IntrospectionUrl: `${base}/introspect`,
    });
    bridge = await BridgeProcess.create(
      {
        reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
        imap: { checkIntervalSeconds: 1 },
        subscriptions: [{ id: 'hook', url: await receiver.listen(), secret: { env: 'TEST_WEBHOOK_SECRET' } }],
        connect: {
          allowedRedirects: [APP],
          providers: {
            gmail: {
              clientId: 'idlehook-test',
              authorizeUrl: authorizeBase,
              tokenUrl: `${base}/token`,
              imap: { host: 'localhost', port: dovecot.tlsPort, ca: dovecot.caFile },
            },
          },
        },
      },
      { TEST_WEBHOOK_SECRET: receiver.secret },
    );
    await bridge.start();
    apiToken = /ihk_\S+/.exec((await bridge.cli('tokens', 'create', '--name', 'app')).stdout)?.[0] ?? '';
    assert.ok(apiToken);
  });
  after(async () => {
    await bridge?.dispose();
    await dovecot?.stop();
    await receiver.close();
    await tokens.close();
  });

  it('a request to /connect ends with an account whose mailbox is in IDLE and whose mail arrives as webhooks', async () => {
    const toProvider = await hop(await linkFor('customer-1'));
    assert.ok(toProvider.startsWith(`${authorizeBase}?`), toProvider);
    const asked = new URL(toProvider).searchParams;
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.match(asked.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.equal(asked.get('redirect_uri'), `${bridge.url}/connect/callback`);
    assert.equal(asked.get('access_type'), 'offline', "Gmail's offline access, for a refresh token");
    assert.match(asked.get('scope') ?? '', /https:\/\/mail\.google\.com\//);

    const toCallback = await hop(toProvider);
    assert.ok(toCallback.startsWith(`${bridge.url}/connect/callback?`), toCallback);
    const backToApp = new URL(await hop(toCallback));
    assert.equal(`${backToApp.origin}${backToApp.pathname}`, `${APP}connected`);
    assert.equal(backToApp.searchParams.get('from'), 'test', "the application's own parameters are kept");
    assert.equal(backToApp.searchParams.get('account'), 'customer-1');
    assert.equal(backToApp.searchParams.get('status'), 'connected', backToApp.toString());

    await waitForIdle(bridge, ['customer-1']);
    const appender = await connectAppender(dovecot, 'support', 'appender-password');
    await appender.append('INBOX', simpleMessage('Connected through OAuth2'));
    await appender.logout();
    await receiver.waitUntil(
      () =>
        receiver.ofType('message.received').some((w) => w.body.data.subject === 'Connected through OAuth2'),
      20_000,
      'the connected mailbox, delivered',
    );
    const account = (await (await api('/v1/accounts/customer-1')).json()) as Record<string, unknown>;
    assert.equal(account.auth, 'oauth2');
    assert.equal(account.user, 'support', "the address from the provider's ID token");
    assert.equal(account.origin, 'api');

    // The state is single-use: the same callback again is refused, and changes nothing.
    const again = await browser.fetch(toCallback);
    assert.equal(again.status, 400);
  });

  it('binds a flow to the browser that started it, and lets a link start one flow', async () => {
    const link = await linkFor('customer-5');
    const toCallback = await hop(await hop(link));
    const started = browser;
    // The consent page sent to someone else's browser: its return is refused and leaves the flow alone.
    browser = new CookieJar();
    const elsewhere = await browser.fetch(toCallback);
    assert.equal(elsewhere.status, 400);
    assert.match(await elsewhere.text(), /started in another browser/);
    const reused = await browser.fetch(link);
    assert.equal(reused.status, 401, 'the link was used');
    assert.match(await reused.text(), /already used/);
    browser = started;
    const backToApp = new URL(await hop(toCallback));
    assert.equal(backToApp.searchParams.get('status'), 'connected', backToApp.toString());
  });

  it('refuses links it did not sign, redirects it was not told about, unknown providers, and calls without a token', async () => {
    const link = new URL(await linkFor('customer-2'));
    link.searchParams.set('account', 'support-takeover');
    assert.equal((await fetch(link, { redirect: 'manual' })).status, 401, 'a changed link');

    const elsewhere = await api('/v1/connect-links', {
      provider: 'gmail',
      account: 'customer-2',
      redirect: 'https://evil.example/steal',
    });
    assert.equal(elsewhere.status, 422);
    assert.deepEqual(
      ((await elsewhere.json()) as { errors: { path: string }[] }).errors.map((e) => e.path),
      ['redirect'],
    );
    const outlook = await api('/v1/connect-links', { provider: 'outlook', account: 'c', redirect: APP });
    assert.equal(outlook.status, 422);
    assert.match(await outlook.text(), /no OAuth client is configured for \\"outlook\\"/);
    const anonymous = await api(
      '/v1/connect-links',
      { provider: 'gmail', account: 'c', redirect: APP },
      'nope',
    );
    assert.equal(anonymous.status, 401);

    // A state whose signature does not match its flow id is refused, and does not use up the real flow.
    const toCallback = new URL(await hop(await hop(await linkFor('customer-4'))));
    const [id, signature = ''] = (toCallback.searchParams.get('state') ?? '').split('.');
    const flipped = `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`;
    for (const state of [`${id}.${flipped}`, `${id}.`, `other.${signature}`]) {
      const tampered = new URL(toCallback);
      tampered.searchParams.set('state', state);
      assert.equal((await fetch(tampered, { redirect: 'manual' })).status, 400, state);
    }
    const genuine = new URL(await hop(toCallback.toString()));
    assert.equal(genuine.searchParams.get('status'), 'connected', genuine.toString());
  });

  it('sends the user back with the error when they decline, and creates nothing', async () => {
    tokens.consentingUser = undefined;
    try {
      const backToApp = new URL(await hop(await hop(await hop(await linkFor('customer-3')))));
      assert.equal(backToApp.searchParams.get('status'), 'error');
      assert.equal(backToApp.searchParams.get('error'), 'access_denied');
      assert.equal(backToApp.searchParams.get('account'), 'customer-3');
    } finally {
      tokens.consentingUser = 'support';
    }
    assert.equal((await api('/v1/accounts/customer-3')).status, 404);
  });
});
