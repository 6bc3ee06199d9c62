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
