import type { MiddlewareHandler } from 'hono';
import { scopeAllows, type TokenScope } from '../domain/api-tokens.js';
import { problemResponse } from './problem.js';

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
