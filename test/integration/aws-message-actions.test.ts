// Acting on a message in AWS mode (the API function and the deliver function on the emulators, the watcher task,
// Dovecot): the API and the deliver function file a command, the watcher task holding the account runs it on its own
// connection, and an independent IMAP client sees the change. API Gateway and Lambda cannot run here: the API is
// invoked with the events API Gateway sends, the functions by pollers standing in for the event source mappings.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImapFlow } from 'imapflow';
import { type ApiHandler, apiFunction } from '../../src/compose/aws/api-function.js';
import { type ApiStack, dovecotAccount, invokeApi, startApiStack } from '../support/aws-api.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

type Data = { uidValidity: string; uid: number; mailbox: string; subject?: string; causedBy?: unknown };

describe('message actions in AWS mode (commands run by the watcher task holding the account)', () => {
  let dovecot: DovecotServer;
  let stack: ApiStack;
  let handler: ApiHandler;
  let token: string;
  let appender: ImapFlow;
  const hookSecret = newWebhookSecret();
  const receiver = new WebhookReceiver(hookSecret);

  const call = (method: string, path: string, body?: unknown) =>
    invokeApi(handler, method, path, { token, ...(body === undefined ? {} : { body }) });
  const act = (data: Data, body: unknown) =>
    call(
      'POST',
      `/v1/accounts/support/messages/${encodeURIComponent(`${data.uidValidity}:${data.uid}:${data.mailbox}`)}/actions`,
      body,
    );
  const waitFor = async (what: string, condition: () => boolean | Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };
  const webhookOf = async (find: (body: any) => boolean, what: string): Promise<any> => {
    await waitFor(what, () => receiver.accepted.some((w) => find(w.body)));
    return receiver.accepted.find((w) => find(w.body))?.body;
  };
  const received = async (subject: string): Promise<Data> => {
    await appender.append('INBOX', simpleMessage(subject));
    return (
      await webhookOf(
        (b) => b.type === 'message.received' && b.data.subject === subject,
        `the webhook of "${subject}"`,
      )
    ).data;
  };
  /** The message's flags as an independent client sees them; undefined when it is not in that mailbox. */
  const flagsOnServer = async (mailbox: string, uid: number) => {
    const lock = await appender.getMailboxLock(mailbox, { readOnly: true });
    try {
      await appender.noop();
      const found = await appender.fetchOne(String(uid), { flags: true }, { uid: true });
      return found ? [...(found.flags ?? [])] : undefined;
    } finally {
      lock.release();
    }
  };
  /** The UIDs of the messages with this subject in the mailbox (an independent client's SEARCH); none before it exists. */
  const uidsWithSubject = async (mailbox: string, subject: string) => {
    if (!(await appender.list()).some((folder) => folder.path === mailbox)) return [];
    const lock = await appender.getMailboxLock(mailbox, { readOnly: true });
    try {
      await appender.noop();
      return (await appender.search({ subject }, { uid: true })) || [];
    } finally {
      lock.release();
    }
  };

  before(async () => {
    dovecot = await startDovecot([{ name: 'support', password: 'support-pw' }]);
    stack = await startApiStack({ bucket: 'idlehook-actions', prefix: 'idlehook/ActionsTest/' });
    handler = apiFunction(stack.adapters(), stack.env);
    token = await stack.createToken('helpdesk');
    const subscription = await call('POST', '/v1/subscriptions', {
      id: 'hook',
      url: await receiver.listen(),
      secret: hookSecret,
    });
    assert.equal(subscription.status, 201, subscription.text);
    const account = await call(
      'POST',
      '/v1/accounts',
      dovecotAccount(dovecot, 'support', 'support', 'support-pw'),
    );
    assert.equal(account.status, 201, account.text);
    await waitFor(
      'the watcher task to IDLE on the account',
      async () => (await stack.mailboxState('support')) === 'idle',
    );
    appender = await connectAppender(dovecot, 'support', 'support-pw');
  });

  after(async () => {
    await appender?.logout();
    await stack?.stop();
    await receiver.close();
    await dovecot?.stop();
  });

  it('adds a keyword through the API: the server has it, and the change comes back with causedBy', async () => {
    const message = await received('tag me in AWS');
    const done = await act(message, { type: 'add-flags', flags: ['$Ticketed'], requestId: 'tag-1' });
    assert.equal(done.status, 200, done.text);
    assert.deepEqual(done.json, { requestId: 'tag-1' });
    assert.ok((await flagsOnServer('INBOX', message.uid))?.includes('$Ticketed'));
    const echo = await webhookOf(
      (b) =>
        b.type === 'message.flags_changed' &&
        b.data.uid === message.uid &&
        b.data.flags.includes('$Ticketed'),
      'the flag change',
    );
    assert.deepEqual(echo.data.causedBy, { action: 'add-flags', requestId: 'tag-1' });
  });

  it('moves a message; the same requestId again gets the first answer; a stale reference does nothing (409)', async () => {
    const message = await received('move me in AWS');
    const stale = await act(
      { ...message, uidValidity: String(Number(message.uidValidity) + 1) },
      {
        type: 'mark-seen',
      },
    );
    assert.equal(stale.status, 409, stale.text);
    assert.equal(stale.json.title, 'Stale message reference');
    assert.ok(!(await flagsOnServer('INBOX', message.uid))?.includes('\\Seen'), 'nothing done');

    const body = { type: 'move', to: 'Tickets', requestId: 'move-1' };
    const first = await act(message, body);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.movedTo.mailbox, 'Tickets');
    const again = await act(message, body);
    assert.deepEqual(again.json, first.json, 'the stored result, not "gone"');
    assert.equal(await flagsOnServer('INBOX', message.uid), undefined, 'gone from INBOX');
    assert.deepEqual(await uidsWithSubject('Tickets', 'move me in AWS'), [first.json.movedTo.uid]);
    const echo = await webhookOf(
      (b) => b.type === 'message.deleted' && b.data.mailbox === 'INBOX' && b.data.uid === message.uid,
      'the deletion from INBOX',
    );
    assert.deepEqual(echo.data.causedBy, { action: 'move', requestId: 'move-1' });
    const later = await act(message, { type: 'mark-seen' });
    assert.equal(later.status, 404, later.text);
    assert.equal(later.json.title, 'Message gone');
    // The account's action log: the commands themselves, newest first.
    const log = (await call('GET', '/v1/accounts/support/actions')).json.data;
    const ref = `${message.uidValidity}:${message.uid}:INBOX`;
    assert.deepEqual(
      log
        .filter((r: { messageRef: string }) => r.messageRef === ref)
        .map((r: any) => [r.actions[0].type, r.outcomes[0].kind]),
      [
        ['mark-seen', 'gone'],
        ['move', 'done'],
      ],
    );
    const moved = log.find((r: { id: string }) => r.id === 'request_move-1');
    assert.deepEqual(moved.actions, [{ type: 'move', to: 'Tickets', requestId: 'move-1' }]);
    assert.equal(moved.outcomes[0].movedTo.mailbox, 'Tickets');
  });

  it("runs a subscription's afterDelivery once its endpoint answered 2xx: flagged, then moved", async () => {
    const ticketing = new WebhookReceiver(newWebhookSecret());
    try {
      const created = await call('POST', '/v1/subscriptions', {
        id: 'ticketing',
        url: await ticketing.listen(),
        secret: ticketing.secret,
        events: ['message.received'],
        afterDelivery: [
          { type: 'add-flags', flags: ['$Ticketed'] },
          { type: 'move', to: 'Processed' },
        ],
      });
      assert.equal(created.status, 201, created.text);
      assert.deepEqual((await call('GET', '/v1/subscriptions/ticketing')).json.afterDelivery, [
        { type: 'add-flags', flags: ['$Ticketed'] },
        { type: 'move', to: 'Processed' },
      ]);
      // A warm deliver function keeps its subscriptions for 30 s: new instances see the new one.
      await stack.restartFunctions();
      const message = await received('ticket me in AWS');
      await ticketing.waitUntil(
        () => ticketing.accepted.some((w) => w.body.data.subject === 'ticket me in AWS'),
        20_000,
        'the ticketing webhook',
      );
      await waitFor(
        'the message in Processed',
        async () => (await uidsWithSubject('Processed', 'ticket me in AWS')).length === 1,
      );
      const [moved] = await uidsWithSubject('Processed', 'ticket me in AWS');
      assert.ok(
        (await flagsOnServer('Processed', moved as number))?.includes('$Ticketed'),
        'flagged before the move',
      );
      assert.equal(await flagsOnServer('INBOX', message.uid), undefined, 'gone from INBOX');
      const echo = await webhookOf(
        (b) => b.type === 'message.deleted' && b.data.mailbox === 'INBOX' && b.data.uid === message.uid,
        'the deletion from INBOX',
      );
      assert.equal(echo.data.causedBy.action, 'move');
      assert.match(echo.data.causedBy.requestId, /^after_evt_/);
    } finally {
      assert.equal((await call('DELETE', '/v1/subscriptions/ticketing')).status, 204);
      await ticketing.close();
    }
  });

  it('runs the actions after a dead letter replayed through the API gets its 2xx', async () => {
    const refusing = new WebhookReceiver(newWebhookSecret());
    refusing.respond = () => 400;
    try {
      const created = await call('POST', '/v1/subscriptions', {
        id: 'refusing',
        url: await refusing.listen(),
        secret: refusing.secret,
        events: ['message.received'],
        afterDelivery: [{ type: 'add-flags', flags: ['$Replayed'] }],
      });
      assert.equal(created.status, 201, created.text);
      await stack.restartFunctions();
      const message = await received('refused, then replayed');
      await waitFor(
        'the dead letter',
        async () => (await call('GET', '/v1/dead-letters?subscription=refusing')).json.data.length > 0,
      );
      assert.ok(
        !(await flagsOnServer('INBOX', message.uid))?.includes('$Replayed'),
        'no actions before a 2xx',
      );
      refusing.respond = () => 200;
      const replayed = await call('POST', '/v1/dead-letters/replay', { subscription: 'refusing' });
      assert.equal(replayed.status, 200, replayed.text);
      assert.equal(replayed.json.delivered, 1);
      await waitFor('the keyword on the server', async () =>
        Boolean((await flagsOnServer('INBOX', message.uid))?.includes('$Replayed')),
      );
    } finally {
      assert.equal((await call('DELETE', '/v1/subscriptions/refusing')).status, 204);
      await refusing.close();
    }
  });

  it('fences claims by the shard lease: a task under an older lease cannot take a command from the new holder', async () => {
    const commands = stack.adapters().actionCommands;
    const command = {
      id: 'fence-1',
      message: { account: 'nobody', mailbox: 'INBOX', uidValidity: '1', uid: 1 },
      steps: [{ action: { type: 'mark-seen' as const }, requestId: 'fence-1' }],
      tries: 1,
      filedAt: Date.now(),
    };
    await commands.file(command);
    assert.equal(await commands.claim(command, 'old-task', { epoch: 3 }), true);
    assert.equal(
      await commands.claim(command, 'new-task', { epoch: 4 }),
      true,
      'the new holder takes it over',
    );
    assert.equal(await commands.claim(command, 'old-task', { epoch: 3 }), false, 'and keeps it');
    await commands.finish(command, { outcomes: [], unreached: 'old' }, 'old-task');
    assert.equal(
      await commands.result('nobody', 'fence-1'),
      undefined,
      "the old task's result is not stored",
    );
    await commands.finish(command, { outcomes: [{ kind: 'done', requestId: 'fence-1' }] }, 'new-task');
    assert.deepEqual(await commands.result('nobody', 'fence-1'), {
      outcomes: [{ kind: 'done', requestId: 'fence-1' }],
    });
    assert.equal(
      await commands.claim(command, 'new-task', { epoch: 9 }),
      false,
      'run: nobody claims it again',
    );
  });
});
