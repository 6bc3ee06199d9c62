// Per-message work of the AWS functions, measured on local API servers (dynalite, fauxqs): handler time per
// message and the AWS API requests each message costs, by operation. These requests are what AWS bills; the
// times exclude AWS network latency (see docs/deploying-to-aws.md, "What it costs").
// Usage: npm run bench:aws [-- --messages 500]

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { composeAwsAdapters, deliverFunction, parseFunction } from '../src/compose/aws/aws-composition.js';
import { startAwsWatcher } from '../src/compose/aws/aws-watcher.js';
import { loadAwsEnvironment } from '../src/config/aws-environment.js';
import { ownsEverything } from '../src/ownership/owns-everything.js';
import { startDynamoDb, startSqsAndS3 } from '../test/support/aws-emulators.js';
import { startDovecot } from '../test/support/dovecot.js';
import { sqsEvent } from '../test/support/event-source.js';
import { UNFETCHED_LINKS, withLinkKey } from '../test/support/link-endpoint.js';
import { connectAppender, simpleMessage } from '../test/support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../test/support/receiver.js';
import { writeBenchResult } from './results.js';
import { ms, summary } from './stats.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '500' } } });
const total = Number(values.messages);

const dynamo = await startDynamoDb();
/** DynamoDB's billed units (read and write request units) so far, every partition and index together. */
const dynamoUnits = () => {
  let read = 0;
  let write = 0;
  for (const units of dynamo.partitions.totals.values()) {
    read += units.read;
    write += units.write;
  }
  return { read, write };
};
const unitsSince = (start: { read: number; write: number }) => {
  const now = dynamoUnits();
  return { read: now.read - start.read, write: now.write - start.write };
};
const aws = await startSqsAndS3();
const requests = new Map<string, number>();
type Instrumentable = {
  middlewareStack: {
    add(
      middleware: (
        next: (args: unknown) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: unknown) => Promise<unknown>,
      options: object,
    ): void;
  };
};
for (const [service, client] of [
  ['DynamoDB', dynamo.client],
  ['SQS', aws.sqs],
  ['S3', aws.s3],
] as const) {
  (client as unknown as Instrumentable).middlewareStack.add(
    (next, context) => async (args) => {
      const key = `${service} ${context.commandName?.replace(/Command$/, '')}`;
      requests.set(key, (requests.get(key) ?? 0) + 1);
      return next(args);
    },
    // At the deserialize step: only requests that went out and came back (a presigned URL never does).
    { step: 'deserialize', name: 'countRequests' },
  );
}
const env = loadAwsEnvironment({
  IDLEHOOK_TABLE_NAME: await dynamo.createTable(),
  IDLEHOOK_INGEST_QUEUE_URL: await aws.createQueue('ingest.fifo', { FifoQueue: 'true' }),
  IDLEHOOK_DELIVERY_QUEUE_URL: await aws.createQueue('delivery'),
  IDLEHOOK_BLOB_BUCKET: await aws.createBucket('bench'),
  ...UNFETCHED_LINKS,
  IDLEHOOK_LOG_LEVEL: 'error',
  // The receiver listens on loopback, which SSRF protection refuses unless allowlisted.
  IDLEHOOK_ALLOWED_NETWORKS: '127.0.0.0/8,::1',
});
const receiver = new WebhookReceiver(newWebhookSecret());
const secrets = withLinkKey({
  resolve: async (arn) => (arn === 'arn:password' ? 'support-pw' : receiver.secret),
});
const adapters = composeAwsAdapters(env, { dynamo: dynamo.client, sqs: aws.sqs, s3: aws.s3, secrets });
await adapters.subscriptions.put({ id: 'hook', url: await receiver.listen(), secretArn: 'arn:hook' });
const parse = parseFunction(adapters);
const deliver = deliverFunction(adapters, env);

// The event source mapping's own receives and deletes go through an uncounted client.
const eventSource = new SQSClient({
  endpoint: await aws.sqs.config.endpoint?.().then((e) => `${e.protocol}//${e.hostname}:${e.port}`),
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
// The watcher's part, run for real: a Dovecot mailbox set with a backlog, the watcher task catching up on it
// (raw sources to S3, arrivals to the FIFO queue in batches, cursor updates), until every arrival is queued.
const BODY = 'The printer on the third floor is out of toner again, could someone have a look?\r\n'.repeat(
  40,
);
// Ten mailboxes, so FIFO batches mix message groups as they would with several watched mailboxes.
const mailboxes = ['INBOX', ...Array.from({ length: 9 }, (_, i) => `Box${i + 1}`)];
const dovecot = await startDovecot([{ name: 'support', password: 'support-pw' }]);
const appender = await connectAppender(dovecot, 'support', 'support-pw');
for (const mailbox of mailboxes.slice(1)) await appender.mailboxCreate(mailbox);
for (let i = 0; i < total; i++)
  await appender.append(mailboxes[i % mailboxes.length] as string, simpleMessage(`bench-${i}`, BODY));
await appender.logout();
await adapters.accounts.put({
  id: 'support',
  host: '127.0.0.1',
  port: dovecot.tlsPort,
  security: 'tls',
  user: 'support',
  passwordSecretArn: 'arn:password',
  tlsCa: readFileSync(dovecot.caFile, 'utf8'),
  tlsServername: 'localhost',
  mailboxes,
  initialSync: 'all',
});
const queued = async () => {
  const { Attributes = {} } = await eventSource.send(
    new GetQueueAttributesCommand({ QueueUrl: env.IDLEHOOK_INGEST_QUEUE_URL, AttributeNames: ['All'] }),
  );
  return Number(Attributes.ApproximateNumberOfMessages ?? 0);
};
requests.clear();
const unitsAtStart = dynamoUnits();
const watcher = await startAwsWatcher(env, {
  clients: { dynamo: dynamo.client, sqs: aws.sqs, s3: aws.s3, secrets },
  // Per-message requests only: the lease traffic is per task and time, priced on its own in docs/deploying-to-aws.md.
  ownership: ownsEverything,
  healthPort: 0,
  heartbeat: async () => {},
});
const watchStarted = performance.now();
while ((await queued()) < total) {
  if (performance.now() - watchStarted > 300_000)
    throw new Error(`only ${await queued()} of ${total} queued`);
  await new Promise((r) => setTimeout(r, 100));
}
const watcherMs = performance.now() - watchStarted;
await watcher.stop();
const watcherRequests = new Map(requests);
const watcherUnits = unitsSince(unitsAtStart);
requests.clear();

async function drain(queueUrl: string, handler: typeof parse, perMessage: number[]): Promise<void> {
  for (;;) {
    const { Messages = [] } = await eventSource.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return;
    const started = performance.now();
    const { batchItemFailures } = await handler(sqsEvent(Messages));
    perMessage.push((performance.now() - started) / Messages.length);
    if (batchItemFailures.length > 0) throw new Error(`${batchItemFailures.length} records failed`);
    await eventSource.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}
const parseTimes: number[] = [];
const unitsBeforeParse = dynamoUnits();
await drain(env.IDLEHOOK_INGEST_QUEUE_URL, parse, parseTimes);
const parseRequests = new Map(requests);
const parseUnits = unitsSince(unitsBeforeParse);
requests.clear();
const deliverTimes: number[] = [];
const unitsBeforeDeliver = dynamoUnits();
await drain(env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver, deliverTimes);
const deliverRequests = new Map(requests);
const deliverUnits = unitsSince(unitsBeforeDeliver);
if (receiver.accepted.length !== total) throw new Error(`delivered ${receiver.accepted.length} of ${total}`);

const perMessage = (counts: Map<string, number>) =>
  [...counts].map(([k, v]) => `${k} ${(v / total).toFixed(2)}`).join(', ');
console.log(
  `\nidlehook AWS functions, ${total} messages in batches of 10 (local API servers, no AWS latency)`,
);
console.log(
  `  parse handler   per message p50 ${ms(summary(parseTimes).p50)}  p95 ${ms(summary(parseTimes).p95)}`,
);
console.log(
  `  deliver handler per message p50 ${ms(summary(deliverTimes).p50)}  p95 ${ms(summary(deliverTimes).p95)}`,
);
console.log(
  `  watcher catch-up (real task code, Dovecot over TLS): ${total} messages in ${(watcherMs / 1000).toFixed(1)} s`,
);
console.log(`  requests per message, watcher: ${perMessage(watcherRequests)}`);
console.log(`  requests per message, parse:   ${perMessage(parseRequests)}`);
console.log(`  requests per message, deliver: ${perMessage(deliverRequests)}`);
const unitsPerMessage = (units: { read: number; write: number }) =>
  `${(units.read / total).toFixed(2)} read, ${(units.write / total).toFixed(2)} write`;
console.log(
  `  DynamoDB units per message: watcher ${unitsPerMessage(watcherUnits)}; parse ${unitsPerMessage(parseUnits)}; deliver ${unitsPerMessage(deliverUnits)}`,
);
console.log(
  "  (the functions' own SQS receives and deletes are made by the Lambda event source mapping, not counted here)",
);
const perMessageOf = (counts: Map<string, number>) =>
  Object.fromEntries([...counts].map(([request, n]) => [request, n / total]));
const stage = (counts: Map<string, number>, units: { read: number; write: number }, times?: number[]) => ({
  requestsPerMessage: perMessageOf(counts),
  dynamoUnitsPerMessage: { read: units.read / total, write: units.write / total },
  ...(times ? { handlerMsPerMessage: { p50: summary(times).p50, p95: summary(times).p95 } } : {}),
});
console.log(
  `  written to ${writeBenchResult('aws-handlers', {
    messages: total,
    bodyBytes: Buffer.byteLength(BODY),
    watcher: stage(watcherRequests, watcherUnits),
    parse: stage(parseRequests, parseUnits, parseTimes),
    deliver: stage(deliverRequests, deliverUnits, deliverTimes),
  })}`,
);

eventSource.destroy();
await adapters.http.close();
await receiver.close();
await aws.stop();
await dynamo.stop();
await dovecot.stop();
