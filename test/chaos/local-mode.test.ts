import { after, before, describe, it } from 'node:test';
import { BridgeProcess } from '../support/bridge.js';
import type { DovecotServer } from '../support/dovecot.js';
import type { FlakyNetwork } from '../support/flaky-network.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import { waitForIdle } from '../support/scenario.js';
import {
  assertNothingLost,
  CHAOS,
  MAILBOXES,
  printReport,
  runChaos,
  startChaosMailServer,
} from './chaos-run.js';

const USER = { name: 'chaos', password: 'chaos-password' };

describe(`chaos, local mode: ${CHAOS.messages} messages through kills, a Dovecot restart, a network cut and a failing endpoint`, () => {
  let dovecot: DovecotServer;
  let network: FlakyNetwork;
  let bridge: BridgeProcess;
  const receiver = new WebhookReceiver(newWebhookSecret());

  before(async () => {
    ({ dovecot, network } = await startChaosMailServer(USER));
    bridge = await BridgeProcess.create(
      {
        logLevel: 'warn',
        delivery: { retryScheduleSeconds: [1, 2, 4, 8, 16, 30, 30] },
        reconnect: { minDelaySeconds: 0.2, maxDelaySeconds: 2 },
        imap: { checkIntervalSeconds: 1 },
        accounts: [
          {
            id: 'chaos',
            host: '127.0.0.1',
            port: network.port,
            user: USER.name,
            password: { env: 'CHAOS_IMAP_PASSWORD' },
            tls: { ca: dovecot.caFile, servername: 'localhost' },
            mailboxes: MAILBOXES,
          },
        ],
        subscriptions: [
          { id: 'hook', url: await receiver.listen(), secret: { env: 'CHAOS_WEBHOOK_SECRET' } },
        ],
      },
      { CHAOS_IMAP_PASSWORD: USER.password, CHAOS_WEBHOOK_SECRET: receiver.secret },
    );
  });

  after(async () => {
    await bridge?.dispose();
    await receiver.close();
    await network?.close();
    await dovecot?.stop();
  });

  it('delivers every message; duplicates are few and keep their webhook-id; no dead letter survives replay', async () => {
    const report = await runChaos(
      {
        start: () => bridge.start(),
        watching: () => waitForIdle(bridge, ['chaos']),
        kill: async () => {
          await bridge.kill('SIGKILL');
        },
        drained: async () => {
          if (!bridge.running) return false;
          const { queues, accounts } = await bridge.status();
          const mailboxes = Object.values(accounts.chaos?.mailboxes ?? {});
          return (
            mailboxes.length === MAILBOXES.length &&
            mailboxes.every((m) => m.state === 'idle') &&
            Object.values(queues).every((depth) => depth === 0)
          );
        },
        replayDeadLetters: async () => {
          await bridge.cli('replay');
        },
        deadLetterCount: async () =>
          (JSON.parse((await bridge.cli('deliveries', '--failed', '--json')).stdout) as unknown[]).length,
      },
      dovecot,
      network,
      receiver,
      USER,
    );
    printReport('local mode', report);
    assertNothingLost(report, receiver);
  });
});
