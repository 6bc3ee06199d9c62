import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { composeAwsAdapters, fileAfterDelivery } from '../../src/compose/aws/aws-composition.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { replayDeadLetters } from '../../src/pipeline/replay.js';
import type { SecretResolver } from '../../src/ports/services.js';
import { storedDovecotAccount } from '../support/accounts.js';
import {
  type EmulatedStack,
  runFunctions,
  spawnWatcher,
  startEmulatedStack,
} from '../support/aws-pipeline.js';
import type { DovecotServer } from '../support/dovecot.js';
import type { FlakyNetwork } from '../support/flaky-network.js';
import { withLinkKey } from '../support/link-endpoint.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';
import {
  assertNothingLost,
  CHAOS,
  MAILBOXES,
  printReport,
  runChaos,
  startChaosMailServer,
} from './chaos-run.js';

const USER = { name: 'chaos', password: 'chaos-password' };
const PASSWORD_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/accounts/chaos';
const WEBHOOK_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/subscriptions/hook';
/** How many deliver function instances run at once (the event source mapping's concurrency). */
const DELIVER_INSTANCES = 4;

describe(`chaos, AWS shape on the emulators: ${CHAOS.messages} messages, the watcher task SIGKILLed`, () => {
  let dovecot: DovecotServer;
  let network: FlakyNetwork;
  let stack: EmulatedStack;
  let env: AwsEnvironment;
  let watcherEnv: NodeJS.ProcessEnv;
  let adapters: ReturnType<typeof composeAwsAdapters>;
  let watcher: { process: ChildProcess; healthUrl: string } | undefined;
  let functions: ReturnType<typeof runFunctions> | undefined;
  const watcherLog: string[] = [];
  const receiver = new WebhookReceiver(newWebhookSecret());
  // Secrets Manager cannot run here: a resolver with the same contract reads this map.
  const secrets: SecretResolver = {
    resolve: async (arn) => (arn === WEBHOOK_ARN ? receiver.secret : assert.fail(`no secret ${arn}`)),
  };

  before(async () => {
    ({ dovecot, network } = await startChaosMailServer(USER));
    stack = await startEmulatedStack('idlehook-chaos');
    const variables = {
      ...stack.variables,
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '5',
      IDLEHOOK_MAILBOX_CHECK_SECONDS: '1',
      // A restarted watcher waits this long for the killed one's shard leases.
      IDLEHOOK_LEASE_SECONDS: '6',
      IDLEHOOK_LOG_LEVEL: 'error',
      IDLEHOOK_RETRY_SCHEDULE_SECONDS: '1,2,4,8,16,30,30',
    };
    env = loadAwsEnvironment(variables);
    watcherEnv = stack.watcherEnv(variables, new Map([[PASSWORD_ARN, USER.password]]));
    adapters = composeAwsAdapters(env, { ...stack.clients, secrets: withLinkKey(secrets) });
    await adapters.accounts.put(
      storedDovecotAccount(dovecot, 'chaos', {
        port: network.port,
        user: USER.name,
        passwordSecretArn: PASSWORD_ARN,
        mailboxes: MAILBOXES,
      }),
    );
    await adapters.subscriptions.put({ id: 'hook', url: await receiver.listen(), secretArn: WEBHOOK_ARN });

    functions = runFunctions(adapters, env, stack.aws.sqs, DELIVER_INSTANCES);
  });

  after(async () => {
    if (process.env.CHAOS_WATCHER_LOG) writeFileSync(process.env.CHAOS_WATCHER_LOG, watcherLog.join(''));
    watcher?.process.kill('SIGKILL');
    await functions?.stop();
    await adapters?.http.close();
    await receiver.close();
    await network?.close();
    await stack?.stop();
    await dovecot?.stop();
  });

  async function startWatcher(): Promise<void> {
    const { child, healthUrl } = await spawnWatcher(watcherEnv, (line) => watcherLog.push(line));
    watcher = { process: child, healthUrl };
  }

  /** Every mailbox caught up and in IDLE: the restarted watcher holds the account's shard again. */
  async function everyMailboxIdle(): Promise<boolean> {
    const response = await fetch(watcher?.healthUrl ?? '').catch(() => undefined);
    if (!response) return false;
    const health = (await response.json()) as {
      accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
    };
    const states = Object.values(health.accounts.chaos?.mailboxes ?? {}).map((m) => m.state);
    return states.length === MAILBOXES.length && states.every((s) => s === 'idle');
  }

  async function queueDepth(queueUrl: string): Promise<number> {
    const { Attributes = {} } = await stack.aws.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
    );
    return (
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
    );
  }

  it('delivers every message; duplicates are few and keep their webhook-id; no dead letter survives replay', async () => {
    const report = await runChaos(
      {
        start: startWatcher,
        watching: async () => {
          for (let i = 0; i < 200; i++) {
            if (await everyMailboxIdle()) return;
            await sleep(100);
          }
          assert.fail(`the watcher never reached IDLE:\n${watcherLog.join('')}`);
        },
        kill: async () => {
          const child = watcher?.process;
          if (!child || child.exitCode !== null || child.signalCode !== null) return;
          const exited = once(child, 'exit');
          child.kill('SIGKILL');
          await exited;
        },
        // Empty queues alone prove nothing while a restarted watcher still waits out the killed one's leases.
        drained: async () =>
          (await everyMailboxIdle()) &&
          (await queueDepth(env.IDLEHOOK_INGEST_QUEUE_URL)) +
            (await queueDepth(env.IDLEHOOK_DELIVERY_QUEUE_URL)) ===
            0,
        replayDeadLetters: async () => {
          await replayDeadLetters(
            {},
            {
              log: adapters.state,
              attempts: adapters.attempts,
              subscriptionStatus: adapters.state,
              subscriptions: new Map((await adapters.subscriptions.list()).map((s) => [s.id, s])),
              http: adapters.http,
              clock: adapters.clock,
              timeoutMs: 5000,
              delivered: fileAfterDelivery(adapters),
            },
          );
        },
        deadLetterCount: async () => (await adapters.state.listDeadLetters()).length,
      },
      dovecot,
      network,
      receiver,
      USER,
    );
    printReport('AWS shape', report);
    assertNothingLost(report, receiver);
  });
});
