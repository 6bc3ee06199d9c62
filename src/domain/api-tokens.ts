import { createHash, randomBytes } from 'node:crypto';

/**
 * API tokens: 32 random bytes behind a recognisable prefix (secret scanners and humans can tell what leaked).
 * Only the SHA-256 of a token is stored; a request's token is hashed and looked up by that hash, so no
 * comparison ever runs over the secret bytes and a wrong token answers in the same time as a missing one.
 */
const TOKEN_PREFIX = 'ihk_';
/** A dashboard login link's one-time code: told apart from a token at a glance, and never accepted as one. */
const LOGIN_CODE_PREFIX = 'ihl_';

/** A login link's code is good once, for this long (it travels through a terminal and a browser's address bar). */
export const LOGIN_CODE_LIFETIME_MS = 10 * 60_000;
/** The token a login link is exchanged for lasts a working day; then another link. */
export const DASHBOARD_SESSION_MS = 12 * 3_600_000;

export function newApiToken(): { readonly id: string; readonly token: string } {
  return {
    id: `tok_${randomBytes(6).toString('hex')}`,
    token: `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`,
  };
}

export function newLoginCode(): string {
  return `${LOGIN_CODE_PREFIX}${randomBytes(32).toString('base64url')}`;
}

export function apiTokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * What a token may do: `read` calls the routes that change nothing (GET), `full` calls every route. Tokens made
 * before scopes existed are `full`, as they were.
 */
export const TOKEN_SCOPES = ['read', 'full'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export function isTokenScope(value: unknown): value is TokenScope {
  return TOKEN_SCOPES.includes(value as TokenScope);
}

/** Whether a token of scope `held` may call a route that needs `needed`. */
export function scopeAllows(held: TokenScope, needed: TokenScope): boolean {
  return held === 'full' || needed === 'read';
}
