import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { type AwsEnvironment, loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { replayDeadLetters } from '../../src/pipeline/replay.js';
import type { SecretResolver } from '../../src/ports/index.js';
import { composeAwsAdapters, deliverFunction, parseFunction } from '../../src/runtime/aws-composition.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import type { DovecotServer } from '../support/dovecot.js';
import { pollOnce } from '../support/event-source.js';
import type { FlakyNetwork } from '../support/flaky-network.js';
import { UNFETCHED_LINKS, withLinkKey } from '../support/link-endpoint.js';
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
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  let env: AwsEnvironment;
  let watcherEnv: NodeJS.ProcessEnv;
  let adapters: ReturnType<typeof composeAwsAdapters>;
  let watcher: { process: ChildProcess; healthUrl: string } | undefined;
  let functionsRunning: Promise<void> | undefined;
  let stopFunctions = false;
  const watcherLog: string[] = [];
  const receiver = new WebhookReceiver(newWebhookSecret());
  // Secrets Manager cannot run here: a resolver with the same contract reads this map.
  const secrets: SecretResolver = {
    resolve: async (arn) => (arn === WEBHOOK_ARN ? receiver.secret : assert.fail(`no secret ${arn}`)),
  };

  before(async () => {
    ({ dovecot, network } = await startChaosMailServer(USER));
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    const variables = {
      IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
      IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
      IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
      IDLEHOOK_BLOB_BUCKET: await aws.createBucket('idlehook-chaos'),
      ...UNFETCHED_LINKS,
      IDLEHOOK_ACCOUNTS_REFRESH_SECONDS: '5',
      IDLEHOOK_MAILBOX_CHECK_SECONDS: '1',
      // A restarted watcher waits this long for the killed one's shard leases.
      IDLEHOOK_LEASE_SECONDS: '6',
      IDLEHOOK_LOG_LEVEL: 'error',
      IDLEHOOK_RETRY_SCHEDULE_SECONDS: '1,2,4,8,16,30,30',
      // The receiver listens on loopback, which SSRF protection refuses unless allowlisted.
      IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
    };
    env = loadAwsEnvironment(variables);
    watcherEnv = {
      ...process.env,
      ...variables,
      CHAOS_DYNAMODB_ENDPOINT: dynamo.endpoint,
      CHAOS_SQS_ENDPOINT: aws.endpoint,
      CHAOS_SECRETS: JSON.stringify({ [PASSWORD_ARN]: USER.password }),
    };
    adapters = composeAwsAdapters(env, {
      dynamo: dynamo.client,
      sqs: aws.sqs,
      s3: aws.s3,
      secrets: withLinkKey(secrets),
    });
    await adapters.accounts.put({
      id: 'chaos',
      host: '127.0.0.1',
      port: network.port,
      security: 'tls',
      user: USER.name,
      passwordSecretArn: PASSWORD_ARN,
      tlsCa: readFileSync(dovecot.caFile, 'utf8'),
      tlsServername: 'localhost',
      mailboxes: MAILBOXES,
      initialSync: 'new',
    });
    await adapters.subscriptions.put({ id: 'hook', url: await receiver.listen(), secretArn: WEBHOOK_ARN });

    // Stand-ins for the Lambda event source mappings (which cannot run here): pollers that invoke the real
    // handlers, one on the FIFO ingest queue and several on the delivery queue.
    const parse = parseFunction(adapters);
    const deliver = deliverFunction(adapters, env);
    const poll = async (queueUrl: string, handler: typeof parse) => {
      while (!stopFunctions) {
        const received = await pollOnce(aws.sqs, queueUrl, handler).catch(() => 0);
        if (received === 0) await sleep(50);
      }
    };
    functionsRunning = Promise.all([
      poll(env.IDLEHOOK_INGEST_QUEUE_URL, parse),
      ...Array.from({ length: DELIVER_INSTANCES }, () => poll(env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver)),
    ]).then(() => undefined);
  });

  after(async () => {
    if (process.env.CHAOS_WATCHER_LOG) writeFileSync(process.env.CHAOS_WATCHER_LOG, watcherLog.join(''));
    watcher?.process.kill('SIGKILL');
    stopFunctions = true;
    await functionsRunning;
    await adapters?.http.close();
    await receiver.close();
    await network?.close();
    await aws?.stop();
    await dynamo?.stop();
    await dovecot?.stop();
  });

  async function startWatcher(): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', resolve(import.meta.dirname, '../support/aws-watcher-process.ts')],
      { env: watcherEnv, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stderr?.on('data', (d: Buffer) => watcherLog.push(d.toString()));
    const healthUrl = await new Promise<string>((resolveUrl, reject) => {
      let output = '';
      child.stdout?.on('data', (d: Buffer) => {
        output += d.toString();
        watcherLog.push(d.toString());
        const match = /HEALTH (\S+)/.exec(output);
        if (match?.[1]) resolveUrl(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`watcher exited (${code}):\n${watcherLog.join('')}`)));
    });
    watcher = { process: child, healthUrl };
  }

  async function queueDepth(queueUrl: string): Promise<number> {
    const { Attributes = {} } = await aws.sqs.send(
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
            const health = (await (await fetch(watcher?.healthUrl ?? '')).json()) as {
              accounts: Record<string, { mailboxes: Record<string, { state: string }> }>;
            };
            const states = Object.values(health.accounts.chaos?.mailboxes ?? {}).map((m) => m.state);
            if (states.length === MAILBOXES.length && states.every((s) => s === 'idle')) return;
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
        drained: async () =>
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
