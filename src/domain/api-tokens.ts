import { createHash, randomBytes } from 'node:crypto';

/**
 * API tokens: 32 random bytes behind a recognisable prefix (secret scanners and humans can tell what leaked).
 * Only the SHA-256 of a token is stored; a request's token is hashed and looked up by that hash, so no
 * comparison ever runs over the secret bytes and a wrong token answers in the same time as a missing one.
 */
const TOKEN_PREFIX = 'ihk_';

export function newApiToken(): { readonly id: string; readonly token: string } {
  return {
    id: `tok_${randomBytes(6).toString('hex')}`,
    token: `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`,
  };
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
