import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeProcess } from '../support/bridge.js';
import { freePort } from '../support/net.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

const CLI = resolve(import.meta.dirname, '../../bin/idlehook.js');

const WITH_ATTACHMENT = [
  'From: Carol <carol@example.org>',
  'To: support@example.com',
  'Subject: Invoice 42',
  'Message-ID: <invoice-42@example.org>',
  'Date: Tue, 01 Dec 2026 09:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="m"',
  '',
  '--m',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Please find the invoice attached.',
  '--m',
  'Content-Type: application/pdf; name="invoice.pdf"',
  'Content-Disposition: attachment; filename="invoice.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4 not really').toString('base64'),
  '--m--',
  '',
].join('\r\n');

describe('idlehook trigger: a sample or an .eml file through the ordinary parse and deliver stages', () => {
  const secret = newWebhookSecret();
  const other = new WebhookReceiver(secret);
  let scenario: Scenario;

  before(async () => {
    scenario = await startScenario({
      secret,
      extraSubscriptions: [{ id: 'other', url: await other.listen(), events: ['message.received'] }],
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
    await other.close();
  });

  it('delivers a sample message, signed, to every subscription that wants it', async () => {
    const result = await scenario.bridge.cli('trigger', 'message.received');
    assert.equal(result.code, 0, result.stderr);
    const [, eventId] = /Queued (evt_[0-9a-f]{32})/.exec(result.stdout) ?? [];
    for (const receiver of [scenario.receiver, other])
      await receiver.waitUntil(() => receiver.ofType('message.received').length === 1, 10_000, 'the sample');
    const [webhook] = scenario.receiver.ofType('message.received');
    assert.equal(webhook?.id, eventId);
    assert.equal(webhook?.body.data.subject, 'A test message from idlehook trigger');
    assert.equal(webhook?.body.data.account, 'support');
    assert.match(webhook?.body.data.html, /<p>This is what a new message looks like/);
    assert.equal(other.ofType('message.received')[0]?.id, eventId, 'the same event for both');
    assert.equal(scenario.receiver.invalidSignatures + other.invalidSignatures, 0);
  });

  it('parses an .eml file like real mail, and --subscription sends it to that one only', async () => {
    const file = join(scenario.bridge.dir, 'invoice.eml');
    writeFileSync(file, WITH_ATTACHMENT);
    const result = await scenario.bridge.cli(
      'trigger',
      'message.received',
      '--eml',
      file,
      '--subscription',
      'other',
    );
    assert.equal(result.code, 0, result.stderr);
    await other.waitUntil(() => other.ofType('message.received').length === 2, 10_000, 'the .eml');
    const data = other.ofType('message.received')[1]?.body.data;
    assert.equal(data?.subject, 'Invoice 42');
    assert.deepEqual(
      data?.attachments.map((a: { filename: string; contentType: string }) => [a.filename, a.contentType]),
      [['invoice.pdf', 'application/pdf']],
    );
    const raw = await fetch(data?.raw.url);
    assert.equal(await raw.text(), WITH_ATTACHMENT, 'the raw message behind its link');
    await sleep(1500);
    assert.equal(scenario.receiver.ofType('message.received').length, 1, 'not to the other subscription');
  });

  it('refuses an unknown subscription or file by name, and an event type it cannot make', async () => {
    const unknown = await scenario.bridge.cli(
      'trigger',
      'message.received',
      '--subscription',
      'nope',
      '--eml',
      '/nonexistent.eml',
    );
    assert.equal(unknown.code, 78);
    assert.match(unknown.stderr, /--subscription: no subscription "nope"/);
    assert.match(unknown.stderr, /--eml: cannot read \/nonexistent\.eml: ENOENT/);
    assert.equal((await scenario.bridge.cli('trigger', 'mailbox.created')).code, 2);
  });
});

describe('a first run without a mail account: run, listen and trigger', () => {
  it('delivers a triggered sample to `idlehook listen`, which verifies it', async () => {
    const secret = newWebhookSecret();
    const port = await freePort();
    const listener = spawn(process.execPath, [CLI, 'listen', '--port', String(port), '--secret', secret], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let printed = '';
    listener.stdout.on('data', (d: Buffer) => {
      printed += d.toString();
    });
    const bridge = await BridgeProcess.create(
      {
        subscriptions: [{ id: 'local', url: `http://127.0.0.1:${port}/`, secret: { env: 'LISTEN_SECRET' } }],
      },
      { LISTEN_SECRET: secret },
    );
    try {
      await bridge.start();
      assert.match(await bridge.logWith(/no mail accounts yet/), /no mail accounts yet/);
      const triggered = await bridge.cli('trigger', 'message.received');
      assert.equal(triggered.code, 0, triggered.stderr);
      const [, eventId] = /Queued (evt_[0-9a-f]{32})/.exec(triggered.stdout) ?? [];
      for (let i = 0; i < 100 && !printed.includes(eventId ?? '-'); i++) await sleep(100);
      assert.match(printed, new RegExp(`${eventId}  message\\.received account=trigger mailbox=INBOX`));
      assert.doesNotMatch(printed, /rejected/);
    } finally {
      listener.kill('SIGTERM');
      await bridge.dispose();
    }
  });
});
