// Reading a message again through the management API (local mode, Dovecot): the event as delivered, built
// again from the stored source, for a receiver that lost a webhook after answering 2xx.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

const PDF = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
const MAILBOX = 'Support: EU';
const MESSAGE = [
  'From: Bob <bob@example.org>',
  'To: support@example.com',
  'Subject: Read me twice',
  'Message-ID: <twice@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="M"',
  '',
  '--M',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'The invoice is attached.',
  '--M',
  'Content-Type: application/pdf; name="invoice.pdf"',
  'Content-Disposition: attachment; filename="invoice.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  PDF.toString('base64').replace(/.{1,76}/g, '$&\r\n'),
  '--M--',
  '',
].join('\r\n');

describe('GET /v1/accounts/{id}/messages/{messageRef} (local mode, Dovecot)', () => {
  let scenario: Scenario;
  let token: string;
  const get = async (path: string) => {
    const response = await fetch(`${scenario.bridge.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, json: (await response.json()) as any };
  };
  const refOf = (data: { uidValidity: string; uid: number; mailbox: string }) =>
    encodeURIComponent(`${data.uidValidity}:${data.uid}:${data.mailbox}`);

  before(async () => {
    scenario = await startScenario({ mailboxes: ['INBOX', MAILBOX] });
    const made = await scenario.bridge.cli('tokens', 'create', '--name', 'read-again');
    assert.equal(made.code, 0, made.stderr);
    token = made.stdout.trim();
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
    await scenario.appender.append(MAILBOX, MESSAGE, ['\\Flagged']);
    await scenario.receiver.waitUntil(() => scenario.receiver.accepted.length === 1, 20_000, 'the webhook');
  });

  after(async () => {
    await scenario?.dispose();
  });

  it('answers the event as it was delivered: same webhook-id, same body, for a mailbox named with a colon', async () => {
    const [webhook] = scenario.receiver.accepted;
    assert.ok(webhook);
    const { status, json } = await get(`/v1/accounts/support/messages/${refOf(webhook.body.data as any)}`);
    assert.equal(status, 200, JSON.stringify(json));
    const { id, ...body } = json;
    assert.equal(id, webhook.id);
    assert.deepEqual(body, webhook.body);
    assert.equal(JSON.stringify(body), webhook.raw.body, 'byte for byte');
    assert.deepEqual(body.data.flags, ['\\Flagged'], 'the flags it arrived with');
  });

  it('links to the source and the attachment, which still download', async () => {
    const [webhook] = scenario.receiver.accepted;
    const { json } = await get(`/v1/accounts/support/messages/${refOf(webhook?.body.data as any)}`);
    const raw = await (await fetch(json.data.raw.url)).text();
    assert.match(raw, /Message-ID: <twice@example.org>/);
    const [attachment] = json.data.attachments;
    assert.deepEqual(Buffer.from(await (await fetch(attachment.url)).arrayBuffer()), PDF);
  });

  it('says when a message is not stored, an account unknown, a token not allowed, or a reference malformed', async () => {
    const [webhook] = scenario.receiver.accepted;
    const data = webhook?.body.data as any;
    const unknown = await get(`/v1/accounts/support/messages/${refOf({ ...data, uid: data.uid + 1000 })}`);
    assert.equal(unknown.status, 404);
    assert.equal(unknown.json.title, 'Message not stored');
    assert.match(unknown.json.detail, /never seen by idlehook, or older than the retention period/);
    const stale = await get(`/v1/accounts/support/messages/${refOf({ ...data, uidValidity: '1' })}`);
    assert.equal(stale.status, 404, 'another UIDVALIDITY names another message, never this one');
    assert.equal((await get(`/v1/accounts/nobody/messages/${refOf(data)}`)).status, 404);
    const reader = await scenario.bridge.cli('tokens', 'create', '--name', 'wall', '--scope', 'read');
    const readOnly = await fetch(`${scenario.bridge.url}/v1/accounts/support/messages/${refOf(data)}`, {
      headers: { authorization: `Bearer ${reader.stdout.trim()}` },
    });
    assert.equal(readOnly.status, 403, 'a read token sees no mail');
    const malformed = await get('/v1/accounts/support/messages/INBOX-42');
    assert.equal(malformed.status, 422);
    assert.match(JSON.stringify(malformed.json), /<uidValidity>:<uid>:<mailbox>/);
  });
});
