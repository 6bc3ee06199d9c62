import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BODY_CHARACTERS, parseMessage } from '../../src/pipeline/parse-message.js';
import type { MessageArrival } from '../../src/pipeline/records.js';
import type { BlobStore } from '../../src/ports/index.js';

/** An in-memory BlobStore: the port's contract is tested against the real stores elsewhere. */
function memoryBlobs(): BlobStore & { keys(): string[] } {
  const blobs = new Map<string, Buffer>();
  return {
    put: async (key, content) => void blobs.set(key, content),
    get: async (key) => blobs.get(key),
    url: async (key) => `https://blobs.example/${key}`,
    keys: () => [...blobs.keys()],
  };
}

const arrival: MessageArrival = {
  kind: 'message',
  eventId: 'evt_0123456789abcdef0123456789abcdef',
  account: 'a',
  mailbox: 'INBOX',
  uidValidity: '1',
  uid: 1,
  modseq: null,
  flags: [],
  internalDate: null,
  size: 0,
  rawKey: 'raw/evt.eml',
  detectedAt: '2026-11-27T00:00:00Z',
};

describe('parseMessage', () => {
  it('cuts text and HTML over the inline limit, flags it, and keeps the raw size', async () => {
    const long = 'x'.repeat(MAX_BODY_CHARACTERS + 10);
    const raw = Buffer.from(
      `Subject: big\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n${long}\r\n` +
        `--b\r\nContent-Type: text/html\r\n\r\n<p>short</p>\r\n--b--\r\n`,
    );
    const data = await parseMessage(arrival, raw, memoryBlobs());
    assert.equal(data.text?.length, MAX_BODY_CHARACTERS);
    assert.deepEqual(data.truncated, { text: true, html: false });
    assert.equal(data.html?.trim(), '<p>short</p>');
    assert.equal(data.raw.size, raw.length);
  });

  it('stores attachments under keys made from the event id, never from the file name', async () => {
    const blobs = memoryBlobs();
    const raw = Buffer.from(
      'Subject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n' +
        '--b\r\nContent-Type: application/octet-stream; name="../../etc/passwd"\r\nContent-Disposition: attachment; filename="../../etc/passwd"\r\n\r\nx\r\n--b--\r\n',
    );
    const data = await parseMessage(arrival, raw, blobs);
    assert.equal(data.attachments[0]?.filename, '../../etc/passwd', 'passed through as data');
    assert.deepEqual(blobs.keys(), [`attachments/${arrival.eventId}/0`]);
  });

  it('parses the newest reply out of replies only; a new message is its own newest reply', async () => {
    const body = 'Fixed, thanks.\r\n\r\nOn Mon, Bob wrote:\r\n> old question\r\n';
    const reply = await parseMessage(
      arrival,
      Buffer.from(`Subject: Re: question\r\n\r\n${body}`),
      memoryBlobs(),
    );
    assert.equal(reply.replyText, 'Fixed, thanks.');
    const threaded = await parseMessage(
      arrival,
      Buffer.from(`Subject: question\r\nIn-Reply-To: <q@example.com>\r\n\r\n${body}`),
      memoryBlobs(),
    );
    assert.equal(threaded.replyText, 'Fixed, thanks.', 'In-Reply-To marks a reply whatever the subject');
    const fresh = await parseMessage(arrival, Buffer.from(`Subject: question\r\n\r\n${body}`), memoryBlobs());
    assert.equal(fresh.replyText, fresh.text?.trim(), 'not a reply: nothing is cut');
  });
});
