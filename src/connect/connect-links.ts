import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { identifier } from '../config/account-settings.js';
import type { ConnectConfig } from '../config/config.js';
import { ConfigError, type ConfigProblem } from '../config/load-config.js';
import type { LinkRequest } from '../ports/management.js';

/**
 * Signs what a connect link and a flow's `state` carry. The key lives as long as the process: a link made before
 * a restart is refused, and the application makes a new one.
 */
export class ConnectSigner {
  constructor(private readonly key: Buffer = randomBytes(32)) {}

  sign(parts: readonly string[]): string {
    return createHmac('sha256', this.key).update(parts.join('\n')).digest('base64url');
  }

  verify(parts: readonly string[], signature: string): boolean {
    const expected = Buffer.from(this.sign(parts));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
}

/** Whether `redirect` is allowed: an exact origin and path from the list, or under one ending in "/". */
export function redirectAllowed(redirect: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(redirect);
  } catch {
    return false;
  }
  if (url.username || url.password || !/^https?:$/.test(url.protocol)) return false;
  const target = `${url.origin}${url.pathname}`;
  return allowed.some((entry) => {
    const base = new URL(entry);
    const prefix = `${base.origin}${base.pathname}`;
    return prefix.endsWith('/') ? target.startsWith(prefix) : target === prefix;
  });
}

const linkParts = (link: LinkRequest, expires: string) => [
  'link',
  link.provider,
  link.account,
  link.redirect,
  expires,
];

/**
 * A link that starts the connect flow for one account, made through the API (with a token) and handed to the
 * user's browser. Signed, so that no other page can start a flow that would replace an account's credentials.
 */
export function connectLink(
  config: ConnectConfig,
  signer: ConnectSigner,
  baseUrl: string,
  request: LinkRequest,
  now: number,
): { readonly url: string; readonly expiresAt: number } {
  const problems: ConfigProblem[] = [];
  if (!config.providers.has(request.provider))
    problems.push({
      path: 'provider',
      message: `no OAuth client is configured for "${request.provider}" (connect.providers in the config)`,
    });
  if (!identifier.safeParse(request.account).success)
    problems.push({ path: 'account', message: 'use 1-64 letters, digits, ".", "_" or "-"' });
  if (!redirectAllowed(request.redirect, config.allowedRedirects))
    problems.push({ path: 'redirect', message: 'not in connect.allowedRedirects' });
  if (problems.length > 0) throw new ConfigError('the request body', problems);
  const expiresAt = now + config.linkValidSeconds * 1000;
  const expires = String(Math.floor(expiresAt / 1000));
  const query = new URLSearchParams({
    account: request.account,
    redirect: request.redirect,
    expires,
    sig: signer.sign(linkParts(request, expires)),
  });
  return { url: `${baseUrl}/connect/${encodeURIComponent(request.provider)}?${query}`, expiresAt };
}

/** The link's request, its signature and when it expires, when the signature holds and it has not expired. */
export function verifiedLink(
  signer: ConnectSigner,
  provider: string,
  query: URLSearchParams,
  now: number,
): { readonly request: LinkRequest; readonly signature: string; readonly expiresAt: number } | undefined {
  const request = { provider, account: query.get('account') ?? '', redirect: query.get('redirect') ?? '' };
  const expires = query.get('expires') ?? '';
  const signature = query.get('sig') ?? '';
  if (!signer.verify(linkParts(request, expires), signature)) return undefined;
  const expiresAt = Number(expires) * 1000;
  return expiresAt > now ? { request, signature, expiresAt } : undefined;
}

/** PKCE (RFC 7636): the verifier stays here; the S256 challenge goes to the provider. */
export function pkcePair(): { readonly verifier: string; readonly challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}
