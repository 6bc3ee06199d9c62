// Acting on a message through the management API (local mode, Dovecot): the first writes into a mailbox. The
// watching connections stay read-only; each action runs on a connection of its own, checks that the reference
// still names the message, and the events it causes come back with `causedBy`.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

type Data = { uidValidity: string; uid: number; mailbox: string; subject?: string; causedBy?: unknown };
type Webhook = Scenario['receiver']['accepted'][number];

/** The first webhook `find` picks, once there is one. */
async function webhookOf(scenario: Scenario, find: (w: Webhook) => boolean, what: string): Promise<Webhook> {
  await scenario.receiver.waitUntil(() => scenario.receiver.accepted.some(find), 20_000, what);
  return scenario.receiver.accepted.find(find) as Webhook;
}

/** `POST .../actions` on the scenario's account, for the message `data` names. */
async function postAction(scenario: Scenario, bearer: string, data: Data, body: unknown) {
  const ref = encodeURIComponent(`${data.uidValidity}:${data.uid}:${data.mailbox}`);
  const response = await fetch(`${scenario.bridge.url}/v1/accounts/support/messages/${ref}/actions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as any };
}

describe('POST /v1/accounts/{id}/messages/{messageRef}/actions (local mode, Dovecot)', () => {
  let scenario: Scenario;
  let token: string;
  let readToken: string;
  const act = (data: Data, body: unknown, bearer = token) => postAction(scenario, bearer, data, body);
  const received = async (subject: string) => {
    await scenario.appender.append('INBOX', simpleMessage(subject));
    const webhook = await webhookOf(
      scenario,
      (w) => w.body.data.subject === subject,
      `the webhook of "${subject}"`,
    );
    return webhook.body.data as Data;
  };
  const eventFor = (type: string, data: Data, also: (d: any) => boolean = () => true) =>
    webhookOf(
      scenario,
      (w) =>
        w.body.type === type &&
        w.body.data.mailbox === data.mailbox &&
        w.body.data.uid === data.uid &&
        also(w.body.data),
      `${type} of UID ${data.uid}`,
    );
  const flagsOnServer = async (data: Data) => {
    const lock = await scenario.appender.getMailboxLock(data.mailbox, { readOnly: true });
    try {
      // Expunges by other connections reach this one at a NOOP (never during a FETCH).
      await scenario.appender.noop();
      const found = await scenario.appender.fetchOne(String(data.uid), { flags: true }, { uid: true });
      return found ? [...(found.flags ?? [])] : undefined;
    } finally {
      lock.release();
    }
  };

  before(async () => {
    scenario = await startScenario({ mailboxes: ['INBOX'] });
    const full = await scenario.bridge.cli('tokens', 'create', '--name', 'actions');
    assert.equal(full.code, 0, full.stderr);
    token = full.stdout.trim();
    const read = await scenario.bridge.cli('tokens', 'create', '--name', 'wall', '--scope', 'read');
    readToken = read.stdout.trim();
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });

  after(async () => {
    await scenario?.dispose();
  });

  it('marks a message seen; the flag change it causes comes back with causedBy', async () => {
    const message = await received('mark me seen');
    const done = await act(message, { type: 'mark-seen', requestId: 'seen-1' });
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.deepEqual(done.json, { requestId: 'seen-1' });
    assert.ok((await flagsOnServer(message))?.includes('\\Seen'));
    const echo = await eventFor('message.flags_changed', message);
    assert.deepEqual(echo.body.data.causedBy, { action: 'mark-seen', requestId: 'seen-1' });
    assert.ok(echo.body.data.flags.includes('\\Seen'));
  });

  it('adds and removes a keyword; a change made by another client carries no causedBy', async () => {
    const message = await received('tag me');
    assert.equal((await act(message, { type: 'add-flags', flags: ['$Ticketed'] })).status, 200);
    assert.ok((await flagsOnServer(message))?.includes('$Ticketed'));
    const ours = await eventFor('message.flags_changed', message, (d) => d.flags.includes('$Ticketed'));
    assert.equal(ours.body.data.causedBy.action, 'add-flags');
    assert.match(ours.body.data.causedBy.requestId, /^act_/, 'an id is made when none is given');
    // Another client flags it: not our echo.
    const lock = await scenario.appender.getMailboxLock('INBOX');
    try {
      await scenario.appender.messageFlagsAdd(String(message.uid), ['\\Flagged'], { uid: true });
    } finally {
      lock.release();
    }
    const theirs = await eventFor('message.flags_changed', message, (d) => d.flags.includes('\\Flagged'));
    assert.equal(theirs.body.data.causedBy, undefined);
    assert.equal((await act(message, { type: 'remove-flags', flags: ['$Ticketed'] })).status, 200);
    assert.ok(!(await flagsOnServer(message))?.includes('$Ticketed'));
  });

  it('moves a message to a folder it makes; a retry with the same requestId gets the same answer and moves nothing', async () => {
    const message = await received('move me');
    const body = { type: 'move', to: 'Tickets/Open', requestId: 'move-1' };
    const [first, again] = [await act(message, body), await act(message, body)];
    assert.equal(first.status, 200, JSON.stringify(first.json));
    assert.deepEqual(again.json, first.json, 'the first answer, not "gone"');
    assert.equal(first.json.movedTo.mailbox, 'Tickets/Open');
    assert.equal(typeof first.json.movedTo.uid, 'number', 'the new UID (COPYUID)');
    assert.equal(await flagsOnServer(message), undefined, 'gone from INBOX');
    const moved = { ...message, mailbox: 'Tickets/Open', uid: first.json.movedTo.uid };
    assert.ok(await flagsOnServer(moved), 'in Tickets/Open');
    const echo = await eventFor('message.deleted', message);
    assert.deepEqual(echo.body.data.causedBy, { action: 'move', requestId: 'move-1' });
    // Another request for the message now: it is gone.
    const later = await act(message, { type: 'mark-seen' });
    assert.equal(later.status, 404);
    assert.equal(later.json.title, 'Message gone');
    // Both noted in the account's action log, newest first (the retry is the same command).
    const log = await fetch(`${scenario.bridge.url}/v1/accounts/support/actions?limit=2`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const [latest, moveRun] = ((await log.json()) as { data: any[] }).data;
    assert.deepEqual(latest.outcomes, [{ kind: 'gone', detail: later.json.detail }]);
    assert.equal(moveRun.id, 'request_move-1');
    assert.deepEqual(moveRun.outcomes, [{ kind: 'done', requestId: 'move-1', movedTo: first.json.movedTo }]);
  });

  it('deletes a message, that one only: another marked \\Deleted by someone else stays', async () => {
    const doomed = await received('delete me');
    const bystander = await received('leave me');
    const lock = await scenario.appender.getMailboxLock('INBOX');
    try {
      await scenario.appender.messageFlagsAdd(String(bystander.uid), ['\\Deleted'], { uid: true });
    } finally {
      lock.release();
    }
    assert.equal((await act(doomed, { type: 'delete', requestId: 'del-1' })).status, 200);
    assert.equal(await flagsOnServer(doomed), undefined);
    assert.ok((await flagsOnServer(bystander))?.includes('\\Deleted'), 'UID EXPUNGE: the other one stays');
    const echo = await eventFor('message.deleted', doomed);
    assert.deepEqual(echo.body.data.causedBy, { action: 'delete', requestId: 'del-1' });
  });

  it('does nothing on a stale reference or a folder gone, and says so; refuses bad input naming the field, and a read token', async () => {
    const message = await received('stale');
    const stale = await act({ ...message, uidValidity: '1' }, { type: 'mark-seen' });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.title, 'Stale message reference');
    assert.match(stale.json.detail, /UIDVALIDITY/);
    assert.ok(!(await flagsOnServer(message))?.includes('\\Seen'), 'nothing was done');
    const noFolder = await act({ ...message, mailbox: 'Deleted meanwhile' }, { type: 'mark-seen' });
    assert.equal(noFolder.status, 404, JSON.stringify(noFolder.json));
    assert.equal(noFolder.json.title, 'Message gone');
    const badFlag = await act(message, { type: 'add-flags', flags: ['\\Recent'] });
    assert.equal(badFlag.status, 422);
    assert.deepEqual(
      badFlag.json.errors.map((e: { path: string }) => e.path),
      ['flags.0'],
    );
    const unknownType = await act(message, { type: 'archive' });
    assert.equal(unknownType.status, 422);
    const sameFolder = await act(message, { type: 'move', to: 'INBOX' });
    assert.equal(sameFolder.status, 422);
    assert.equal((await act(message, { type: 'mark-seen' }, readToken)).status, 403);
    assert.ok(!(await flagsOnServer(message))?.includes('\\Seen'));
  });
});

describe('message actions on a server without MOVE or UIDPLUS (local mode, Dovecot)', () => {
  let scenario: Scenario;
  let token: string;

  before(async () => {
    scenario = await startScenario({ mailboxes: ['INBOX'], withoutCapabilities: ['MOVE', 'UIDPLUS'] });
    token = (await scenario.bridge.cli('tokens', 'create', '--name', 'actions')).stdout.trim();
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });

  after(async () => {
    await scenario?.dispose();
  });

  it('refuses to move or delete (it would expunge every message marked \\Deleted), and still sets flags', async () => {
    await scenario.appender.append('INBOX', simpleMessage('no uidplus'));
    const webhook = await webhookOf(scenario, (w) => w.body.data.subject === 'no uidplus', 'the webhook');
    const data = webhook.body.data as Data;
    const act = (body: unknown) => postAction(scenario, token, data, body);
    for (const body of [{ type: 'delete' }, { type: 'move', to: 'Archive' }]) {
      const refused = await act(body);
      assert.equal(refused.status, 409, JSON.stringify(refused.json));
      assert.match(refused.json.detail, /neither MOVE nor UIDPLUS/);
    }
    assert.equal((await act({ type: 'mark-seen' })).status, 200);
  });
});

describe("a subscription's afterDelivery actions (local mode, Dovecot)", () => {
  let scenario: Scenario;
  const secret = newWebhookSecret();
  const tickets = new WebhookReceiver(secret);
  const crm = new WebhookReceiver(secret);
  let readToken: string;
  let fullToken: string;

  before(async () => {
    scenario = await startScenario({
      mailboxes: ['INBOX'],
      secret,
      extraSubscriptions: [
        {
          id: 'tickets',
          url: await tickets.listen(),
          events: ['message.received'],
          afterDelivery: [
            { type: 'add-flags', flags: ['$Ticketed'] },
            { type: 'move', to: 'Processed' },
          ],
        },
        {
          id: 'crm',
          url: await crm.listen(),
          events: ['message.received'],
          filter: { data: { subject: [{ prefix: 'crm:' }] } },
          afterDelivery: [{ type: 'mark-seen' }],
        },
      ],
    });
    readToken = (
      await scenario.bridge.cli('tokens', 'create', '--name', 'log', '--scope', 'read')
    ).stdout.trim();
    fullToken = (await scenario.bridge.cli('tokens', 'create', '--name', 'replay')).stdout.trim();
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });

  after(async () => {
    await scenario?.dispose();
    await Promise.all([tickets.close(), crm.close()]);
  });

  /** The message's flags (but the session's own \Recent) in that folder; undefined: not there (or no folder). */
  const inFolder = async (folder: string, subject: string) => {
    const folders = await scenario.appender.list();
    if (!folders.some((f) => f.path === folder)) return undefined;
    const lock = await scenario.appender.getMailboxLock(folder, { readOnly: true });
    try {
      await scenario.appender.noop();
      for await (const m of scenario.appender.fetch('1:*', { envelope: true, flags: true }))
        if (m.envelope?.subject === subject) return [...(m.flags ?? [])].filter((f) => f !== '\\Recent');
      return undefined;
    } finally {
      lock.release();
    }
  };
  const until = async (what: string, condition: () => Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    while (!(await condition())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('flags then moves a message once its endpoint answered 2xx; the deletion it causes carries causedBy', async () => {
    await scenario.appender.append('INBOX', simpleMessage('ticket one'));
    await until(
      'the move to Processed',
      async () => (await inFolder('Processed', 'ticket one')) !== undefined,
    );
    assert.deepEqual(await inFolder('Processed', 'ticket one'), ['$Ticketed']);
    assert.equal(await inFolder('INBOX', 'ticket one'), undefined);
    const received = await webhookOf(scenario, (w) => w.body.data.subject === 'ticket one', 'the event');
    const deleted = await webhookOf(
      scenario,
      (w) => w.body.type === 'message.deleted' && w.body.data.uid === received.body.data.uid,
      'the deletion',
    );
    assert.deepEqual(deleted.body.data.causedBy, { action: 'move', requestId: `after_${received.id}_1` });
  });

  it('waits until every subscription that asked has its 2xx, then runs the flag actions before the move', async () => {
    crm.respond = () => 500;
    await scenario.appender.append('INBOX', simpleMessage('crm: ticket two'));
    await tickets.waitUntil(
      () => tickets.accepted.some((w) => w.body.data.subject === 'crm: ticket two'),
      20_000,
      'the tickets delivery',
    );
    await crm.waitUntil(() => crm.attempts.length >= 2, 20_000, 'crm failing twice');
    assert.ok(await inFolder('INBOX', 'crm: ticket two'), 'not moved while crm has no 2xx');
    crm.respond = () => 200;
    await until('the move', async () => (await inFolder('Processed', 'crm: ticket two')) !== undefined);
    assert.deepEqual((await inFolder('Processed', 'crm: ticket two'))?.sort(), ['$Ticketed', '\\Seen']);
  });

  it("notes what the actions came to in the account's action log (a read token may see it)", async () => {
    const response = await fetch(`${scenario.bridge.url}/v1/accounts/support/actions`, {
      headers: { authorization: `Bearer ${readToken}` },
    });
    assert.equal(response.status, 200);
    const log = ((await response.json()) as { data: any[] }).data;
    const received = await webhookOf(scenario, (w) => w.body.data.subject === 'ticket one', 'the event');
    const run = log.find((r) => r.id === `after_${received.id}`);
    assert.deepEqual(
      run?.actions.map((a: { type: string; requestId: string }) => [a.type, a.requestId]),
      [
        ['add-flags', `after_${received.id}_0`],
        ['move', `after_${received.id}_1`],
      ],
    );
    assert.deepEqual(
      run?.outcomes.map((o: { kind: string }) => o.kind),
      ['done', 'done'],
    );
    assert.equal(run?.unreached, null);
    assert.equal(run?.messageRef, `${received.body.data.uidValidity}:${received.body.data.uid}:INBOX`);
  });
  /** Has tickets fail every attempt at a new message until its delivery is dead-lettered. */
  const deadLettered = async (subject: string) => {
    tickets.respond = () => 500;
    await scenario.appender.append('INBOX', simpleMessage(subject));
    const received = await webhookOf(scenario, (w) => w.body.data.subject === subject, 'the event');
    const letters = async () => {
      const response = await fetch(`${scenario.bridge.url}/v1/dead-letters?subscription=tickets`, {
        headers: { authorization: `Bearer ${readToken}` },
      });
      return ((await response.json()) as { data: { eventId: string }[] }).data;
    };
    await until('the dead letter', async () => (await letters()).some((l) => l.eventId === received.id));
    tickets.respond = () => 200;
    return received;
  };

  it('runs the actions after a dead letter replayed through the API gets its 2xx', async () => {
    await deadLettered('ticket three');
    assert.ok(await inFolder('INBOX', 'ticket three'), 'no actions while the endpoint fails');
    const response = await fetch(`${scenario.bridge.url}/v1/dead-letters/replay`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fullToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subscription: 'tickets' }),
    });
    assert.equal(response.status, 200);
    await until('the move', async () => (await inFolder('Processed', 'ticket three')) !== undefined);
    assert.deepEqual(await inFolder('Processed', 'ticket three'), ['$Ticketed']);
    assert.equal(await inFolder('INBOX', 'ticket three'), undefined);
  });

  it("says which actions it could not run when the CLI replays in local mode (they need the bridge's connection)", async () => {
    const received = await deadLettered('ticket four');
    const replayed = await scenario.bridge.cli('replay', '--subscription', 'tickets');
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.match(replayed.stdout, /1 delivered, 0 still failed/);
    assert.match(
      replayed.stdout,
      new RegExp(
        `after-delivery actions not run for ${received.id} -> tickets: .*POST /v1/dead-letters/replay`,
      ),
    );
    assert.deepEqual(await inFolder('INBOX', 'ticket four'), [], 'left where it was, unflagged');
  });
});
