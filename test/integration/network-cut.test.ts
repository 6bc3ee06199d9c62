import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CutCable } from '../support/cut-cable.js';
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
        return { host: '127.0.0.1', port: await network.listen() };
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

describe('a pulled cable under an idle connection, with checks far apart', () => {
  let scenario: Scenario;
  let cable: CutCable;

  before(async () => {
    scenario = await startScenario({
      // No check comes within the test: only TCP keepalive can find the dead connection.
      config: { imap: { checkIntervalSeconds: 600 } },
      via: async (dovecot) => {
        cable = new CutCable(dovecot.tlsPort);
        return { host: cable.farAddress, port: await cable.listen() };
      },
    });
    await scenario.bridge.start();
    await waitForIdle(scenario.bridge);
  });

  after(async () => {
    await scenario?.dispose();
    await cable?.close();
  });

  it('finds the dead connection by its unanswered keepalive probes, reconnects and delivers what arrived meanwhile', async () => {
    const { bridge, appender, receiver } = scenario;
    cable.cut();
    // The kernel drops every packet: the bridge hears nothing, not even a reset. Its keepalive probes (the
    // first after 5 s of quiet, then one a second) go unanswered and the kernel fails the socket.
    await waitForLog(
      bridge,
      /mailbox connection lost.*"code":"ETIMEDOUT".*went silent and the kernel gave up on it/,
      40_000,
    );
    cable.restore();
    await appender.append('INBOX', simpleMessage('after the pulled cable'));
    await receiver.waitUntil(
      () => received(receiver).includes('after the pulled cable'),
      60_000,
      'the message after reconnecting',
    );
  });
});

async function waitForLog(bridge: Scenario['bridge'], pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(bridge.log())) {
    if (Date.now() > deadline)
      throw new Error(`no log line matching ${pattern} in ${timeoutMs} ms:\n${bridge.log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('a network cut under a polling connection (mailboxes past the connection limit)', () => {
  let scenario: Scenario;
  let network: FlakyNetwork;

  before(async () => {
    scenario = await startScenario({
      mailboxes: ['INBOX', 'Sales'],
      account: { connectionLimit: 1 },
      via: async (dovecot) => {
        network = new FlakyNetwork(dovecot.tlsPort);
        return { host: '127.0.0.1', port: await network.listen() };
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
        return { host: '127.0.0.1', port: await network.listen() };
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
