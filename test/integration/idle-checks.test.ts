// The periodic check of a mailbox in IDLE, seen on the wire: a scripted proxy in front of a real Dovecot records
// the bridge's commands, and can swallow the server's EXISTS to imitate a notification that never came.
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

describe('the periodic check of an idle mailbox', () => {
  let dovecot: DovecotServer;
  let proxy: ImapProxy;
  let bridge: BridgeProcess;
  const receiver = new WebhookReceiver(newWebhookSecret());
  /** The bridge's commands, by name ("UID FETCH", "STATUS", ...), in order. */
  const commands: string[] = [];
  let swallowExists = false;

  before(async () => {
    dovecot = await startDovecot([USER]);
    proxy = new ImapProxy(dovecot.plainPort, {
      fromClient: (line) => {
        commands.push(commandOf(line).name);
        return undefined;
      },
      // While IDLE runs, the server's news about new mail is lost on the way.
      fromServer: (line, connection) =>
        swallowExists && connection.idling && /^\* \d+ EXISTS/i.test(line) ? [] : undefined,
    });
    const port = await proxy.listen();
    const url = await receiver.listen();
    bridge = await BridgeProcess.create(
      {
        imap: { checkIntervalSeconds: 1 },
        accounts: [accountBehind(port, USER.name)],
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

  it('asks STATUS of a mailbox where nothing happened (and LIST for the folder tree), and fetches nothing', async () => {
    // One check to settle on what the sync after the first message left (it may still fetch once).
    await sleep(1_500);
    commands.length = 0;
    await sleep(3_500);
    const seen = [...commands];
    assert.ok(seen.filter((name) => name === 'STATUS').length >= 2, `checks ran: ${seen.join(', ')}`);
    assert.deepEqual(
      seen.filter((name) => name.includes('FETCH') || name.includes('SEARCH') || name === 'LSUB'),
      [],
      `a quiet check fetches nothing, nor lists subscriptions: ${seen.join(', ')}`,
    );
  });

  it('still finds mail whose EXISTS never arrived, at the next check', async () => {
    swallowExists = true;
    try {
      const appender = await connectAppender(dovecot, USER.name, USER.password);
      await appender.append('INBOX', simpleMessage('announced by nobody'));
      await appender.logout();
      await receiver.waitUntil(
        () => receiver.ofType('message.received').some((w) => w.body.data.subject === 'announced by nobody'),
        10_000,
        'the message the check found',
      );
    } finally {
      swallowExists = false;
    }
  });
});
