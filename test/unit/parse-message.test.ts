import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_BODY_CHARACTERS, parseMessage } from '../../src/pipeline/parse-message.js';
import { PROTOTYPE_NAMES } from '../support/hostile-names.js';
import { memoryBlobs, SAMPLE_ARRIVAL } from '../support/memory-blobs.js';

const arrival = SAMPLE_ARRIVAL;

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

describe('parseMessage with hostile names', () => {
  for (const name of PROTOTYPE_NAMES) {
    it(`keeps a header named ${name} as an ordinary header, twice`, async () => {
      const raw = Buffer.from(
        `From: a@example.com\r\n${name}: one\r\n${name}: two\r\nSubject: hostile\r\n\r\nbody\r\n`,
      );
      const data = await parseMessage(arrival, raw, memoryBlobs());
      assert.equal(data.parseError, null);
      assert.deepEqual(Object.getOwnPropertyDescriptor(data.headers, name.toLowerCase())?.value, [
        'one',
        'two',
      ]);
      assert.equal(data.subject, 'hostile');
      assert.equal(({} as Record<string, unknown>).one, undefined, 'Object.prototype untouched');
      assert.deepEqual(JSON.parse(JSON.stringify(data)).headers[name.toLowerCase()], ['one', 'two']);
    });
  }

  it('keeps a hostile header in a message the MIME parser gives up on', async () => {
    // A header-only fallback: the same header map is built from the raw block.
    const raw = Buffer.from('__proto__: x\r\nSubject: s\r\n\r\nbody');
    const data = await parseMessage(arrival, raw, memoryBlobs());
    assert.deepEqual(Object.getOwnPropertyDescriptor(data.headers, '__proto__')?.value, ['x']);
  });
});

describe('parseMessage with UTF-7 encoded words', () => {
  it('decodes Q and B encoded UTF-7 subjects, next to other charsets', async () => {
    const cases = [
      ['=?utf-7?Q?Fr+APY-sche?=', 'Frösche'],
      ['=?UTF-7?B?RnIrQVBZLXNjaGU=?=', 'Frösche'],
      ['=?unicode-1-1-utf-7?Q?Gr+APw-+AN8-e?= =?utf-8?Q?_und_K=C3=BCsse?=', 'Grüße und Küsse'],
      ['Re: =?utf-7?Q?A+- B?=', 'Re: A+ B'],
    ] as const;
    for (const [header, subject] of cases) {
      const raw = Buffer.from(`From: a@example.com\r\nSubject: ${header}\r\n\r\nbody\r\n`);
      assert.equal((await parseMessage(arrival, raw, memoryBlobs())).subject, subject, header);
    }
  });
});
