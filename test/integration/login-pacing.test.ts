import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { PASSWORD, type Scenario, startScenario, USER, waitForIdle } from '../support/scenario.js';

const ACCOUNTS = 12;
const LOGINS_PER_SECOND = 4;

describe('a start with many mailboxes is paced, not a login storm', () => {
  let scenario: Scenario;
  let logStart = 0;
  const ids = Array.from({ length: ACCOUNTS }, (_, i) => (i === 0 ? 'support' : `paced-${i}`));

  before(async () => {
    scenario = await startScenario({
      config: {
        imap: { checkIntervalSeconds: 60, loginsPerSecond: LOGINS_PER_SECOND, maxConcurrentLogins: 2 },
      },
      extraAccounts: ids.slice(1).map((id) => ({ id, user: USER, password: PASSWORD })),
    });
    logStart = statSync(scenario.dovecot.logFile).size;
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge, ids, 30_000);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('logs in no faster than imap.loginsPerSecond, and every mailbox still reaches IDLE', () => {
    const bySecond = scenario.dovecot.loginsPerSecond(logStart);
    const logins = bySecond.reduce((sum, n) => sum + n, 0);
    assert.equal(logins, ACCOUNTS, 'one login per account');
    // Starts 250 ms apart can put five in one second of the log (one at each end), never more.
    assert.ok(Math.max(...bySecond) <= LOGINS_PER_SECOND + 1, `logins per second: ${bySecond.join(', ')}`);
    // Twelve starts 250 ms apart span 2.75 s: at least three distinct seconds of the log.
    assert.ok(bySecond.length >= 3, `logins per second: ${bySecond.join(', ')}`);
  });
});
