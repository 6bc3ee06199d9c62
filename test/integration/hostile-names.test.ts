import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROTOTYPE_NAMES } from '../support/hostile-names.js';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

// Object.prototype's member names, as a sender or a mailbox owner may choose them: header names in a message,
// folder names watched through "*". Each must be delivered, and so must the mail behind it.
describe('hostile names end to end: headers and folders named like Object.prototype members', () => {
  let scenario: Scenario;
  const received = () => scenario.receiver.ofType('message.received').map((w) => w.body.data);

  before(async () => {
    scenario = await startScenario({
      mailboxes: ['INBOX', ...PROTOTYPE_NAMES],
      account: { mailboxes: ['*'] },
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });
  after(async () => {
    await scenario?.dispose();
  });

  it('watches every folder, and /status lists each by its own name', async () => {
    const status = await scenario.bridge.status();
    const mailboxes = Object.keys(status.accounts.support?.mailboxes ?? {}).sort();
    assert.deepEqual(mailboxes, ['INBOX', ...PROTOTYPE_NAMES].sort());
    assert.equal(({} as Record<string, unknown>).state, undefined);
  });

  it('delivers messages with hostile header names, and the message behind them', async () => {
    for (const name of PROTOTYPE_NAMES)
      await scenario.appender.append(
        'INBOX',
        simpleMessage(`header ${name}`, 'x', `${name}: a\r\n${name}: b\r\n`),
      );
    await scenario.appender.append('INBOX', simpleMessage('behind the hostile ones'));
    await scenario.receiver.waitUntil(
      () => received().length === PROTOTYPE_NAMES.length + 1,
      20_000,
      'every message in INBOX',
    );
    for (const name of PROTOTYPE_NAMES) {
      const event = received().find((data) => data.subject === `header ${name}`);
      assert.ok(event, `the message with a ${name} header`);
      assert.deepEqual(Object.getOwnPropertyDescriptor(event.headers, name.toLowerCase())?.value, ['a', 'b']);
    }
    assert.ok(received().some((data) => data.subject === 'behind the hostile ones'));
  });

  it('delivers mail filed into folders with hostile names', async () => {
    const before = received().length;
    for (const name of PROTOTYPE_NAMES) await scenario.appender.append(name, simpleMessage(`in ${name}`));
    await scenario.receiver.waitUntil(
      () => received().length === before + PROTOTYPE_NAMES.length,
      20_000,
      'a message in every folder',
    );
    for (const name of PROTOTYPE_NAMES)
      assert.equal(received().find((data) => data.subject === `in ${name}`)?.mailbox, name);
  });
});
