import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { BridgeProcess } from '../support/bridge.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { accountBehind, commandOf, ImapProxy, type ProxyScript } from '../support/imap-proxy.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

/**
 * What large providers are documented to do, imitated by a scripted proxy in front of a real Dovecot: Gmail,
 * Microsoft 365 and the others cannot be reached from here. Each quirk names where it is documented.
 */

const USER = { name: 'support', password: 'correct horse' };

interface Quirk {
  readonly dovecot: DovecotServer;
  readonly proxy: ImapProxy;
  readonly receiver: WebhookReceiver;
  readonly bridge: BridgeProcess;
  dispose(): Promise<void>;
}

const running: Quirk[] = [];
after(async () => {
  await Promise.all(running.map((quirk) => quirk.dispose()));
});

async function behind(
  script: ProxyScript,
  options: { readonly mailboxes?: string[]; readonly setUp?: (dovecot: DovecotServer) => Promise<void> } = {},
): Promise<Quirk> {
  const dovecot = await startDovecot([USER]);
  await options.setUp?.(dovecot);
  const proxy = new ImapProxy(dovecot.plainPort, script);
  const port = await proxy.listen();
  const receiver = new WebhookReceiver(newWebhookSecret());
  const url = await receiver.listen();
  const bridge = await BridgeProcess.create(
    {
      delivery: { retryScheduleSeconds: [0.2, 0.2, 0.2], overloadFloorSeconds: 0.2 },
      reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
      imap: { checkIntervalSeconds: 1 },
      accounts: [accountBehind(port, USER.name, options.mailboxes)],
      subscriptions: [{ id: 'helpdesk', url, secret: { env: 'TEST_WEBHOOK_SECRET' } }],
    },
    { TEST_IMAP_PASSWORD: USER.password, TEST_WEBHOOK_SECRET: receiver.secret },
  );
  await bridge.start();
  const quirk: Quirk = {
    dovecot,
    proxy,
    receiver,
    bridge,
    dispose: async () => {
      await bridge.dispose();
      await proxy.close();
      await receiver.close();
      await dovecot.stop();
    },
  };
  running.push(quirk);
  return quirk;
}

const accountErrors = (quirk: Quirk) => quirk.receiver.ofType('account.error').map((w) => w.body.data);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function append(quirk: Quirk, mailbox: string, subject: string): Promise<void> {
  const client = await connectAppender(quirk.dovecot, USER.name, USER.password);
  try {
    await client.append(mailbox, simpleMessage(subject));
  } finally {
    await client.logout();
  }
}

describe('provider quirks, imitated in front of a real server', () => {
  it("Gmail's X-GM-THRID (X-GM-EXT-1): messages Gmail files in one conversation share a threadId, headers or not (developers.google.com/gmail/imap/imap-extensions)", async () => {
    const quirk = await behind({
      // Dovecot has no X-GM-* fetch items: the proxy takes them out of the command and answers one thread id.
      rewriteCommand: (line) => line.replace(/ X-GM-(MSGID|THRID|LABELS)/g, ''),
      fromServer: (line) => {
        if (/CAPABILITY /.test(line)) return [line.replace(/(CAPABILITY [^\]]*)/, '$1 X-GM-EXT-1')];
        if (/^\* \d+ FETCH \(.*UID /.test(line))
          return [line.replace(/^(\* \d+ FETCH \()/, '$1X-GM-THRID 1790000000000000001 ')];
        return undefined;
      },
    });
    await sleep(1500);
    await append(quirk, 'INBOX', 'first of a Gmail conversation');
    await append(quirk, 'INBOX', 'second, with unrelated headers');
    await quirk.receiver.waitUntil(
      () => quirk.receiver.ofType('message.received').length === 2,
      15_000,
      'both messages',
    );
    const [first, second] = quirk.receiver.ofType('message.received').map((w) => w.body.data);
    assert.notEqual(first?.messageId, second?.messageId);
    assert.deepEqual(first?.references, []);
    assert.match(first?.threadId ?? '', /^thr_[0-9a-f]{32}$/);
    assert.equal(second?.threadId, first?.threadId, "Gmail's thread id, not the headers'");
  });

  it('Gmail "NO [ALERT] Too many simultaneous connections" at login: one account.error naming connectionLimit, no retry storm (support.google.com/mail/answer/97150, MailKit #377)', async () => {
    const quirk = await behind({
      fromClient: (line) => {
        const { tag, name } = commandOf(line);
        return name === 'LOGIN' || name === 'AUTHENTICATE'
          ? [`${tag} NO [ALERT] Too many simultaneous connections. (Failure)`]
          : undefined;
      },
    });
    await quirk.receiver.waitUntil(() => accountErrors(quirk).length === 1, 10_000, 'account.error');
    const [error] = accountErrors(quirk);
    assert.equal(error?.kind, 'authentication');
    assert.match(error?.message, /refuses more simultaneous connections/);
    assert.match(error?.message, /connectionLimit/);
    assert.doesNotMatch(error?.message, /wrong user name or password/);
    await sleep(3000);
    assert.equal(quirk.proxy.logins, 1, 'the next login waits minutes, as after a refused password');
  });

  it('"NO [UNAVAILABLE]" at login (RFC 5530; Yahoo and Microsoft 365 answer so when their backend is down): said as such, not as a wrong password', async () => {
    const quirk = await behind({
      fromClient: (line) => {
        const { tag, name } = commandOf(line);
        return name === 'LOGIN' || name === 'AUTHENTICATE'
          ? [`${tag} NO [UNAVAILABLE] Temporary authentication failure, try again later`]
          : undefined;
      },
    });
    await quirk.receiver.waitUntil(() => accountErrors(quirk).length === 1, 10_000, 'account.error');
    const [error] = accountErrors(quirk);
    assert.match(error?.message, /temporarily unable to log anyone in/);
    assert.doesNotMatch(error?.message, /wrong user name or password/);
    await sleep(2000);
    assert.equal(quirk.proxy.logins, 1);
  });

  it('CONDSTORE offered but no HIGHESTMODSEQ at SELECT (RFC 7162 3.1.2.2 lets a server keep a mailbox without MODSEQs): new mail and deletions still come', async () => {
    const quirk = await behind({
      fromServer: (line) => (/^\* OK \[(HIGHESTMODSEQ \d+|NOMODSEQ)\]/.test(line) ? [] : undefined),
    });
    await sleep(1000);
    await append(quirk, 'INBOX', 'no-modseq');
    await quirk.receiver.waitUntil(
      () => quirk.receiver.ofType('message.received').length === 1,
      10_000,
      'mail',
    );
    const uid = quirk.receiver.ofType('message.received')[0]?.body.data.uid as number;
    const client = await connectAppender(quirk.dovecot, USER.name, USER.password);
    try {
      const lock = await client.getMailboxLock('INBOX');
      try {
        await client.messageDelete(String(uid), { uid: true });
      } finally {
        lock.release();
      }
    } finally {
      await client.logout();
    }
    await quirk.receiver.waitUntil(
      () => quirk.receiver.ofType('message.deleted').length === 1,
      10_000,
      'delete',
    );
    assert.equal(quirk.receiver.ofType('message.deleted')[0]?.body.data.uid, uid);
    assert.deepEqual(accountErrors(quirk), []);
  });

  it('Microsoft 365 "BAD User is authenticated but not connected" after login: an authentication error, retried minutes apart (imapflow #314, MailKit #1494, imapsync Office365 FAQ)', async () => {
    const quirk = await behind({
      fromClient: (line, connection) => {
        const { tag, name } = commandOf(line);
        return connection.loggedIn && ['SELECT', 'EXAMINE', 'LIST', 'STATUS', 'NAMESPACE'].includes(name)
          ? [`${tag} BAD User is authenticated but not connected.`]
          : undefined;
      },
    });
    await quirk.receiver.waitUntil(() => accountErrors(quirk).length === 1, 10_000, 'account.error');
    const [error] = accountErrors(quirk);
    assert.deepEqual([error?.kind, error?.code], ['authentication', 'AUTHENTICATED_NOT_CONNECTED']);
    assert.match(error?.message, /IMAP\.AccessAsUser\.All/);
    assert.ok(error?.nextLoginAttemptAt, 'says when it tries again');
    assert.ok(Date.parse(error?.nextLoginAttemptAt) - Date.now() > 60_000, 'minutes away, not seconds');
    await sleep(3000);
    assert.equal(quirk.proxy.logins, 1);
  });

  it('Microsoft 365 "BAD Request is throttled. Suggested Backoff Time: N milliseconds": waited out on the same connection, nothing lost (imap_tools #135, imapsync #198)', async () => {
    let throttled = 0;
    const quirk = await behind({
      fromClient: (line, connection) => {
        const { tag, name } = commandOf(line);
        if (!connection.loggedIn || name !== 'UID FETCH' || throttled >= 2) return undefined;
        throttled += 1;
        return [`${tag} BAD Request is throttled. Suggested Backoff Time: 1500 milliseconds`];
      },
    });
    await sleep(1000); // past the first SELECT: the message is new mail, not part of the baseline
    await append(quirk, 'INBOX', 'while-throttled');
    await quirk.receiver
      .waitUntil(() => quirk.receiver.ofType('message.received').length === 1, 30_000, 'the message')
      .catch((error: unknown) => {
        throw new Error(
          `${String(error)} (throttled ${throttled} times): ${JSON.stringify(accountErrors(quirk))}\n${quirk.bridge.log()}`,
        );
      });
    assert.equal(throttled, 2);
    assert.ok(quirk.proxy.logins <= 2, `${quirk.proxy.logins} logins`);
  });

  it('a SELECT answer the sync cannot use (no UIDVALIDITY anywhere): one account.error, then at most a login every half minute', async () => {
    const quirk = await behind({
      fromServer: (line) => (/^\* OK \[UIDVALIDITY \d+\]/.test(line) ? [] : undefined),
      fromClient: (line, connection) => {
        const { tag, name } = commandOf(line);
        return connection.loggedIn && name === 'STATUS' ? [`${tag} OK Status completed.`] : undefined;
      },
    });
    await quirk.receiver.waitUntil(() => accountErrors(quirk).length === 1, 10_000, 'account.error');
    const [error] = accountErrors(quirk);
    assert.deepEqual([error?.kind, error?.code], ['sync', 'SERVER_PROTOCOL']);
    assert.match(error?.message, /no UIDVALIDITY/);
    await sleep(20_000);
    assert.equal(quirk.proxy.logins, 1, 'no second login within 20 s');
    assert.equal(accountErrors(quirk).length, 1, 'reported once');
    const status = await quirk.bridge.status();
    assert.equal(status.accounts.support?.state, 'error');
    assert.ok(status.accounts.support?.nextLoginAttemptAt);
  });

  it('IDLE ended by the server with "* BYE" again and again (Gmail, Outlook, mailbox.org drop long IDLEs: node-imap #125, chatmail/core #5093): all mail arrives, no error, no leaked listeners', async () => {
    const quirk = await behind({
      fromClient: (line, connection) => {
        if (commandOf(line).name === 'IDLE')
          setTimeout(() => {
            connection.sendToClient(['* BYE Connection closed for inactivity']);
            connection.close();
          }, 100);
        return undefined;
      },
    });
    // The first connection takes its baseline (initialSync "new") before any of this mail arrives.
    await sleep(2000);
    for (let i = 0; i < 4; i++) {
      await append(quirk, 'INBOX', `between-byes-${i}`);
      await sleep(4000);
    }
    await quirk.receiver
      .waitUntil(() => quirk.receiver.ofType('message.received').length === 4, 15_000, 'every message')
      .catch((error: unknown) => {
        throw new Error(
          `${String(error)} after ${quirk.proxy.connections} connections\n${quirk.bridge.log()}`,
        );
      });
    assert.deepEqual(accountErrors(quirk), [], 'a dropped connection is routine');
    assert.ok(quirk.proxy.connections >= 12, `reconnected ${quirk.proxy.connections} times`);
    assert.doesNotMatch(quirk.bridge.log(), /MaxListenersExceededWarning/);
  });

  it('Gmail\'s "[Gmail]/All Mail" (\\All, RFC 6154) repeats every message: "*" leaves it out, so nothing is announced twice (X-GM-EXT-1 servers)', async () => {
    const quirk = await behind(
      {
        // Dovecot has no X-GM-* fetch items: the proxy takes them out again, the answer just lacks them.
        rewriteCommand: (line) => line.replace(/ X-GM-(MSGID|THRID|LABELS)/g, ''),
        fromServer: (line) => {
          if (/CAPABILITY /.test(line))
            return [line.replace(/(CAPABILITY [^\]]*)/, '$1 X-GM-EXT-1 SPECIAL-USE')];
          const listed = /^\* LIST \(([^)]*)\) (\S+) "?AllMail"?$/.exec(line);
          return listed ? [line.replace(`(${listed[1]})`, `(${listed[1]} \\All)`)] : undefined;
        },
      },
      {
        mailboxes: ['*'],
        setUp: async (dovecot) => {
          const client = await connectAppender(dovecot, USER.name, USER.password);
          await client.mailboxCreate('AllMail');
          await client.logout();
        },
      },
    );
    await sleep(2000);
    const client = await connectAppender(quirk.dovecot, USER.name, USER.password);
    try {
      await client.append('INBOX', simpleMessage('once-only'));
      await client.append('AllMail', simpleMessage('once-only'));
    } finally {
      await client.logout();
    }
    await quirk.receiver
      .waitUntil(() => quirk.receiver.ofType('message.received').length === 1, 10_000, 'the message')
      .catch(async (error: unknown) => {
        throw new Error(
          `${String(error)}: ${JSON.stringify(await quirk.bridge.status())}\n${quirk.bridge.log()}`,
        );
      });
    await sleep(2500);
    assert.deepEqual(
      quirk.receiver.ofType('message.received').map((w) => w.body.data.mailbox),
      ['INBOX'],
    );
    const watched = Object.keys((await quirk.bridge.status()).accounts.support?.mailboxes ?? {});
    assert.deepEqual(watched, ['INBOX']);
  });
});
