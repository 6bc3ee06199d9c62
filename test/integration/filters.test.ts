// Subscription filters end to end in local mode, on Dovecot: a mixed corpus goes into two mailboxes, and each
// filtered subscription (from the config file, and one made through the management API) must receive exactly
// the messages its pattern names, no more, no fewer, while an unfiltered one receives them all.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

function message(from: string, subject: string, extraHeaders = '', body = 'hello'): string {
  return simpleMessage(subject, body, extraHeaders).replace(
    'From: Alice Example <alice@example.com>',
    `From: ${from}`,
  );
}

// A real Postfix bounce (test/fixtures/bounces): two recipients, 5.2.1 and 5.1.1.
const BOUNCE_FILE = join(import.meta.dirname, '..', 'fixtures', 'bounces', 'lhost-postfix-02.eml');
const BOUNCE_SUBJECT = 'Undelivered Mail Returned to Sender';
const PDF = Buffer.alloc(2000, 7).toString('base64');
const CORPUS: readonly { readonly mailbox: string; readonly source: string }[] = [
  { mailbox: 'INBOX', source: message('Alice <alice@customer.example>', 'Printer broken') },
  {
    mailbox: 'INBOX',
    source: [
      'From: bob@other.example',
      'To: support@example.com',
      'Subject: Invoice 4711',
      'Message-ID: <invoice-4711@other.example>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="M"',
      '',
      '--M',
      'Content-Type: text/plain',
      '',
      'Attached.',
      '--M',
      'Content-Type: application/pdf; name="invoice.pdf"',
      'Content-Disposition: attachment; filename="invoice.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      PDF,
      '--M--',
      '',
    ].join('\r\n'),
  },
  {
    mailbox: 'INBOX',
    source: message(
      'No Reply <noreply@customer.example>',
      'Out of office',
      'Auto-Submitted: auto-replied\r\n',
    ),
  },
  {
    mailbox: 'INBOX',
    source: message('Carol <carol@Customer.Example>', 'URGENT: server down', 'X-Priority: 1\r\n'),
  },
  { mailbox: 'INBOX', source: message('dave@other.example', 'Large log', '', 'x'.repeat(30_000)) },
  { mailbox: 'Billing', source: message('eve@other.example', 'Receipt') },
  { mailbox: 'INBOX', source: message('frank@other.example', 'priority escalation', 'X-Priority: 1\r\n') },
  { mailbox: 'INBOX', source: readFileSync(BOUNCE_FILE, 'latin1') },
];

// What each filtered subscription should get, read off the corpus by hand (not by running the matcher).
const FILTERS = new Map<string, { readonly filter: unknown; readonly subjects: readonly string[] }>([
  [
    'customers',
    {
      // From the customer's domain, whatever its case, and written by a person.
      filter: {
        type: ['message.received'],
        data: {
          from: { address: [{ suffix: { 'equals-ignore-case': '@customer.example' } }] },
          autoSubmitted: [false],
        },
      },
      subjects: ['Printer broken', 'URGENT: server down'],
    },
  ],
  [
    'urgent',
    {
      filter: {
        data: { $or: [{ subject: [{ regex: '(?i)\\burgent\\b' }] }, { headers: { 'x-priority': ['1'] } }] },
      },
      subjects: ['URGENT: server down', 'priority escalation'],
    },
  ],
  [
    'paperwork',
    {
      filter: {
        $or: [{ data: { attachments: [{ exists: true }] } }, { data: { mailbox: ['Billing'] } }],
      },
      // A bounce carries its report and the returned message as parts: it has attachments too.
      subjects: ['Invoice 4711', 'Receipt', BOUNCE_SUBJECT],
    },
  ],
  [
    'unknown-users',
    {
      // Bounces saying that a recipient does not exist (5.1.x).
      filter: { data: { bounce: { recipients: { status: [{ prefix: '5.1.' }] } } } },
      subjects: [BOUNCE_SUBJECT],
    },
  ],
]);
// Made through the management API rather than the config file.
const LARGE = { filter: { data: { size: [{ numeric: ['>', 20_000] }] } }, subjects: ['Large log'] };

describe('subscription filters in local mode, against Dovecot: each receives exactly what its pattern names', () => {
  let scenario: Scenario;
  let token: string;
  const secret = newWebhookSecret();
  const receivers = new Map<string, WebhookReceiver>();
  const urls = new Map<string, string>();
  const subjectsOf = (id: string) =>
    (receivers.get(id)?.ofType('message.received') ?? []).map((w) => String(w.body.data.subject)).sort();
  const api = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${scenario.bridge.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as any };
  };

  before(async () => {
    for (const id of [...FILTERS.keys(), 'large']) {
      const receiver = new WebhookReceiver(secret);
      urls.set(id, await receiver.listen());
      receivers.set(id, receiver);
    }
    scenario = await startScenario({
      secret,
      mailboxes: ['INBOX', 'Billing'],
      extraSubscriptions: [...FILTERS].map(([id, { filter }]) => ({
        id,
        url: urls.get(id),
        filter,
      })),
    });
    const made = await scenario.bridge.cli('tokens', 'create', '--name', 'filters');
    assert.equal(made.code, 0, made.stderr);
    token = made.stdout.trim();
    await scenario.bridge.start();
    const created = await api('POST', '/v1/subscriptions', {
      id: 'large',
      url: urls.get('large'),
      secret,
      filter: LARGE.filter,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.deepEqual(created.json.filter, LARGE.filter, 'the API shows the pattern as given');
    await waitForIdle(scenario.bridge);
    for (const { mailbox, source } of CORPUS) await scenario.appender.append(mailbox, source);
    await scenario.receiver.waitUntil(
      () => scenario.receiver.ofType('message.received').length >= CORPUS.length,
      30_000,
      'the whole corpus at the unfiltered subscription',
    );
    // The filtered ones were queued with the same events; let their deliveries finish too.
    const expected = [...FILTERS.values(), LARGE].reduce((sum, f) => sum + f.subjects.length, 0);
    const deadline = Date.now() + 15_000;
    while ([...receivers.values()].reduce((sum, r) => sum + r.accepted.length, 0) < expected) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    await scenario?.dispose();
    for (const receiver of receivers.values()) await receiver.close();
  });

  it('the unfiltered subscription receives the whole corpus', () => {
    assert.equal(scenario.receiver.ofType('message.received').length, CORPUS.length);
  });

  for (const [id, { subjects }] of [...FILTERS, ['large', LARGE] as const])
    it(`"${id}" receives exactly ${subjects.join(', ')}`, async () => {
      // Give a wrongly matched message time to arrive, too.
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(subjectsOf(id), [...subjects].sort());
      assert.equal(receivers.get(id)?.invalidSignatures, 0);
    });

  it('carries the bounce report of the Postfix bounce, recipient by recipient', () => {
    const bounce = scenario.receiver
      .ofType('message.received')
      .find((w) => w.body.data.subject === BOUNCE_SUBJECT)?.body.data.bounce;
    assert.equal(bounce?.source, 'delivery-status');
    assert.equal(bounce?.reportingMta, 'smtp.example.com');
    assert.deepEqual(
      bounce?.recipients.map((r: { recipient: string; status: string }) => [r.recipient, r.status]),
      [
        ['filtered@example.co.jp', '5.2.1'],
        ['userunknown@example.co.jp', '5.1.1'],
      ],
    );
    assert.equal(
      scenario.receiver.ofType('message.received').filter((w) => w.body.data.bounce !== null).length,
      1,
      'no other message of the corpus is read as a bounce',
    );
  });

  it('counts matched and filtered-out events per subscription in /metrics', async () => {
    const text = await (await fetch(`${scenario.bridge.url}/metrics`)).text();
    const count = (subscription: string, outcome: string) =>
      Number(
        new RegExp(
          `^idlehook_filter_events_total\\{subscription="${subscription}",outcome="${outcome}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1] ?? 0,
      );
    for (const [id, { subjects }] of [...FILTERS, ['large', LARGE] as const]) {
      assert.equal(count(id, 'matched'), subjects.length, `${id} matched`);
      assert.equal(count(id, 'filtered_out'), CORPUS.length - subjects.length, `${id} filtered out`);
    }
    assert.equal(count('helpdesk', 'matched') + count('helpdesk', 'filtered_out'), 0, 'no filter, no count');
  });

  it('refuses an invalid filter through the API, naming the field inside the pattern', async () => {
    const refused = await api('POST', '/v1/subscriptions', {
      id: 'broken',
      url: urls.get('large'),
      secret,
      filter: { data: { subject: [{ regex: '(?<=re:)x' }] } },
    });
    assert.equal(refused.status, 422);
    const problem = JSON.stringify(refused.json);
    assert.match(problem, /"path":"filter\.data\.subject\.0\.regex"/);
    assert.match(problem, /not an RE2 regular expression/);
  });
});
