import { createHash, randomBytes } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { scopeAllows, type TokenScope } from '../domain/token-scopes.js';
import { problemResponse } from './problem.js';

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

/** The token of an `Authorization: Bearer ...` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}

declare module 'hono' {
  interface ContextVariableMap {
    /** The scope of the request's token (the platform's own callers are `full`), set once it is verified. */
    tokenScope: TokenScope;
  }
}

/** Route middleware: the request's token must allow `needed`, else 403 saying which token would. */
export function requireScope(needed: TokenScope): MiddlewareHandler {
  return async (c, next) => {
    const held = c.get('tokenScope');
    if (held === undefined || !scopeAllows(held, needed))
      return problemResponse(c, 403, {
        detail: `this route needs a token of scope "${needed}" and this one is "${held}": make one with \`idlehook tokens create --scope ${needed}\``,
      });
    await next();
    return undefined;
  };
}
