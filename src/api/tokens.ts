import type { MiddlewareHandler } from 'hono';
import { DASHBOARD_SESSION_MS, scopeAllows, type TokenScope } from '../domain/api-tokens.js';
import type { ApiTokenStore } from '../ports/management.js';
import type { Clock } from '../ports/services.js';
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

/** A dashboard login link's code exchanged, once, for a token of its scope that lasts DASHBOARD_SESSION_MS. */
export async function redeemLoginCode(
  tokens: ApiTokenStore,
  clock: Clock,
  code: string,
): Promise<string | undefined> {
  const scope = await tokens.redeemLoginCode(code);
  if (scope === undefined) return undefined;
  return (await tokens.create('dashboard login', scope, clock.now() + DASHBOARD_SESSION_MS)).token;
}
