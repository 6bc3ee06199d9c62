import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario } from '../support/scenario.js';

describe('a wrong password', () => {
  let scenario: Scenario;

  before(async () => {
    // The "other" account has a wrong password and three mailboxes: three sessions that all want to log in.
    scenario = await startScenario({
      extraAccounts: [
        {
          id: 'broken',
          user: 'other',
          password: 'not-the-password',
          mailboxes: ['INBOX', 'Sent', 'Archive'],
        },
      ],
    });
    await scenario.bridge.start();
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('reports the failure once, keeps running and does not storm the server with logins', async () => {
    const { bridge, receiver, dovecot, appender } = scenario;
    await receiver.waitUntil(() => receiver.ofType('account.error').length >= 1, 15_000, 'account.error');
    // Watch for a while: a naive reconnect loop would have logged in dozens of times by now.
    await new Promise((r) => setTimeout(r, 6000));

    assert.equal(dovecot.loginFailures('other'), 1, 'one failed login across all three mailboxes');
    const errors = receiver.ofType('account.error');
    assert.equal(errors.length, 1, 'one account.error event for one failure');
    const data = errors[0]?.body.data;
    assert.equal(data?.account, 'broken');
    assert.equal(data?.code, 'AUTHENTICATION_FAILED');
    assert.match(
      data?.message,
      /rejected the login for other: wrong user name or password .*Check the user name/,
    );
    assert.doesNotMatch(JSON.stringify(data), /not-the-password/);
    assert.deepEqual(receiver.schemaViolations, [], 'account.error matches its JSON Schema');
    assert.doesNotMatch(bridge.log(), /not-the-password/, 'the password is never logged');

    const broken = (await bridge.status()).accounts.broken ?? assert.fail('no status for the broken account');
    assert.equal(broken.state, 'error');
    assert.equal(broken.errorCode, 'AUTHENTICATION_FAILED');
    const nextAttempt = Date.parse(broken.nextLoginAttemptAt ?? '');
    assert.ok(nextAttempt - Date.now() > 4 * 60 * 1000, 'next login attempt minutes away');

    assert.ok(bridge.running, 'the bridge keeps running');
    await appender.append('INBOX', simpleMessage('healthy account still works'));
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length === 1,
      10_000,
      'healthy delivery',
    );
  });
});
