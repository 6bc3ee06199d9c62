import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { problemResponse } from '../api/problem.js';
import type { AccountConfig, ConnectConfig, ConnectProviderConfig } from '../config/config.js';
import { parseAccountDocument } from '../config/load-config.js';
import { errorMessage } from '../domain/errors.js';
import type { ConnectFlowStore, ManagementBackend, PendingConnectFlow } from '../ports/management.js';
import type { TokenEndpoint } from '../ports/watcher.js';
import { type ConnectSigner, pkcePair, verifiedLink } from './connect-links.js';

/** How long the user has between leaving for the provider and coming back. */
export const FLOW_TTL_MS = 10 * 60 * 1000;

/**
 * The cookie that ties a flow to the browser that started it, named after the flow (two tabs, two flows): a
 * `state` completed in another browser (one an attacker sent the provider's consent page to) is refused.
 */
const flowCookie = (id: string) => `idlehook_connect_${id}`;

/** The address to log in as: OpenID Connect's claims in the ID token the token endpoint itself returned. */
function addressOf(idToken: unknown): string | undefined {
  if (typeof idToken !== 'string') return undefined;
  try {
    const claims = JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      email?: unknown;
      preferred_username?: unknown;
    };
    const address = claims.email ?? claims.preferred_username;
    return typeof address === 'string' && address !== '' ? address : undefined;
  } catch {
    return undefined;
  }
}

/** The account document the flow stores: the provider's IMAP server (or the configured one) and the grant. */
function accountDocument(
  flow: PendingConnectFlow,
  client: ConnectProviderConfig,
  user: string,
  refreshToken: string,
) {
  const server = client.imap
    ? {
        host: client.imap.host,
        port: client.imap.port,
        security: client.imap.security,
        ...(client.imap.ca ? { tls: { ca: client.imap.ca } } : {}),
      }
    : { provider: flow.provider };
  return {
    id: flow.account,
    ...server,
    user,
    oauth2: {
      clientId: client.clientId,
      tokenUrl: client.tokenUrl,
      ...(client.clientSecret ? { clientSecret: client.clientSecret } : {}),
      refreshToken,
    },
  };
}

/**
 * The hosted OAuth2 connect flow:
 * - `GET /connect/{provider}?account&redirect&expires&sig`, a link made through the API, sends the browser to the
 *   provider's consent page with PKCE (S256) and a signed `state`;
 * - `GET /connect/callback` exchanges the code, runs the doctor's checks on the account it makes (or updates),
 *   and sends the browser back to `redirect` with `account`, `status` (`connected` or `error`) and `error`.
 * Pending flows are kept for 10 minutes in `flows`; the code verifier never goes to the browser.
 */
export function createConnectRoutes(deps: {
  readonly config: ConnectConfig;
  readonly signer: ConnectSigner;
  readonly flows: ConnectFlowStore;
  /** Where browsers reach these routes, given the URL a request came in at. */
  readonly baseUrl: (requestUrl: string) => string;
  readonly backend: Pick<
    ManagementBackend,
    'directory' | 'checkAccount' | 'accountsChanged' | 'clock' | 'logger'
  >;
  /** Where the code exchange goes through (with the destination guard where one applies). */
  readonly tokenEndpoint: TokenEndpoint;
}): Hono {
  const { config, signer, backend, flows } = deps;
  const callbackUrl = (requestUrl: string) => `${deps.baseUrl(requestUrl)}/connect/callback`;
  /** The flow cookie's path and transport: these routes only, and https only where browsers reach them so. */
  const cookieScope = (requestUrl: string) => {
    const base = new URL(deps.baseUrl(requestUrl));
    return { path: `${base.pathname.replace(/\/$/, '')}/connect/`, secure: base.protocol === 'https:' };
  };
  const app = new Hono();

  app.get('/connect/callback', async (c) => {
    const [id = '', signature = ''] = (c.req.query('state') ?? '').split('.');
    if (!signer.verify(['state', id], signature))
      return problemResponse(c, 400, {
        detail: 'this sign-in has expired or was already used: start again from the application',
      });
    // Checked before the flow is taken, so that a callback from another browser does not use it up.
    if (getCookie(c, flowCookie(id)) !== id)
      return problemResponse(c, 400, {
        detail:
          'this sign-in was started in another browser (or its cookie was blocked): start again from the application, in this browser',
      });
    deleteCookie(c, flowCookie(id), cookieScope(c.req.url));
    const flow = await flows.take(id, backend.clock.now());
    if (!flow)
      return problemResponse(c, 400, {
        detail: 'this sign-in has expired or was already used: start again from the application',
      });
    const back = (status: 'connected' | 'error', error?: string, detail?: string) => {
      const url = new URL(flow.redirect);
      url.searchParams.set('account', flow.account);
      url.searchParams.set('status', status);
      if (error) url.searchParams.set('error', error);
      if (detail) url.searchParams.set('error_description', detail);
      return c.redirect(url.toString(), 302);
    };
    const refused = c.req.query('error');
    if (refused) return back('error', refused);
    const client = config.providers.get(flow.provider);
    const code = c.req.query('code');
    if (!client || !code) return back('error', 'invalid_request');

    let grant: { refresh_token?: unknown; id_token?: unknown };
    try {
      const form = new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: callbackUrl(c.req.url),
        client_id: client.clientId,
        code_verifier: flow.verifier,
        ...(client.clientSecret ? { client_secret: client.clientSecret } : {}),
      });
      const response = await deps.tokenEndpoint.post(client.tokenUrl, form, 15_000);
      if (response.status < 200 || response.status >= 300) {
        backend.logger.warn('connect: the token endpoint refused the code', {
          provider: flow.provider,
          account: flow.account,
          status: response.status,
        });
        return back('error', 'token_exchange_failed', `the token endpoint answered ${response.status}`);
      }
      grant = (
        typeof response.body === 'object' && response.body !== null ? response.body : {}
      ) as typeof grant;
    } catch (error) {
      return back('error', 'token_exchange_failed', errorMessage(error));
    }
    if (typeof grant.refresh_token !== 'string')
      return back('error', 'no_refresh_token', 'the provider granted no offline access');
    const user = addressOf(grant.id_token);
    if (!user) return back('error', 'no_address', 'the provider did not say which address signed in');

    const document = accountDocument(flow, client, user, grant.refresh_token);
    let account: AccountConfig;
    try {
      account = parseAccountDocument(document, 'the connect flow');
    } catch (error) {
      return back('error', 'invalid_account', errorMessage(error));
    }
    const existing = await backend.directory.account(account.id);
    if (existing?.origin === 'config')
      return back('error', 'read_only', 'the account is defined in the config file');
    const report = await backend.checkAccount(account);
    if (!report.ok) return back('error', 'check_failed', report.steps.find((s) => !s.ok)?.summary);
    const stored = existing
      ? await backend.directory.replaceAccount(document, account)
      : await backend.directory.addAccount(document, account);
    if (!stored) return back('error', 'conflict', 'the account changed meanwhile: try again');
    await backend.accountsChanged();
    backend.logger.info('connect: account connected', { provider: flow.provider, account: account.id });
    return back('connected');
  });

  app.get('/connect/:provider', async (c) => {
    const provider = c.req.param('provider');
    const client = config.providers.get(provider);
    const now = backend.clock.now();
    const link = client && verifiedLink(signer, provider, new URL(c.req.url).searchParams, now);
    if (!client || !link)
      return problemResponse(c, 401, {
        detail:
          'this connect link is not valid (expired, changed, or made before a restart): ask for a new one',
      });
    if (!(await flows.claimLink(link.signature, link.expiresAt)))
      return problemResponse(c, 401, {
        detail: 'this connect link was already used (a link starts one sign-in): ask for a new one',
      });
    const id = randomBytes(16).toString('base64url');
    const { verifier, challenge } = pkcePair();
    await flows.put(id, { ...link.request, verifier }, now + FLOW_TTL_MS);
    // SameSite=Lax: the provider sends the browser back with a top-level GET, which carries Lax cookies.
    setCookie(c, flowCookie(id), id, {
      ...cookieScope(c.req.url),
      httpOnly: true,
      sameSite: 'Lax',
      maxAge: FLOW_TTL_MS / 1000,
    });
    const authorize = new URL(client.authorizeUrl);
    const parameters = new Map([
      ['response_type', 'code'],
      ['client_id', client.clientId],
      ['redirect_uri', callbackUrl(c.req.url)],
      ['scope', client.scope],
      ['state', `${id}.${signer.sign(['state', id])}`],
      ['code_challenge', challenge],
      ['code_challenge_method', 'S256'],
      ...client.extraParameters,
    ]);
    for (const [name, value] of parameters) authorize.searchParams.set(name, value);
    return c.redirect(authorize.toString(), 302);
  });
  return app;
}
