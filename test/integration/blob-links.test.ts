import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3BlobStore } from '../../src/adapters/aws/s3-blob-store.js';
import { createBlobLinkHandler } from '../../src/compose/aws/blob-link-handler.js';
import { BLOB_LINK_LIFETIME_SECONDS, signBlobLink } from '../../src/domain/blob-links.js';
import { startSqsAndS3 } from '../support/aws-emulators.js';
import { startLinkEndpoint } from '../support/link-endpoint.js';

// Real S3 ends a presigned URL with the session of the credentials that signed it; fauxqs does not check
// signatures at all. What is tested here is idlehook's own part: the link lives 7 days by its clock, and each
// use gets a URL presigned then.
describe('links to raw mail and attachments, on fauxqs S3', () => {
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let endpoint: Awaited<ReturnType<typeof startLinkEndpoint>>;
  let blobs: S3BlobStore;
  const key = Buffer.alloc(32, 9);
  let now = Date.parse('2026-12-01T10:00:00Z');
  const clock = { now: () => now };

  before(async () => {
    aws = await startSqsAndS3();
    const bucket = await aws.createBucket('links');
    const presigner = new S3BlobStore(aws.s3, bucket);
    endpoint = await startLinkEndpoint(() =>
      createBlobLinkHandler({ key: async () => key, presign: (k) => presigner.presign(k), clock }),
    );
    blobs = new S3BlobStore(aws.s3, bucket, {
      link: async (k) => signBlobLink(endpoint.url, k, clock.now(), key),
    });
    await blobs.put('raw/evt_1.eml', Buffer.from('Subject: linked\r\n\r\nbody'));
    await blobs.put('dead-letters/evt_1/hook.json', Buffer.from('{"secret":"body"}'));
  });
  after(async () => {
    await endpoint?.close();
    await aws?.stop();
  });

  const get = (url: string) => fetch(url, { redirect: 'manual' });

  it('redirects to a fresh presigned URL for the whole 7 days, and answers 410 after', async () => {
    const link = await blobs.url('raw/evt_1.eml');
    const start = now;
    for (const offsetSeconds of [0, 3 * 3600, 27 * 3600, BLOB_LINK_LIFETIME_SECONDS - 1]) {
      now = start + offsetSeconds * 1000;
      const response = await get(link);
      assert.equal(response.status, 302, `after ${offsetSeconds} s`);
      const target = response.headers.get('location') ?? '';
      assert.match(target, /X-Amz-Expires=300/, 'presigned now, for minutes');
      assert.equal(await (await fetch(target)).text(), 'Subject: linked\r\n\r\nbody');
    }
    now = start + (BLOB_LINK_LIFETIME_SECONDS + 1) * 1000;
    const expired = await get(link);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /expired/);
    now = start;
  });

  it('refuses tampered links, and links to anything but raw mail and attachments', async () => {
    const link = new URL(await blobs.url('raw/evt_1.eml'));
    link.pathname = '/raw/evt_2.eml';
    assert.equal((await get(link.href)).status, 403);
    const deadLetter = signBlobLink(endpoint.url, 'dead-letters/evt_1/hook.json', now, key);
    assert.equal((await get(deadLetter)).status, 403, 'a validly signed link outside raw/ and attachments/');
    assert.equal((await get(`${endpoint.url}/raw/evt_1.eml`)).status, 403, 'no signature');
  });
});
