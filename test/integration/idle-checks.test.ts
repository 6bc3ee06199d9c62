// The periodic check of a mailbox in IDLE, seen on the wire: a scripted proxy in front of a real Dovecot records
// the bridge's commands, and can swallow the server's EXISTS to imitate a notification that never came. Run twice:
// as Dovecot, whose IDLE polls as it starts, and behind a greeting that names no server family, as Gmail's or
// Exchange's would (there every check polls with NOOP first).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeProcess } from '../support/bridge.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { accountBehind, commandOf, ImapProxy } from '../support/imap-proxy.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { waitForIdle } from '../support/scenario.js';

const USER = { name: 'support', password: 'correct horse' };

for (const server of [
  { family: 'Dovecot, which polls as IDLE starts', greeting: undefined, poll: '' },
  { family: 'a server that names no family', greeting: '* OK IMAP4rev1 server ready', poll: 'NOOP ' },
])
  describe(`the periodic check of an idle mailbox, on ${server.family}`, () => {
    let dovecot: DovecotServer;
    let proxy: ImapProxy;
    let bridge: BridgeProcess;
    const receiver = new WebhookReceiver(newWebhookSecret());
    /** The bridge's commands by connection, each by name ("UID FETCH", "STATUS", "DONE", ...), in order. */
    const commands = new Map<number, string[]>();
    /** The LIST commands as sent, whole. */
    const lists: string[] = [];
    let swallowExists = false;

    before(async () => {
      dovecot = await startDovecot([USER]);
      proxy = new ImapProxy(dovecot.plainPort, {
        greeting: () => server.greeting,
        fromClient: (line, connection) => {
          const name = commandOf(line).name || line.trim().toUpperCase();
          if (name === 'LIST') lists.push(line);
          const sent = commands.get(connection.id) ?? [];
          sent.push(name);
          commands.set(connection.id, sent);
          return undefined;
        },
        // While IDLE runs, the server's news about new mail is lost on the way.
        fromServer: (line, connection) =>
          swallowExists && connection.idling && /^\* \d+ EXISTS/i.test(line) ? [] : undefined,
      });
      const port = await proxy.listen();
      const url = await receiver.listen();
      const creator = await connectAppender(dovecot, USER.name, USER.password);
      await creator.mailboxCreate('Archive');
      await creator.logout();
      bridge = await BridgeProcess.create(
        {
          imap: { checkIntervalSeconds: 1 },
          accounts: [accountBehind(port, USER.name, ['INBOX', 'Archive'])],
          subscriptions: [{ id: 'helpdesk', url, secret: { env: 'TEST_WEBHOOK_SECRET' } }],
        },
        { TEST_IMAP_PASSWORD: USER.password, TEST_WEBHOOK_SECRET: receiver.secret },
      );
      await bridge.start();
      await waitForIdle(bridge);
      const appender = await connectAppender(dovecot, USER.name, USER.password);
      await appender.append('INBOX', simpleMessage('already there'));
      await appender.logout();
      await receiver.waitUntil(
        () => receiver.ofType('message.received').length === 1,
        15_000,
        'the first message',
      );
    });

    after(async () => {
      await bridge?.dispose();
      await proxy?.close();
      await receiver.close();
      await dovecot?.stop();
    });

    it(`checks a quiet mailbox with ${server.poll ? 'NOOP and ' : ''}one command, and fetches nothing: LIST-STATUS where it lists the folders, else STATUS`, async () => {
      // One check to settle on what the sync after the first message left (it may still fetch once).
      await sleep(1_500);
      commands.clear();
      lists.length = 0;
      await sleep(3_500);
      // Each connection's checks: what it sent between leaving IDLE (DONE) and re-entering it. What follows the
      // last IDLE is a check the window cut short, not a quiet one: left out.
      const checks = [...commands.values()].map((sent) =>
        sent
          .join(' ')
          .split('IDLE')
          .slice(0, -1)
          .map((check) => check.trim())
          .filter((check) => check.startsWith('DONE')),
      );
      const described = JSON.stringify(checks);
      assert.equal(checks.length, 2, `one connection a mailbox: ${described}`);
      for (const [index, expected] of [`DONE ${server.poll}LIST`, `DONE ${server.poll}STATUS`].entries()) {
        const ofMailbox = checks.find((c) => c.includes(expected)) ?? [];
        assert.ok(
          ofMailbox.length >= 2,
          `checks ran on the ${index === 0 ? 'listing' : 'other'} connection: ${described}`,
        );
        // The poll where one is needed, then one command: a quiet check fetches nothing, lists no subscriptions.
        assert.deepEqual(
          new Set(ofMailbox),
          new Set([expected]),
          `a quiet check is ${expected}: ${described}`,
        );
      }
      assert.ok(
        lists.length > 0 && lists.every((line) => /RETURN \(.*STATUS \(.*UIDNEXT.*MESSAGES/i.test(line)),
        `the listing carries each folder's STATUS: ${lists.join(' | ')}`,
      );
    });

    it('still finds mail whose EXISTS never arrived, at the next check', async () => {
      swallowExists = true;
      try {
        const appender = await connectAppender(dovecot, USER.name, USER.password);
        await appender.append('INBOX', simpleMessage('announced by nobody'));
        await appender.logout();
        await receiver.waitUntil(
          () =>
            receiver.ofType('message.received').some((w) => w.body.data.subject === 'announced by nobody'),
          10_000,
          'the message the check found',
        );
      } finally {
        swallowExists = false;
      }
    });
  });
