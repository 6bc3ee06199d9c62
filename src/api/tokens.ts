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

/** The token of an `Authorization: Bearer ...` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
}
