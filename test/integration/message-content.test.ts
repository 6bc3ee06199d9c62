import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

const PDF_BYTES = Buffer.concat([
  Buffer.from('%PDF-1.4\n'),
  Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 256)),
]);
const PNG_BYTES = Buffer.from(
  'iVBORw0KGgoAAAANSUHEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

function wrap76(base64: string): string {
  return base64.replace(/.{1,76}/g, '$&\r\n');
}

const MESSAGES = {
  plain: simpleMessage('Plain hello', 'Just text.\r\nSecond line.'),
  alternative: [
    'From: "Bob B." <bob@example.org>',
    'To: support@example.com, "Carol" <carol@example.com>',
    'Cc: dave@example.com',
    'Reply-To: replies@example.org',
    'Subject: Alternative',
    'Message-ID: <alt-1@example.org>',
    'In-Reply-To: <parent@example.org>',
    'References: <root@example.org> <parent@example.org>',
    'Date: Thu, 26 Nov 2026 09:30:00 +0100',
    'MIME-Version: 1.0',
    'Content-Type: multipart/alternative; boundary="ALT"',
    '',
    '--ALT',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Plain part',
    '--ALT',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>HTML <b>part</b></p>',
    '--ALT--',
    '',
  ].join('\r\n'),
  attachment: [
    'From: files@example.com',
    'To: support@example.com',
    'Subject: With attachment',
    'Message-ID: <att-1@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="MIX"',
    '',
    '--MIX',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'See attached.',
    '--MIX',
    'Content-Type: application/pdf; name="report.pdf"',
    'Content-Disposition: attachment; filename="report.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    wrap76(PDF_BYTES.toString('base64')),
    '--MIX--',
    '',
  ].join('\r\n'),
  inlineImage: [
    'From: newsletter@example.com',
    'To: support@example.com',
    'Subject: Inline image',
    'Message-ID: <inline-1@example.com>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/related; boundary="REL"',
    '',
    '--REL',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<p>Logo: <img src="cid:logo@example.com"></p>',
    '--REL',
    'Content-Type: image/png',
    'Content-ID: <logo@example.com>',
    'Content-Disposition: inline; filename="logo.png"',
    'Content-Transfer-Encoding: base64',
    '',
    wrap76(PNG_BYTES.toString('base64')),
    '--REL--',
    '',
  ].join('\r\n'),
  latin1: Buffer.concat([
    Buffer.from(
      'From: =?ISO-8859-1?Q?Andr=E9?= <andre@example.fr>\r\nTo: support@example.com\r\nSubject: Latin-1 body\r\n' +
        'Message-ID: <latin1@example.fr>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n' +
        'Content-Transfer-Encoding: 8bit\r\n\r\n',
    ),
    Buffer.from('Caf\xe9 cr\xe8me br\xfbl\xe9e\r\n', 'latin1'),
  ]),
  reply: simpleMessage(
    'Re: Printer',
    'Thanks, it works now.\r\n\r\nOn Thu, Nov 26, 2026 at 9:00 AM Support <support@example.com> wrote:\r\n> Have you tried turning it off and on again?\r\n> --\r\n> Support',
  ),
  autoreply: simpleMessage('Out of office', 'I am away until Monday.', 'Auto-Submitted: auto-replied\r\n'),
  encodedSubject: simpleMessage('=?UTF-8?B?w5xiZXIgZGllIEJyw7xja2Ug8J+MiQ==?= =?ISO-8859-1?Q?_und_=C4rger?='),
  // 2,000 nested multiparts: mailparser gives up ("Max allowed child nodes exceeded"), the event must still come.
  malformed:
    'From: broken@example.com\r\nTo: support@example.com\r\nSubject: Broken MIME\r\nMessage-ID: <broken@example.com>\r\n' +
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n' +
    '--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n'.repeat(2000) +
    'x\r\n',
} as const;

describe('message.received in local mode, against Dovecot', () => {
  let scenario: Scenario;
  const received = () => scenario.receiver.ofType('message.received');
  const bySubject = (subject: string) => received().find((w) => w.body.data.subject === subject);

  before(async () => {
    scenario = await startScenario();
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
    for (const message of Object.values(MESSAGES)) await scenario.appender.append('INBOX', message);
    await scenario.receiver.waitUntil(
      () => received().length >= Object.keys(MESSAGES).length,
      30_000,
      'all messages',
    );
  });

  after(async () => {
    await scenario?.dispose();
  });

  it('delivers each message once, every signature verified by standardwebhooks', () => {
    const webhooks = received();
    assert.equal(webhooks.length, Object.keys(MESSAGES).length);
    assert.equal(new Set(webhooks.map((w) => w.id)).size, webhooks.length);
    assert.equal(scenario.receiver.invalidSignatures, 0);
    assert.deepEqual(scenario.receiver.schemaViolations, [], 'every body matches its published JSON Schema');
    for (const w of webhooks) {
      assert.match(w.id, /^evt_[0-9a-f]{32}$/);
      assert.ok(Math.abs(w.timestamp - Date.now() / 1000) < 300, 'webhook-timestamp is current Unix seconds');
    }
  });

  it('fills the envelope and coordinates of a plain message', () => {
    const { body } = bySubject('Plain hello') ?? assert.fail('plain message missing');
    const { data } = body;
    assert.equal(body.type, 'message.received');
    assert.ok(!Number.isNaN(Date.parse(body.timestamp)));
    assert.equal(data.account, 'support');
    assert.equal(data.mailbox, 'INBOX');
    assert.match(data.uidValidity, /^\d+$/);
    assert.equal(typeof data.uid, 'number');
    assert.match(data.modseq, /^\d+$/);
    assert.deepEqual(data.from, { name: 'Alice Example', address: 'alice@example.com' });
    assert.deepEqual(data.to, [{ name: '', address: 'support@example.com' }]);
    assert.equal(data.text, 'Just text.\nSecond line.\n');
    assert.equal(data.html, null);
    assert.equal(data.date, '2026-11-27T10:00:00.000Z');
    assert.ok(data.size > 0);
    assert.ok(!Number.isNaN(Date.parse(data.internalDate)));
    assert.deepEqual(data.headers.subject, ['Plain hello']);
    assert.equal(data.parseError, null);
    assert.ok(!data.flags.includes('\\Seen'), 'the bridge must not mark mail as seen');
  });

  it('parses addresses, threading headers and both alternative parts', () => {
    const { data } = (bySubject('Alternative') ?? assert.fail('alternative message missing')).body;
    assert.deepEqual(data.from, { name: 'Bob B.', address: 'bob@example.org' });
    assert.deepEqual(data.to, [
      { name: '', address: 'support@example.com' },
      { name: 'Carol', address: 'carol@example.com' },
    ]);
    assert.deepEqual(data.cc, [{ name: '', address: 'dave@example.com' }]);
    assert.deepEqual(data.bcc, []);
    assert.deepEqual(data.replyTo, [{ name: '', address: 'replies@example.org' }]);
    assert.equal(data.messageId, '<alt-1@example.org>');
    assert.equal(data.inReplyTo, '<parent@example.org>');
    assert.deepEqual(data.references, ['<root@example.org>', '<parent@example.org>']);
    assert.equal(data.date, '2026-11-26T08:30:00.000Z');
    assert.equal(data.text.trim(), 'Plain part');
    assert.equal(data.html.trim(), '<p>HTML <b>part</b></p>');
    assert.deepEqual(data.attachments, []);
  });

  it('stores attachments and serves their exact bytes', async () => {
    const { data } = (bySubject('With attachment') ?? assert.fail('attachment message missing')).body;
    assert.equal(data.attachments.length, 1);
    const [attachment] = data.attachments;
    assert.equal(attachment.filename, 'report.pdf');
    assert.equal(attachment.contentType, 'application/pdf');
    assert.equal(attachment.disposition, 'attachment');
    assert.equal(attachment.size, PDF_BYTES.length);
    assert.equal(attachment.checksum, createHash('sha256').update(PDF_BYTES).digest('hex'));
    const served = Buffer.from(await (await fetch(attachment.url)).arrayBuffer());
    assert.ok(served.equals(PDF_BYTES));
    const unsigned = new URL(attachment.url);
    unsigned.search = '';
    assert.equal((await fetch(unsigned)).status, 404, 'blob URLs only work with their signature');
  });

  it('keeps inline images linked by Content-ID', async () => {
    const { data } = (bySubject('Inline image') ?? assert.fail('inline message missing')).body;
    assert.match(data.html, /src="cid:logo@example.com"/);
    const [image] = data.attachments;
    assert.equal(image.contentId, '<logo@example.com>');
    assert.equal(image.disposition, 'inline');
    assert.equal(image.contentType, 'image/png');
    const served = Buffer.from(await (await fetch(image.url)).arrayBuffer());
    assert.ok(served.equals(PNG_BYTES));
  });

  it('gives the newest reply without quoted history, and flags machine-generated mail', () => {
    const reply = (bySubject('Re: Printer') ?? assert.fail('reply missing')).body.data;
    assert.equal(reply.replyText, 'Thanks, it works now.');
    assert.match(reply.text, /turning it off and on again/, 'the full text keeps the history');
    assert.equal(reply.autoSubmitted, false);
    assert.equal(reply.autoSubmittedReason, null);
    const away = (bySubject('Out of office') ?? assert.fail('autoreply missing')).body.data;
    assert.equal(away.autoSubmitted, true);
    assert.equal(away.autoSubmittedReason, 'Auto-Submitted: auto-replied');
  });

  it('decodes non-UTF-8 bodies and RFC 2047 words', () => {
    const latin = (bySubject('Latin-1 body') ?? assert.fail('latin-1 message missing')).body.data;
    assert.equal(latin.text.trim(), 'Café crème brûlée');
    assert.deepEqual(latin.from, { name: 'André', address: 'andre@example.fr' });
    assert.ok(bySubject('Über die Brücke 🌉 und Ärger'), 'RFC 2047 subject decoded across charsets');
  });

  it('serves the exact raw source of every message', async () => {
    for (const [name, source] of Object.entries(MESSAGES)) {
      const subjectLine = /Subject: (.*)\r\n/.exec(source.toString('latin1'))?.[1];
      const webhook = received().find((w) => w.body.data.headers.subject?.[0] === subjectLine);
      assert.ok(webhook, `webhook for ${name}`);
      const raw = Buffer.from(await (await fetch(webhook.body.data.raw.url)).arrayBuffer());
      assert.ok(raw.equals(Buffer.from(source)), `raw bytes of ${name}`);
      assert.equal(webhook.body.data.raw.size, raw.length);
    }
  });

  it('still delivers a message whose MIME cannot be parsed, with parseError', () => {
    const { data } = (bySubject('Broken MIME') ?? assert.fail('malformed message missing')).body;
    assert.match(data.parseError, /child nodes/);
    assert.equal(data.messageId, '<broken@example.com>');
    assert.deepEqual(data.headers.from, ['broken@example.com']);
    assert.ok(data.raw.url);
  });

  it('reports the mailbox on /status', async () => {
    const status = await scenario.bridge.status();
    const inbox = status.accounts.support?.mailboxes.INBOX ?? assert.fail('no INBOX status');
    assert.equal(inbox.state, 'idle');
    assert.equal(inbox.lastError, null);
    assert.match(inbox.uidValidity ?? '', /^\d+$/);
    assert.equal(inbox.lastUid, Object.keys(MESSAGES).length);
  });

  // Last: it appends more mail than the tests above count.
  it('gives a reply chain appended out of order one threadId, and a broken message one from its raw headers', async () => {
    const header = (id: string, parents: string[], subject: string) =>
      `From: a@example.com\r\nTo: support@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${id}@example.com>\r\n` +
      (parents.length
        ? `In-Reply-To: <${parents.at(-1)}@example.com>\r\nReferences: ${parents.map((p) => `<${p}@example.com>`).join(' ')}\r\n`
        : '') +
      'MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nx\r\n';
    // The second reply lands first, the root last, as mail relayed by different servers may.
    await scenario.appender.append('INBOX', header('chain-r2', ['chain-root', 'chain-r1'], 'Re: Re: Chain'));
    await scenario.appender.append('INBOX', header('chain-r1', ['chain-root'], 'Re: Chain'));
    await scenario.appender.append('INBOX', header('chain-root', [], 'Chain'));
    await scenario.appender.append('INBOX', header('elsewhere', [], 'Chain'));
    await scenario.receiver.waitUntil(
      () =>
        ['Re: Re: Chain', 'Re: Chain'].every(bySubject) &&
        received().filter((w) => w.body.data.subject === 'Chain').length === 2,
      20_000,
      'the chain and the unrelated message',
    );
    const threadOf = (messageId: string) =>
      received().find((w) => w.body.data.messageId === `<${messageId}@example.com>`)?.body.data.threadId;
    const root = threadOf('chain-root');
    assert.match(root ?? '', /^thr_[0-9a-f]{32}$/);
    assert.equal(threadOf('chain-r1'), root);
    assert.equal(threadOf('chain-r2'), root);
    assert.notEqual(threadOf('elsewhere'), root, 'the same subject in another conversation');
    const broken = bySubject('Broken MIME')?.body.data;
    assert.match(broken?.threadId ?? '', /^thr_[0-9a-f]{32}$/, 'read from the raw headers like the rest');
  });
});
