import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FlakyNetwork } from '../support/flaky-network.js';
import { simpleMessage } from '../support/mail.js';
import { type Scenario, startScenario, waitForIdle } from '../support/scenario.js';

describe('a network cut that leaves the IDLE connection silently dead', () => {
  let scenario: Scenario;
  let network: FlakyNetwork;

  before(async () => {
    scenario = await startScenario({
      via: async (dovecot) => {
        network = new FlakyNetwork(dovecot.tlsPort);
        return network.listen();
      },
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });

  after(async () => {
    await scenario?.dispose();
    await network?.close();
  });

  it('notices the dead connection by its unanswered check, reconnects and delivers what arrived meanwhile', async () => {
    const { bridge, appender, receiver } = scenario;
    network.cutOff();
    await new Promise((r) => setTimeout(r, 1000));
    network.restore();
    // Mail lands on the server; the old connection will never hear of it.
    await appender.append('INBOX', simpleMessage('during the silence'));
    await receiver.waitUntil(() => receiver.accepted.length === 1, 30_000, 'the message after reconnecting');
    assert.equal(receiver.accepted[0]?.body.data.subject, 'during the silence');
    assert.match(bridge.log(), /mailbox connection lost.*the server did not answer for \d+ s/);
  });
});

describe('a network cut under a polling connection (mailboxes past the connection limit)', () => {
  let scenario: Scenario;
  let network: FlakyNetwork;

  before(async () => {
    scenario = await startScenario({
      mailboxes: ['INBOX', 'Sales'],
      account: { connectionLimit: 1 },
      via: async (dovecot) => {
        network = new FlakyNetwork(dovecot.tlsPort);
        return network.listen();
      },
    });
    await scenario.bridge.start();
    for (let i = 0; i < 100; i++) {
      const mailboxes = (await scenario.bridge.status()).accounts.support?.mailboxes;
      if (mailboxes?.INBOX?.state === 'polling' && mailboxes.Sales?.state === 'polling') break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    await scenario?.dispose();
    await network?.close();
  });

  it('notices the unanswered poll, reconnects and delivers what arrived meanwhile', async () => {
    const { bridge, appender, receiver } = scenario;
    assert.equal((await bridge.status()).accounts.support?.mailboxes.Sales?.state, 'polling');
    network.cutOff();
    await new Promise((r) => setTimeout(r, 1000));
    network.restore();
    await appender.append('Sales', simpleMessage('during the silence, polled'));
    await receiver.waitUntil(() => receiver.accepted.length === 1, 30_000, 'the message after reconnecting');
    assert.equal(receiver.accepted[0]?.body.data.subject, 'during the silence, polled');
    assert.match(bridge.log(), /mailbox connection lost.*the server did not answer for \d+ s/);
  });
});

const received = (receiver: Scenario['receiver']) =>
  receiver.ofType('message.received').map((w) => w.body.data.subject);

describe('a connection that breaks during SELECT', () => {
  let scenario: Scenario;
  let network: FlakyNetwork;

  before(async () => {
    scenario = await startScenario({
      account: { host: '127.0.0.1', security: 'none' },
      via: async (dovecot) => {
        network = new FlakyNetwork(dovecot.plainPort);
        return network.listen();
      },
    });
  });

  after(async () => {
    await scenario?.dispose();
    await network?.close();
  });

  it('survives a reset (imapflow emits error before close) and goes on to deliver', async () => {
    const { bridge, appender, receiver } = scenario;
    network.breakOnce(/ (SELECT|EXAMINE) /, 'reset');
    await bridge.start();
    await waitForIdle(bridge);
    assert.ok(bridge.running, 'the process is still up');
    await appender.append('INBOX', simpleMessage('after the reset'));
    await receiver.waitUntil(() => received(receiver).includes('after the reset'), 20_000, 'the message');
  });

  it('gives up on a SELECT the server never answers, reconnects and delivers', async () => {
    const { bridge, appender, receiver } = scenario;
    network.breakOnce(/ (SELECT|EXAMINE) /, 'silence');
    assert.equal(await bridge.kill('SIGTERM'), 0);
    await bridge.start();
    // Well before imapflow's own 5-minute socket timeout.
    await waitForIdle(bridge, undefined, 30_000);
    await appender.append('INBOX', simpleMessage('after the silence'));
    await receiver.waitUntil(() => received(receiver).includes('after the silence'), 20_000, 'the message');
    assert.match(bridge.log(), /the server did not answer for \d+ s/);
  });
});
