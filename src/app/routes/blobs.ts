import type { Hono } from 'hono';
import { getOnly } from './get-only.js';

const PREFIX = '/blobs/';

/** A signed blob link: the raw message or an attachment; an unsigned or expired link is a 404 like a missing one. */
export function serveBlobs(
  app: Hono,
  blobs: { read(key: string, signature: string): Promise<Buffer | undefined> },
): void {
  getOnly(app, `${PREFIX}*`, async (c) => {
    const url = new URL(c.req.url);
    // Keys are matched as the store wrote them: every escape decoded, `%2F` included.
    const key = decodeURIComponent(url.pathname).slice(PREFIX.length);
    const content = await blobs.read(key, url.searchParams.get('signature') ?? '');
    if (!content) return c.body(null, 404);
    const type = key.startsWith('raw/') ? 'message/rfc822' : 'application/octet-stream';
    // A view of the stored bytes, not a copy (raw messages run to megabytes).
    const bytes = new Uint8Array(content.buffer as ArrayBuffer, content.byteOffset, content.byteLength);
    return c.body(bytes, 200, {
      'content-type': type,
      'content-length': String(content.length),
    });
  });
}
