import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapFlow } from 'imapflow';
import { Webhook } from 'standardwebhooks';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

const OTHER = { name: 'other', password: 'other-password' };

describe('management API (local mode): accounts, subscriptions and dead letters over HTTP', () => {
  let scenario: Scenario;
  let token: string;
  let otherAppender: ImapFlow;
  const receivers: WebhookReceiver[] = [];

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(`${scenario.bridge.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      headers: response.headers,
      text,
      json: text ? (JSON.parse(text) as any) : undefined,
    };
  };

  const otherAccount = (overrides: Record<string, unknown> = {}) => ({
    id: 'other',
    host: 'localhost',
    port: scenario.dovecot.tlsPort,
    user: OTHER.name,
    password: OTHER.password,
    tls: { ca: readFileSync(scenario.dovecot.caFile, 'utf8') },
    ...overrides,
  });

  /** A subscription made without a secret, and a receiver that verifies with the one the API made for it. */
  const subscribe = async (id: string, body: Record<string, unknown>) => {
    const receiver = new WebhookReceiver(newWebhookSecret());
    receivers.push(receiver);
    const created = await api('POST', '/v1/subscriptions', { id, url: await receiver.listen(), ...body });
    assert.equal(created.status, 201, created.text);
    assert.match(created.json.secret, /^whsec_/, 'the secret made is shown once');
    receiver.useSecret(created.json.secret);
    return receiver;
  };

  before(async () => {
    scenario = await startScenario({
      config: { delivery: { retryScheduleSeconds: [0.2, 0.2], overloadFloorSeconds: 0.2 } },
    });
    const made = await scenario.bridge.cli('tokens', 'create', '--name', 'tests');
    assert.equal(made.code, 0, made.stderr);
    token = made.stdout.trim();
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ['support']);
    otherAppender = await connectAppender(scenario.dovecot, OTHER.name, OTHER.password);
  });

  after(async () => {
    await otherAppender?.logout().catch(() => undefined);
    await Promise.all(receivers.map((r) => r.close()));
    await scenario?.dispose();
  });

  it('answers 401 without a valid token, the same for a missing, a malformed, a wrong and a revoked one', async () => {
    const answers = [
      await api('GET', '/v1/accounts', undefined, { authorization: '' }),
      await api('GET', '/v1/accounts', undefined, { authorization: 'Basic dXNlcjpwYXNz' }),
      await api('GET', '/v1/accounts', undefined, { authorization: `Bearer ${token}x` }),
      await api('GET', '/v1/subscriptions', undefined, { authorization: 'Bearer ihk_guess' }),
    ];
    const second = await scenario.bridge.cli('tokens', 'create', '--name', 'short-lived');
    const revocable = second.stdout.trim();
    assert.equal(
      (await api('GET', '/v1/status', undefined, { authorization: `Bearer ${revocable}` })).status,
      200,
    );
    const listed = JSON.parse((await scenario.bridge.cli('tokens', 'list', '--json')).stdout) as {
      id: string;
      name: string;
      lastUsedAt: string | null;
    }[];
    assert.ok(!JSON.stringify(listed).includes(revocable), 'tokens list never shows a token');
    const id = listed.find((t) => t.name === 'short-lived')?.id ?? '';
    assert.equal((await scenario.bridge.cli('tokens', 'revoke', id)).code, 0);
    answers.push(await api('GET', '/v1/status', undefined, { authorization: `Bearer ${revocable}` }));
    for (const answer of answers) {
      assert.equal(answer.status, 401, answer.text);
      assert.equal(answer.type, 'application/problem+json');
      assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="idlehook"');
    }
    assert.equal(new Set(answers.map((a) => a.text)).size, 1, 'one answer whatever was wrong with the token');
  });

  it('gives a read-only token every GET route but reading a message, and refuses it every other route (403), changing nothing', async () => {
    const made = await scenario.bridge.cli('tokens', 'create', '--name', 'viewer', '--scope', 'read');
    assert.equal(made.code, 0, made.stderr);
    const viewer = made.stdout.trim();
    const bogus = await scenario.bridge.cli('tokens', 'create', '--scope', 'admin');
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /--scope is one of read, full, not "admin"/);
    const listed = JSON.parse((await scenario.bridge.cli('tokens', 'list', '--json')).stdout) as {
      name: string;
      scope: string;
    }[];
    assert.equal(listed.find((t) => t.name === 'viewer')?.scope, 'read');
    assert.equal(listed.find((t) => t.name === 'tests')?.scope, 'full', 'full unless asked');

    const as = { authorization: `Bearer ${viewer}` };
    const before = await api('GET', '/v1/accounts');
    const document = (await api('GET', '/v1/openapi.json', undefined, as)).json;
    const operations = Object.entries(document.paths as Record<string, Record<string, any>>).flatMap(
      ([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
    );
    assert.ok(operations.length >= 17);
    for (const { path, method, operation } of operations) {
      const concrete = path.replace('{id}', 'support').replace('{messageRef}', '1%3A1%3AINBOX');
      const answer = await api(method.toUpperCase(), concrete, method === 'get' ? undefined : {}, as);
      const needed = operation.security?.[0]?.bearer?.[0];
      // The one GET that needs a full token: a message read again is mail content.
      if (method === 'get' && operation.operationId !== 'getMessage') {
        assert.equal(needed, 'read', `${method} ${path} is documented as read`);
        assert.notEqual(answer.status, 403, `${method} ${path}: ${answer.text}`);
        assert.notEqual(answer.status, 401);
      } else {
        assert.equal(needed, 'full', `${method} ${path} is documented as full`);
        assert.equal(answer.status, 403, `${method} ${path}: ${answer.text}`);
        assert.match(answer.json.detail, /needs a token of scope "full".*tokens create --scope full/);
      }
    }
    assert.deepEqual((await api('GET', '/v1/accounts')).json, before.json, 'nothing changed');
    const replay = await fetch(`${scenario.bridge.url}/dashboard/replay`, {
      method: 'POST',
      headers: { ...as, 'x-idlehook-dashboard': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ subscriptionId: 'hook' }),
    });
    assert.equal(replay.status, 403, 'the dashboard replays with a full token only');
    const state = await fetch(`${scenario.bridge.url}/dashboard/state`, {
      headers: { ...as, 'x-idlehook-dashboard': '1' },
    });
    assert.equal(state.status, 200);
  });

  it('sends / to the dashboard, and logs the dashboard address at start', async () => {
    const root = await fetch(`${scenario.bridge.url}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/dashboard');
    assert.match(scenario.bridge.log(), /"dashboard":"http:\/\/127\.0\.0\.1:\d+\/dashboard"/);
  });

  it('serves the OpenAPI document that is checked into schemas/, without a token', async () => {
    const served = await api('GET', '/v1/openapi.json', undefined, { authorization: '' });
    assert.equal(served.status, 200);
    const checkedIn = JSON.parse(
      readFileSync(join(import.meta.dirname, '../../schemas/openapi.json'), 'utf8'),
    );
    assert.equal(served.json.openapi, '3.1.0');
    for (const path of ['/v1/accounts', '/v1/accounts/{id}', '/v1/subscriptions', '/v1/dead-letters/replay'])
      assert.ok(served.json.paths[path], `${path} is documented`);
    assert.deepEqual(served.json, checkedIn, 'schemas/openapi.json is stale: run npm run schemas');
  });

  it('creates an account: it is checked, watched without a restart, and its mail arrives as webhooks', async () => {
    const early = await api('POST', '/v1/subscriptions', {
      id: 'too-early',
      url: 'https://example.com/hook',
      accounts: ['other'],
    });
    assert.equal(early.status, 422, 'a subscription names existing accounts only');
    assert.deepEqual(early.json.errors, [
      { in: 'body', path: 'accounts[0]', message: 'no account with id "other"' },
    ]);

    const account = await api('POST', '/v1/accounts', otherAccount());
    assert.equal(account.status, 201, account.text);
    assert.equal(account.json.origin, 'api');
    assert.ok(!account.text.includes(OTHER.password), 'the password never comes back out');

    const receiver = await subscribe('other-hook', { accounts: ['other'], events: ['message.received'] });
    const listed = await api('GET', '/v1/subscriptions/other-hook');
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.json.accounts, ['other']);
    assert.ok(
      !listed.text.includes(receiver.secret.slice('whsec_'.length)),
      'the secret is never shown again',
    );

    await waitForIdle(scenario.bridge, ['support', 'other']);
    const read = await api('GET', '/v1/accounts/other');
    assert.equal(read.status, 200);
    assert.deepEqual(
      read.json.status.mailboxes.map((m: { name: string; state: string }) => [m.name, m.state]),
      [['INBOX', 'idle']],
    );

    await otherAppender.append('INBOX', simpleMessage('to the API account'));
    await receiver.waitUntil(() => receiver.ofType('message.received').length === 1, 15_000, 'mail of other');
    assert.equal(receiver.ofType('message.received')[0]?.body.data.account, 'other');
    assert.equal(receiver.invalidSignatures, 0);
  });

  it('keeps what the API created across a restart', async () => {
    await scenario.bridge.kill('SIGTERM');
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ['support', 'other']);
    const accounts = await api('GET', '/v1/accounts');
    assert.deepEqual(
      accounts.json.data.map((a: { id: string; origin: string }) => [a.id, a.origin]),
      [
        ['other', 'api'],
        ['support', 'config'],
      ],
    );
    const subscriptions = await api('GET', '/v1/subscriptions');
    assert.deepEqual(
      subscriptions.json.data.map((s: { id: string; origin: string }) => [s.id, s.origin]),
      [
        ['helpdesk', 'config'],
        ['other-hook', 'api'],
      ],
    );
    const receiver = receivers.find((r) => r.ofType('message.received').length > 0);
    assert.ok(receiver);
    await otherAppender.append('INBOX', simpleMessage('after the restart'));
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length === 2,
      15_000,
      'mail after restart',
    );
  });

  it('pages lists with a cursor', async () => {
    const first = await api('GET', '/v1/accounts?limit=1');
    assert.equal(first.json.data.length, 1);
    assert.equal(typeof first.json.nextCursor, 'string');
    const second = await api('GET', `/v1/accounts?limit=1&cursor=${first.json.nextCursor}`);
    assert.equal(second.json.data.length, 1);
    assert.notEqual(second.json.data[0].id, first.json.data[0].id);
    assert.equal(second.json.nextCursor, null);
  });

  it('refuses what the config file defines, and a second create under the same id', async () => {
    const deleteConfigAccount = await api('DELETE', '/v1/accounts/support');
    assert.equal(deleteConfigAccount.status, 409);
    assert.match(deleteConfigAccount.json.detail, /config file/);
    assert.equal((await api('DELETE', '/v1/subscriptions/helpdesk')).status, 409);
    const again = await api('POST', '/v1/accounts', otherAccount(), {});
    assert.equal(again.status, 409);
    assert.equal(again.type, 'application/problem+json');
    assert.equal((await api('GET', '/v1/accounts/nobody')).status, 404);
  });

  it('runs the doctor before creating: a wrong password is a 422 with its report, and nothing is created', async () => {
    const refused = await api('POST', '/v1/accounts', otherAccount({ id: 'wrong', password: 'not it' }));
    assert.equal(refused.status, 422, refused.text);
    assert.equal(refused.json.doctor.ok, false);
    assert.equal(refused.json.doctor.steps.find((s: { ok: boolean }) => !s.ok)?.name, 'login');
    assert.equal((await api('GET', '/v1/accounts/wrong')).status, 404);
  });

  it('counts the accounts and the failing ones, naming them, in /v1/status', async () => {
    const created = await api(
      'POST',
      '/v1/accounts?check=false',
      otherAccount({ id: 'wrong', password: 'not it' }),
    );
    assert.equal(created.status, 201, created.text);
    const listed = (await api('GET', '/v1/accounts?limit=100')).json.data.length;
    const counted = async () => (await api('GET', '/v1/status')).json.accounts;
    const deadline = Date.now() + 30_000;
    while ((await counted()).failing === 0 && Date.now() < deadline) await sleep(100);
    assert.deepEqual(await counted(), { total: listed, failing: 1, failingIds: ['wrong'] });
    assert.equal((await api('DELETE', '/v1/accounts/wrong')).status, 204);
    assert.deepEqual(await counted(), { total: listed - 1, failing: 0, failingIds: [] });
  });

  it('dead-letters a failing endpoint, lists the letter and its attempts, and replays it on request', async () => {
    const receiver = await subscribe('failing', { accounts: ['support'], events: ['message.received'] });
    receiver.respond = () => 500;
    await scenario.appender.append('INBOX', simpleMessage('to a failing endpoint'));

    let letters: any;
    const deadline = Date.now() + 20_000;
    do {
      await sleep(200);
      letters = await api('GET', '/v1/dead-letters?subscription=failing');
    } while (letters.json.data.length === 0 && Date.now() < deadline);
    assert.equal(letters.json.data.length, 1, 'dead-lettered after the retries');
    const [letter] = letters.json.data;
    assert.equal(letter.attempts, 3);
    assert.match(letter.reason, /500/);

    const attempts = await api('GET', '/v1/subscriptions/failing/attempts?limit=10');
    assert.deepEqual(
      attempts.json.data.map((a: { status: number }) => a.status),
      [500, 500, 500],
    );

    receiver.respond = () => 200;
    const replayed = await api('POST', '/v1/dead-letters/replay', { subscription: 'failing' });
    assert.equal(replayed.status, 200, replayed.text);
    assert.equal(replayed.json.delivered, 1);
    assert.equal(receiver.accepted.length, 1);
    assert.equal(receiver.accepted[0]?.id, letter.eventId, 'replayed under the original webhook-id');
    assert.equal((await api('GET', '/v1/dead-letters?subscription=failing')).json.data.length, 0);
  });

  it('rotates a subscription’s secret: both signatures during the overlap, then only the new one', async () => {
    const receiver = await subscribe('rotating', { accounts: ['support'], events: ['message.received'] });
    const oldSecret = receiver.secret;
    const rotated = await api('POST', '/v1/subscriptions/rotating/rotate-secret', {
      previousSecretValidSeconds: 8,
    });
    assert.equal(rotated.status, 200, rotated.text);
    const newSecret = rotated.json.secret as string;
    assert.match(newSecret, /^whsec_/);
    assert.notEqual(newSecret, oldSecret);
    const shown = await api('GET', '/v1/subscriptions/rotating');
    assert.equal(shown.json.previousSecretExpiresAt, rotated.json.previousSecretExpiresAt);

    await scenario.appender.append('INBOX', simpleMessage('during the overlap'));
    await receiver.waitUntil(() => receiver.accepted.length === 1, 15_000, 'the webhook during the overlap');
    const during = receiver.accepted[0];
    assert.ok(during);
    assert.equal(during.raw.headers['webhook-signature']?.split(' ').length, 2, 'two signatures');
    assert.doesNotThrow(
      () => new Webhook(newSecret).verify(during.raw.body, during.raw.headers),
      'new secret',
    );
    // The receiver itself verified with the old one.

    const expiresAt = Date.parse(rotated.json.previousSecretExpiresAt);
    await sleep(Math.max(0, expiresAt - Date.now()) + 200);
    receiver.useSecret(newSecret);
    await scenario.appender.append('INBOX', simpleMessage('after the overlap'));
    await receiver.waitUntil(() => receiver.accepted.length === 2, 15_000, 'the webhook after the overlap');
    const afterwards = receiver.accepted[1];
    assert.ok(afterwards);
    assert.equal(afterwards.raw.headers['webhook-signature']?.split(' ').length, 1, 'one signature');
    assert.throws(() => new Webhook(oldSecret).verify(afterwards.raw.body, afterwards.raw.headers));
    assert.equal(receiver.invalidSignatures, 0);
  });

  it('never sends a stored password to a destination a PATCH names: the change must carry the password', async () => {
    // Stands in for a server of the caller's choosing: it must see no connection, let alone a login.
    const seen: string[] = [];
    const attacker = createServer((socket) => {
      seen.push('connection');
      socket.write('* OK IMAP4rev1 ready\r\n');
      socket.on('data', (data: Buffer) => seen.push(data.toString('latin1')));
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const port = (attacker.address() as AddressInfo).port;
    try {
      for (const change of [
        { host: '127.0.0.1', port, security: 'none' },
        { port },
        { user: 'someone-else' },
        { tls: { servername: 'imap.attacker.example' } },
      ]) {
        const refused = await api('PATCH', '/v1/accounts/other', change);
        assert.equal(refused.status, 422, refused.text);
        assert.deepEqual(
          refused.json.errors.map((e: { path: string }) => e.path),
          ['password'],
          JSON.stringify(change),
        );
      }
      await sleep(300);
      assert.deepEqual(seen, [], 'the stored password went nowhere');
      const unchanged = await api('GET', '/v1/accounts/other');
      assert.equal(unchanged.json.port, scenario.dovecot.tlsPort);
      // With the password in the same request the caller only sends what it already knows.
      const withPassword = await api('PATCH', '/v1/accounts/other?check=false', {
        port: scenario.dovecot.tlsPort,
        password: OTHER.password,
      });
      assert.equal(withPassword.status, 200, withPassword.text);
    } finally {
      attacker.close();
    }
  });

  it('changes an account and a subscription in place, and re-enables a disabled subscription', async () => {
    await otherAppender.mailboxCreate('Archive').catch(() => undefined);
    const changed = await api('PATCH', '/v1/accounts/other', { mailboxes: ['INBOX', 'Archive'] });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.json.mailboxes, ['INBOX', 'Archive']);
    await waitForIdle(scenario.bridge, ['support', 'other']);
    const watched = await api('GET', '/v1/accounts/other');
    assert.deepEqual(watched.json.status.mailboxes.map((m: { name: string }) => m.name).sort(), [
      'Archive',
      'INBOX',
    ]);
    const wrong = await api('PATCH', '/v1/accounts/other', { password: 'not it' });
    assert.equal(wrong.status, 422, 'the doctor checks a change too');
    assert.equal(wrong.json.doctor.ok, false);
    assert.equal((await api('PATCH', '/v1/accounts/support', { mailboxes: ['INBOX'] })).status, 409);

    const receiver = await subscribe('gone-hook', { accounts: ['support'], events: ['mailbox.created'] });
    const narrowed = await api('PATCH', '/v1/subscriptions/gone-hook', { events: ['message.received'] });
    assert.equal(narrowed.status, 200, narrowed.text);
    assert.deepEqual(narrowed.json.events, ['message.received']);
    const secretByPatch = await api('PATCH', '/v1/subscriptions/gone-hook', { secret: newWebhookSecret() });
    assert.equal(secretByPatch.status, 422, 'the secret changes by rotation only');

    receiver.respond = () => 410;
    await scenario.appender.append('INBOX', simpleMessage('to a gone endpoint'));
    let health: { enabled: boolean; disabledReason: string | null } | undefined;
    const deadline = Date.now() + 15_000;
    do {
      await sleep(200);
      health = (await api('GET', '/v1/subscriptions/gone-hook')).json.health;
    } while (health?.enabled !== false && Date.now() < deadline);
    assert.equal(health?.enabled, false, 'a 410 disables the subscription');
    assert.match(health?.disabledReason ?? '', /410/);
    assert.equal((await api('POST', '/v1/subscriptions/gone-hook/enable')).status, 204);
    assert.equal((await api('GET', '/v1/subscriptions/gone-hook')).json.health.enabled, true);
  });

  it('names every bad field, refuses malformed and oversized bodies, and stays up', async () => {
    const accountCases: [Record<string, unknown>, string][] = [
      [{ id: '' }, 'id'],
      [{ id: 'has space' }, 'id'],
      [{ host: 5 }, 'host'],
      [{ port: 70_000 }, 'port'],
      [{ security: 'ssl' }, 'security'],
      [{ user: '' }, 'user'],
      [{ mailboxes: [] }, 'mailboxes'],
      [{ mailboxes: ['INBOX', 'INBOX'] }, 'mailboxes'],
      [{ initialSync: 'everything' }, 'initialSync'],
      [{ password: { env: 'HOME' } }, 'password'],
      [{ connectionLimit: 0 }, 'connectionLimit'],
      [{ tls: { ca: '/etc/ssl/certs/ca-certificates.crt' } }, 'tls.ca'],
      [{ tls: { servername: '' } }, 'tls.servername'],
      [{ provider: 'aol' }, 'provider'],
      [{ hots: 'typo' }, '(root)'],
      [{ security: 'none', host: 'imap.example.com' }, 'security'],
      [{ password: undefined }, 'password'],
    ];
    for (const [change, field] of accountCases) {
      const answer = await api('POST', '/v1/accounts?check=false', otherAccount({ id: 'bad', ...change }));
      assert.equal(answer.status, 422, `${JSON.stringify(change)}: ${answer.text}`);
      assert.equal(answer.type, 'application/problem+json');
      const paths = answer.json.errors.map((e: { path: string }) => e.path);
      assert.ok(paths.includes(field), `${JSON.stringify(change)} names ${field}: ${answer.text}`);
      assert.ok(!answer.text.includes(OTHER.password), 'no secret in a problem');
    }
    const subscriptionCases: [Record<string, unknown>, string][] = [
      [{ id: '' }, 'id'],
      [{ url: 'ftp://example.com/' }, 'url'],
      [{ events: ['message.exploded'] }, 'events.0'],
      [{ accounts: ['nobody'] }, 'accounts[0]'],
      [{ rateLimitPerSecond: -1 }, 'rateLimitPerSecond'],
      [{ secret: 'not-a-whsec' }, 'secret'],
      [{ previousSecret: newWebhookSecret() }, '(root)'],
    ];
    for (const [change, field] of subscriptionCases) {
      const answer = await api('POST', '/v1/subscriptions', {
        id: 'bad',
        url: 'https://example.com/',
        ...change,
      });
      assert.equal(answer.status, 422, `${JSON.stringify(change)}: ${answer.text}`);
      const paths = answer.json.errors.map((e: { path: string }) => e.path);
      assert.ok(paths.includes(field), `${JSON.stringify(change)} names ${field}: ${answer.text}`);
    }
    const query = await api('GET', '/v1/dead-letters?since=yesterday&limit=0');
    assert.equal(query.status, 422);
    assert.deepEqual(query.json.errors.map((e: { in: string; path: string }) => `${e.in}:${e.path}`).sort(), [
      'query:limit',
      'query:since',
    ]);
    const malformed = await api('POST', '/v1/accounts', '{"id": "x",');
    assert.equal(malformed.status, 400, malformed.text);
    assert.equal(malformed.type, 'application/problem+json');
    const notJson = await api('POST', '/v1/accounts', 'id=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(notJson.status, 415, notJson.text);
    const huge = await api('POST', '/v1/accounts', otherAccount({ id: 'huge', user: 'x'.repeat(200_000) }));
    assert.equal(huge.status, 413, huge.text);
    assert.equal((await api('GET', '/v1/no-such-route')).status, 404);
    assert.equal((await api('GET', '/v1/status')).status, 200, 'still up');
    assert.equal((await api('GET', '/v1/accounts/bad')).status, 404, 'nothing half-created');
  });

  it('deletes an account: its connection closes and no more of its mail is delivered', async () => {
    const receiver = receivers.find((r) =>
      r.ofType('message.received').some((w) => w.body.data.account === 'other'),
    );
    assert.ok(receiver);
    const before = receiver.ofType('message.received').length;
    const logBefore = readFileSync(scenario.dovecot.logFile, 'utf8').length;
    assert.equal((await api('DELETE', '/v1/accounts/other')).status, 204);
    // Closed by the time the answer came: both sessions (INBOX and Archive) logged out, nothing left watched.
    assert.equal((await scenario.bridge.status()).accounts.other, undefined);
    assert.equal((await api('GET', '/v1/accounts/other')).status, 404);
    const loggedOut = readFileSync(scenario.dovecot.logFile, 'utf8')
      .slice(logBefore)
      .match(/imap\(other\).*(Logged out|Disconnected)/g);
    assert.equal(loggedOut?.length, 2, `both sessions logged out: ${loggedOut}`);
    await otherAppender.append('INBOX', simpleMessage('after the delete'));
    // A marker through the account still watched: once it is delivered, other's mail would have been too.
    await scenario.appender.append('INBOX', simpleMessage('marker'));
    await scenario.receiver.waitUntil(
      () => scenario.receiver.ofType('message.received').some((w) => w.body.data.subject === 'marker'),
      15_000,
      'the marker',
    );
    await sleep(1000);
    assert.equal(receiver.ofType('message.received').length, before);
  });

  it('keeps a subscription that names a deleted account across a restart', async () => {
    assert.deepEqual((await api('GET', '/v1/subscriptions/other-hook')).json.accounts, ['other']);
    await scenario.bridge.kill('SIGTERM');
    await scenario.bridge.start();
    const kept = await api('GET', '/v1/subscriptions/other-hook');
    assert.equal(kept.status, 200, 'not dropped at the start for naming an account that is gone');
    assert.doesNotMatch(scenario.bridge.log(), /is not used/);
  });
});
