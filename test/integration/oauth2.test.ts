import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BridgeProcess } from '../support/bridge.js';
import { type DovecotServer, startDovecot } from '../support/dovecot.js';
import { connectAppender, simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { waitForIdle } from '../support/scenario.js';
import { TokenServer } from '../support/token-server.js';

describe('OAuth2 accounts (XOAUTH2 against Dovecot, tokens from a real token endpoint)', () => {
  const tokens = new TokenServer();
  const receiver = new WebhookReceiver(newWebhookSecret());
  let dovecot: DovecotServer;
  let bridge: BridgeProcess;
  const subjects = () => receiver.ofType('message.received').map((w) => w.body.data.subject);
  async function deliver(subject: string): Promise<void> {
    const appender = await connectAppender(dovecot, 'support', 'appender-password');
    await appender.append('INBOX', simpleMessage(subject));
    await appender.logout();
    await receiver.waitUntil(() => subjects().includes(subject), 20_000, subject);
  }
  async function restartDovecot(): Promise<void> {
    await dovecot.halt();
    await dovecot.start();
  }

  before(async () => {
    const base = await tokens.listen();
    tokens.rotateRefreshTokens = true;
    dovecot = await startDovecot([{ name: 'support', password: 'appender-password' }], {
      oauth2IntrospectionUrl: `${base}/introspect`,
    });
    bridge = await BridgeProcess.create(
      {
        reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 1, authFailureDelaySeconds: 60 },
        imap: { checkIntervalSeconds: 1 },
        accounts: [
          {
            id: 'support',
            host: 'localhost',
            port: dovecot.tlsPort,
            tls: { ca: dovecot.caFile },
            user: 'support',
            oauth2: {
              tokenUrl: `${base}/token`,
              clientId: 'idlehook-test',
              refreshToken: { env: 'TEST_REFRESH_TOKEN' },
            },
          },
        ],
        subscriptions: [{ id: 'hook', url: await receiver.listen(), secret: { env: 'TEST_WEBHOOK_SECRET' } }],
      },
      { TEST_REFRESH_TOKEN: tokens.issueRefreshToken(), TEST_WEBHOOK_SECRET: receiver.secret },
    );
    await bridge.start();
    await waitForIdle(bridge);
  });
  after(async () => {
    await bridge?.dispose();
    await dovecot?.stop();
    await receiver.close();
    await tokens.close();
  });

  it('logs in with an access token from the refresh token and delivers mail', async () => {
    await deliver('over oauth2');
    assert.equal(tokens.refreshes, 1, 'one access token serves every mailbox connection');
    assert.ok(tokens.introspections >= 1, 'Dovecot checked the bearer token');
  });

  it('the doctor logs in with the stored access token, so it does not strand a rotated refresh token', async () => {
    const result = await bridge.cli('doctor');
    assert.equal(result.code, 0, result.stdout);
    assert.match(result.stdout, /ok +login +logged in as support \(one attempt\)/);
    assert.equal(tokens.refreshes, 1, 'no refresh: the stored access token was still valid');
  });

  it('keeps the rotated refresh token: a restart still logs in though the configured one was retired', async () => {
    assert.equal(await bridge.kill('SIGTERM'), 0);
    await bridge.start();
    await waitForIdle(bridge);
    await deliver('after a restart');
    assert.equal(tokens.refreshes, 1, 'the stored access token was still valid: no refresh needed');
  });

  it('refreshes an access token the server stopped accepting, at once and without an account.error', async () => {
    tokens.revokeAccessTokens();
    await restartDovecot();
    await deliver('after the access token was revoked');
    assert.equal(tokens.refreshes, 2);
    assert.equal(receiver.ofType('account.error').length, 0);
  });

  it('refreshes before an access token expires', async () => {
    tokens.accessTokenSeconds = 60; // within the 5-minute margin: every login takes a new one
    tokens.revokeAccessTokens();
    await restartDovecot();
    await deliver('with short-lived tokens');
    const refreshed = tokens.refreshes;
    await restartDovecot();
    await deliver('with short-lived tokens, again');
    assert.ok(tokens.refreshes > refreshed, 'a token close to expiry is not presented');
    assert.equal(receiver.ofType('account.error').length, 0);
  });

  it('a revoked grant becomes one account.error that says to authorize again, not a login storm', async () => {
    tokens.revokeEverything();
    const failuresBefore = dovecot.loginFailures('support');
    await restartDovecot();
    await receiver.waitUntil(() => receiver.ofType('account.error').length === 1, 20_000, 'account.error');
    const error = receiver.ofType('account.error')[0]?.body.data;
    assert.equal(error?.code, 'OAUTH2_REFRESH_REJECTED');
    assert.equal(error?.kind, 'authentication');
    assert.match(error?.message, /refused the refresh token \(invalid_grant\).*Authorize idlehook again/);
    await new Promise((r) => setTimeout(r, 2000));
    assert.ok(dovecot.loginFailures('support') - failuresBefore <= 1, 'at most the one rejected token');
    assert.equal(receiver.ofType('account.error').length, 1);
    // The token server's tokens are 32 hex digits; so are event ids, which the log names on purpose.
    const withoutEventIds = bridge.log().replace(/\bevt_[0-9a-f]{32}\b/g, 'evt_');
    assert.doesNotMatch(withoutEventIds, /[0-9a-f]{32}/, 'no token value in the log');
    const doctor = await bridge.cli('doctor');
    assert.equal(doctor.code, 1);
    assert.match(
      doctor.stdout,
      /FAIL +login +no OAuth2 access token: .*refused the refresh token \(invalid_grant\)/,
    );
  });
});
