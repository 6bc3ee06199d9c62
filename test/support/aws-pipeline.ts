import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type composeAwsAdapters,
  deliverFunction,
  parseFunction,
} from '../../src/compose/aws/aws-composition.js';
import type { AwsEnvironment } from '../../src/config/aws-environment.js';
import { startDynamoDb, startSqsAndS3 } from './aws-emulators.js';
import { pollOnce } from './event-source.js';
import { UNFETCHED_LINKS } from './link-endpoint.js';

/** A stack on the emulators: DynamoDB, SQS and S3 servers, a fresh table, both queues and a bucket. */
export async function startEmulatedStack(bucket: string) {
  const dynamo = await startDynamoDb();
  const aws = await startSqsAndS3();
  const variables: Record<string, string> = {
    IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
    IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
    IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
    IDLEHOOK_BLOB_BUCKET: await aws.createBucket(bucket),
    ...UNFETCHED_LINKS,
    // The receiver listens on loopback, which SSRF protection refuses unless allowlisted.
    IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8',
  };
  return {
    dynamo,
    aws,
    variables,
    clients: { dynamo: dynamo.client, sqs: aws.sqs, s3: aws.s3 },
    /** The environment of a watcher process (aws-watcher-process.ts): these variables, the endpoints, secrets. */
    watcherEnv: (extra: Record<string, string>, secrets: ReadonlyMap<string, string>): NodeJS.ProcessEnv => ({
      ...process.env,
      ...variables,
      ...extra,
      CHAOS_DYNAMODB_ENDPOINT: dynamo.endpoint,
      CHAOS_SQS_ENDPOINT: aws.endpoint,
      CHAOS_SECRETS: JSON.stringify(Object.fromEntries(secrets)),
    }),
    stop: async () => {
      await aws.stop();
      await dynamo.stop();
    },
  };
}

export type EmulatedStack = Awaited<ReturnType<typeof startEmulatedStack>>;

/**
 * Stand-ins for the Lambda event source mappings (which cannot run here): pollers that invoke the real
 * handlers, one on the FIFO ingest queue and `deliverInstances` on the delivery queue. `stop` ends them.
 */
export function runFunctions(
  adapters: ReturnType<typeof composeAwsAdapters>,
  env: AwsEnvironment,
  sqs: Awaited<ReturnType<typeof startSqsAndS3>>['sqs'],
  deliverInstances = 1,
): { stop(): Promise<void> } {
  let stopping = false;
  const parse = parseFunction(adapters);
  const deliver = deliverFunction(adapters, env);
  const poll = async (queueUrl: string, handler: typeof parse) => {
    while (!stopping) if ((await pollOnce(sqs, queueUrl, handler).catch(() => 0)) === 0) await sleep(50);
  };
  const running = Promise.all([
    poll(env.IDLEHOOK_INGEST_QUEUE_URL, parse),
    ...Array.from({ length: deliverInstances }, () => poll(env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver)),
  ]);
  return {
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

/** The watcher task as a child process (aws-watcher-process.ts); resolves once its /health answers. */
export async function spawnWatcher(
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<{ readonly child: ChildProcess; readonly healthUrl: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(import.meta.dirname, 'aws-watcher-process.ts')],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  child.stderr?.on('data', (d: Buffer) => {
    output.push(d.toString());
    log(d.toString());
  });
  const healthUrl = await new Promise<string>((resolveUrl, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      output.push(d.toString());
      log(d.toString());
      const match = /HEALTH (\S+)/.exec(output.join(''));
      if (match?.[1]) resolveUrl(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`watcher exited (${code}):\n${output.join('')}`)));
  });
  return { child, healthUrl };
}
