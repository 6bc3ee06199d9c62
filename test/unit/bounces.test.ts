import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readTextBounce } from '../../src/domain/bounces.js';
import { EVENT_SCHEMAS } from '../../src/domain/event-schemas.js';
import { parseMessage } from '../../src/pipeline/parse-message.js';
import { memoryBlobs, SAMPLE_ARRIVAL } from '../support/memory-blobs.js';

// The corpus and its two independent readings: test/fixtures/bounces/README.md.
const CORPUS = join(import.meta.dirname, '..', 'fixtures', 'bounces');
type Expected = {
  recipient: string;
  action: string | null;
  status: string | null;
  diagnosticCode?: string | null;
};
const byPython = new Map<string, Expected[]>(
  Object.entries(JSON.parse(readFileSync(join(CORPUS, 'python-reading.json'), 'utf8'))),
);
const byHand = new Map<string, { source: string; recipients: Expected[] } | null>(
  Object.entries(JSON.parse(readFileSync(join(CORPUS, 'by-hand.json'), 'utf8'))),
);

const parse = (raw: Buffer | string) => parseMessage(SAMPLE_ARRIVAL, Buffer.from(raw), memoryBlobs());
const fields = (recipients: readonly Expected[], withDiagnostic: boolean) =>
  recipients.map(({ recipient, action, status, diagnosticCode }) => ({
    recipient,
    action,
    status,
    ...(withDiagnostic ? { diagnosticCode } : {}),
  }));

describe('data.bounce on a corpus of real bounces (sisimai/set-of-emails)', () => {
  const files = readdirSync(CORPUS).filter((name) => name.endsWith('.eml'));

  it('has an independent reading of every message in the corpus', () => {
    assert.equal(files.length, 52);
    for (const file of files) assert.ok(byHand.has(file) || byPython.has(file), `${file} has no reading`);
  });

  for (const file of files)
    it(`reads ${file} as its independent reading does`, async () => {
      const data = await parse(readFileSync(join(CORPUS, file)));
      assert.ok(
        EVENT_SCHEMAS['message.received'].shape.data.safeParse(data).success,
        'the event schema holds',
      );
      const hand = byHand.get(file);
      if (hand === null) return assert.equal(data.bounce, null, 'not a bounce');
      if (hand) {
        assert.equal(data.bounce?.source, hand.source);
        return assert.deepEqual(fields(data.bounce?.recipients ?? [], false), fields(hand.recipients, false));
      }
      assert.equal(data.bounce?.source, 'delivery-status');
      assert.deepEqual(fields(data.bounce?.recipients ?? [], true), fields(byPython.get(file) ?? [], true));
    });

  it('names the bounced message: from the returned copy of a report, and from the copy below a text bounce', async () => {
    const report = await parse(readFileSync(join(CORPUS, 'rfc3464-01.eml')));
    assert.equal(report.bounce?.originalMessageId, '<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>');
    assert.equal(report.bounce?.reportingMta, 'smtpgw.example.jp');
    const qmail = await parse(readFileSync(join(CORPUS, 'lhost-qmail-01.eml')));
    assert.equal(qmail.bounce?.originalMessageId, '<000000000.9999999999999.JavaMail.postmaster@mailhub>');
  });

  it('keeps the report out of `text` and lists it as a part of its own', async () => {
    const data = await parse(readFileSync(join(CORPUS, 'lhost-postfix-02.eml')));
    assert.doesNotMatch(data.text ?? '', /Final-Recipient/i);
    assert.match(data.text ?? '', /could not\s+be delivered/);
    assert.ok(data.attachments.some((a) => a.contentType === 'message/delivery-status'));
  });

  it('is null for ordinary mail, even mail with an address on a line of its own', async () => {
    const data = await parse(
      'From: alice@example.com\r\nTo: bob@example.com\r\nSubject: Lunch\r\n\r\nSee you at noon.\r\n\r\n<carol@example.com>:\r\nbring her too\r\n',
    );
    assert.equal(data.bounce, null);
  });

  it('reads a text bounce with a very long line in one pass (address patterns skip long lines)', () => {
    const text = `The following address(es) failed:\n\n  ${'a'.repeat(300_000)}@example.com\n    550 5.1.1 unknown\n\n<${'b'.repeat(300_000)}@example.com>: 550\n`;
    assert.deepEqual(readTextBounce(text).recipients, []);
    // A long line right after an address, shaped to make the address pattern backtrack at every dot.
    const afterAddress = `<kijitora@example.jp>:\n<a@${'.a'.repeat(150_000)}\n`;
    assert.deepEqual(
      readTextBounce(afterAddress).recipients.map((r) => r.recipient),
      ['kijitora@example.jp'],
    );
  });
});
