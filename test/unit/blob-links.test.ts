import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BLOB_LINK_LIFETIME_SECONDS, checkBlobLink, signBlobLink } from '../../src/domain/blob-links.js';

const secret = Buffer.alloc(32, 3);
const parts = (link: string) => {
  const url = new URL(link);
  return { path: url.pathname.replace(/^\/links/, ''), query: Object.fromEntries(url.searchParams) };
};

describe('blob links', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  const link = signBlobLink('https://links.example/links/', 'attachments/evt_1/0', now, secret);

  it('is valid for its whole lifetime, 7 days, and expired one second after', () => {
    const { path, query } = parts(link);
    assert.deepEqual(checkBlobLink(path, query, now, secret), { kind: 'valid', key: 'attachments/evt_1/0' });
    const lastSecond = now + BLOB_LINK_LIFETIME_SECONDS * 1000;
    assert.equal(checkBlobLink(path, query, lastSecond, secret).kind, 'valid');
    assert.equal(checkBlobLink(path, query, lastSecond + 1000, secret).kind, 'expired');
  });

  it('refuses a changed key, a moved expiry, another secret and a malformed path', () => {
    const { path, query } = parts(link);
    assert.equal(checkBlobLink(path.replace('/0', '/1'), query, now, secret).kind, 'forged');
    const later = String(Number(query.expires) + 86_400);
    assert.equal(checkBlobLink(path, { ...query, expires: later }, now, secret).kind, 'forged');
    assert.equal(checkBlobLink(path, query, now, Buffer.alloc(32, 4)).kind, 'forged');
    assert.equal(checkBlobLink('/%E0%A4%A', query, now, secret).kind, 'forged');
    assert.equal(checkBlobLink(path, { expires: query.expires }, now, secret).kind, 'forged');
  });

  it('round-trips keys with characters that need encoding', () => {
    const key = 'attachments/evt_2/0 #?&%';
    const { path, query } = parts(signBlobLink('https://links.example/links', key, now, secret));
    assert.deepEqual(checkBlobLink(path, query, now, secret), { kind: 'valid', key });
  });
});
