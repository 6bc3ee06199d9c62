import { createHmac, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/**
 * Standard Webhooks secrets are `whsec_` + base64 of 24-64 random bytes. The HMAC key is the decoded bytes,
 * so a wrongly encoded secret would silently produce signatures no receiver accepts: reject it up front.
 */
export function decodeWebhookSecret(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX))
    throw new Error('must start with "whsec_" (Standard Webhooks format)');
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new Error('the part after "whsec_" must be base64');
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new Error(`must decode to 24-64 bytes, got ${key.length}`);
  }
  return key;
}

/** A new signing secret: 24 random bytes, as the Standard Webhooks libraries make them. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(24).toString('base64')}`;
}

/** The `webhook-signature` header: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per key, space-separated. */
export function signWebhook(
  keys: readonly Buffer[],
  webhookId: string,
  timestampSeconds: number,
  body: string,
): string {
  const signedContent = `${webhookId}.${timestampSeconds}.${body}`;
  return keys
    .map((key) => `v1,${createHmac('sha256', key).update(signedContent).digest('base64')}`)
    .join(' ');
}
