import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Links to raw messages and attachments that stay valid for their whole documented lifetime. A presigned S3 URL
 * dies with the temporary credentials that signed it (hours, for a Lambda role), so events carry a link to
 * idlehook's own endpoint instead: HMAC-SHA256 over the key and expiry, checked there, answered with a fresh
 * short-lived presigned URL.
 */
export const BLOB_LINK_LIFETIME_SECONDS = 7 * 86_400;

function signature(key: string, expires: number, secret: Buffer): string {
  return createHmac('sha256', secret).update(`${expires}\n${key}`).digest('base64url');
}

/** The link for `key`, valid until `nowMs` + the lifetime. `baseUrl` is the link endpoint. */
export function signBlobLink(baseUrl: string, key: string, nowMs: number, secret: Buffer): string {
  const expires = Math.floor(nowMs / 1000) + BLOB_LINK_LIFETIME_SECONDS;
  const path = key.split('/').map(encodeURIComponent).join('/');
  return `${baseUrl.replace(/\/$/, '')}/${path}?expires=${expires}&signature=${signature(key, expires, secret)}`;
}

export type BlobLinkCheck =
  | { readonly kind: 'valid'; readonly key: string }
  | { readonly kind: 'expired' }
  | { readonly kind: 'forged' };

/** Checks a link's path (the key, URL-encoded) and query against the secret and the clock. */
export function checkBlobLink(
  path: string,
  query: { readonly expires?: string; readonly signature?: string },
  nowMs: number,
  secret: Buffer,
): BlobLinkCheck {
  let key: string;
  try {
    key = path.replace(/^\//, '').split('/').map(decodeURIComponent).join('/');
  } catch {
    return { kind: 'forged' };
  }
  const expires = Number(query.expires);
  if (!Number.isSafeInteger(expires) || !query.signature) return { kind: 'forged' };
  const expected = Buffer.from(signature(key, expires, secret));
  const given = Buffer.from(query.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { kind: 'forged' };
  return expires * 1000 < nowMs ? { kind: 'expired' } : { kind: 'valid', key };
}
