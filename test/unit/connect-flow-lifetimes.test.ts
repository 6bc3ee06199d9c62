// The connect flow's clocks and bindings, in process with a clock the test moves: a link's expiry, a flow's
// lifetime, one flow per link and the browser binding. The full journey (provider, Dovecot, webhooks) is in
// test/integration/connect.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpTokenEndpoint } from '../../src/adapters/http/token-endpoint.js';
import { MemoryConnectFlows } from '../../src/adapters/memory/memory-connect-flows.js';
import type { ConnectConfig } from '../../src/config/config.js';
import { ConnectSigner, connectLink } from '../../src/connect/connect-links.js';
import { createConnectRoutes, FLOW_TTL_MS } from '../../src/connect/connect-routes.js';
import type { ManagementBackend } from '../../src/ports/management.js';
import { CookieJar } from '../support/cookie-jar.js';

const BASE = 'https://connect.example.com';
const APP = 'https://app.example.com/back';

function setUp() {
  let now = Date.parse('2026-12-06T12:00:00Z');
  const clock = { now: () => now };
  const config: ConnectConfig = {
    allowedRedirects: [APP],
    linkValidSeconds: 900,
    providers: new Map([
      [
        'gmail',
        {
          clientId: 'client',
          clientSecret: undefined,
          authorizeUrl: 'https://accounts.example.com/authorize',
          // Nothing listens here: these tests stop before (or at) the token exchange.
          tokenUrl: 'https://127.0.0.1:9/token',
          scope: 'mail',
          extraParameters: new Map(),
          imap: undefined,
        },
      ],
    ]),
  };
  const signer = new ConnectSigner();
  const backend = {
    clock,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  } as unknown as Pick<
    ManagementBackend,
    'directory' | 'checkAccount' | 'accountsChanged' | 'clock' | 'logger'
  >;
  const app = createConnectRoutes({
    config,
    signer,
    flows: new MemoryConnectFlows(clock),
    baseUrl: () => BASE,
    backend,
    tokenEndpoint: new HttpTokenEndpoint(),
  });
  /** A browser: its cookies, and the answer to one request (redirects not followed). */
  const browser = () => {
    const jar = new CookieJar();
    return async (url: string) => {
      const cookies = jar.cookiesFor(url);
      const response = await app.request(url, {
        headers: cookies.length ? { cookie: cookies.join('; ') } : {},
      });
      jar.store(url, response.headers.getSetCookie());
      return response;
    };
  };
  const link = () =>
    connectLink(config, signer, BASE, { provider: 'gmail', account: 'c1', redirect: APP }, now).url;
  /** The callback URL the provider would send the browser to after consent, for the flow a visit started. */
  const callbackFor = (toProvider: Response) => {
    const state = new URL(toProvider.headers.get('location') ?? '').searchParams.get('state');
    return `${BASE}/connect/callback?state=${state}&code=granted`;
  };
  return { link, browser, callbackFor, advance: (ms: number) => (now += ms) };
}

describe('connect links and flows: expiry, lifetime, one flow per link, one browser per flow', () => {
  it('refuses a link after it expires, and takes it until then', async () => {
    const { link, browser, advance } = setUp();
    const late = link();
    const onTime = link();
    advance(900_000 - 1);
    assert.equal((await browser()(onTime)).status, 302);
    advance(1);
    const refused = await browser()(late);
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /not valid \(expired/);
  });

  it('starts one flow per link: the same link again is refused, also from another browser', async () => {
    const { link, browser } = setUp();
    const url = link();
    const user = browser();
    assert.equal((await user(url)).status, 302);
    for (const visit of [user, browser()]) {
      const again = await visit(url);
      assert.equal(again.status, 401);
      assert.match(await again.text(), /already used/);
    }
  });

  it('ends a flow 10 minutes after it started: a later return is refused', async () => {
    const { link, browser, callbackFor, advance } = setUp();
    const user = browser();
    const callback = callbackFor(await user(link()));
    advance(FLOW_TTL_MS);
    const late = await user(callback);
    assert.equal(late.status, 400);
    assert.match(await late.text(), /expired or was already used/);
  });

  it('refuses a return in a browser other than the one that started the flow, without using the flow up', async () => {
    const { link, browser, callbackFor } = setUp();
    const user = browser();
    const toProvider = await user(link());
    assert.match(
      toProvider.headers.get('set-cookie') ?? '',
      /HttpOnly.*Secure.*SameSite=Lax|SameSite=Lax.*Secure/i,
    );
    const callback = callbackFor(toProvider);
    const elsewhere = await browser()(callback);
    assert.equal(elsewhere.status, 400);
    assert.match(await elsewhere.text(), /started in another browser/);
    // The starting browser still completes it: the exchange is tried (and fails here, nothing listens), so the
    // user is sent back with the error rather than refused.
    const home = await user(callback);
    assert.equal(home.status, 302, await home.clone().text());
    const back = new URL(home.headers.get('location') ?? '');
    assert.equal(back.searchParams.get('error'), 'token_exchange_failed');
    assert.match(home.headers.get('set-cookie') ?? '', /Max-Age=0/, 'the flow cookie is cleared');
  });
});
