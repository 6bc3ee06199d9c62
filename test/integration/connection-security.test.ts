import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BridgeProcess } from '../support/bridge.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { waitForIdle } from '../support/scenario.js';

const PASSWORD = 'pw-for-tests';

describe('TLS, STARTTLS and plain text: secure by default, never a silent downgrade', () => {
  let tlsServer: DovecotServer;
  let plainServer: DovecotServer;
  let receiver: WebhookReceiver;
  let bridge: BridgeProcess;
  const errorOf = (account: string) =>
    receiver.ofType('account.error').find((w) => w.body.data.account === account)?.body.data;

  before(async () => {
    tlsServer = await startDovecot([
      { name: 'starttls-user', password: PASSWORD },
      { name: 'untrusted-user', password: PASSWORD },
    ]);
    plainServer = await startDovecot(
      [
        { name: 'nostarttls-user', password: PASSWORD },
        { name: 'plain-user', password: PASSWORD },
        { name: 'tls-on-plain-user', password: PASSWORD },
      ],
      { tls: false },
    );
    receiver = new WebhookReceiver(newWebhookSecret());
    const account = (id: string, user: string, rest: Record<string, unknown>) => ({
      id,
      host: '127.0.0.1',
      user,
      password: PASSWORD,
      tls: { servername: 'localhost' },
      ...rest,
    });
    bridge = await BridgeProcess.create({
      reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
      accounts: [
        account('starttls', 'starttls-user', {
          port: tlsServer.plainPort,
          security: 'starttls',
          tls: { ca: tlsServer.caFile, servername: 'localhost' },
        }),
        account('untrusted', 'untrusted-user', { port: tlsServer.tlsPort, security: 'tls' }),
        account('no-starttls', 'nostarttls-user', { port: plainServer.plainPort, security: 'starttls' }),
        account('plain', 'plain-user', { port: plainServer.plainPort, security: 'none' }),
        account('tls-on-plain', 'tls-on-plain-user', { port: plainServer.plainPort, security: 'tls' }),
      ],
      subscriptions: [{ id: 'all', url: await receiver.listen(), secret: receiver.secret }],
    });
    await bridge.start();
    await receiver.waitUntil(
      () => receiver.ofType('account.error').length >= 3,
      20_000,
      'three account errors',
    );
  });

  after(async () => {
    await bridge?.dispose();
    await receiver?.close();
    await tlsServer?.stop();
    await plainServer?.stop();
  });

  it('refuses a certificate it cannot verify, before sending the password', () => {
    const error = errorOf('untrusted');
    assert.equal(error?.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.match(error?.message, /not trusted.*"tls": \{ "ca"/);
    assert.equal(tlsServer.loginAttempts('untrusted-user'), 0);
  });

  it('fails STARTTLS when the server does not offer it, and never logs in in plain text', () => {
    const error = errorOf('no-starttls');
    assert.equal(error?.code, 'STARTTLS_UNAVAILABLE');
    assert.match(error?.message, /refusing to continue in plain text/);
    assert.equal(plainServer.loginAttempts('nostarttls-user'), 0);
  });

  it('explains TLS spoken to a plain-text port', () => {
    const error = errorOf('tls-on-plain');
    assert.equal(error?.code, 'TLS_MISMATCH');
    assert.match(error?.message, /try "security": "starttls"/);
    assert.equal(plainServer.loginAttempts('tls-on-plain-user'), 0);
  });

  it('delivers over STARTTLS with an added CA, and in plain text on loopback when asked to', async () => {
    await waitForIdle(bridge, ['starttls', 'plain']);
    const viaStarttls = await connectAppender(tlsServer, 'starttls-user', PASSWORD);
    await viaStarttls.append('INBOX', simpleMessage('over starttls'));
    await viaStarttls.logout();
    const viaPlain = await connectAppender(plainServer, 'plain-user', PASSWORD);
    await viaPlain.append('INBOX', simpleMessage('over plain text'));
    await viaPlain.logout();
    await receiver.waitUntil(() => receiver.ofType('message.received').length === 2, 10_000, 'two messages');
    const byAccount = new Map(
      receiver.ofType('message.received').map((w) => [w.body.data.account, w.body.data.subject]),
    );
    assert.deepEqual(Object.fromEntries(byAccount), { starttls: 'over starttls', plain: 'over plain text' });
    assert.equal(errorOf('starttls'), undefined);
    assert.equal(errorOf('plain'), undefined);
    assert.equal(receiver.invalidSignatures, 0);
  });
});
