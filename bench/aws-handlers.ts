// Per-message work of the AWS functions, measured on local API servers (dynalite, fauxqs): handler time per
// message and the AWS API requests each message costs, by operation. These requests are what AWS bills; the
// times exclude AWS network latency (see README, "What it costs").
// Usage: npm run bench:aws [-- --messages 500]

import { parseArgs } from 'node:util';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { loadAwsEnvironment } from '../src/config/aws-environment.js';
import { messageEventId } from '../src/domain/events.js';
import { type MessageArrival, rawBlobKey } from '../src/pipeline/records.js';
import { composeAwsAdapters, deliverFunction, parseFunction } from '../src/runtime/aws-composition.js';
import { startDynamoDb, startSqsAndS3 } from '../test/support/aws-emulators.js';
import { sqsEvent } from '../test/support/event-source.js';
import { UNFETCHED_LINKS, withLinkKey } from '../test/support/link-endpoint.js';
import { simpleMessage } from '../test/support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../test/support/receiver.js';
import { ms, summary } from './stats.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '500' } } });
const total = Number(values.messages);

const dynamo = await startDynamoDb();
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
const adapters = composeAwsAdapters(env, {
  dynamo: dynamo.client,
  sqs: aws.sqs,
  s3: aws.s3,
  secrets: withLinkKey({ resolve: async () => receiver.secret }),
});
await adapters.subscriptions.put({ id: 'hook', url: await receiver.listen(), secretArn: 'arn:hook' });
const parse = parseFunction(adapters);
const deliver = deliverFunction(adapters, env);

requests.clear();
// The watcher's part, as it does it: raw source to S3, then the arrival to the FIFO queue.
const BODY = 'The printer on the third floor is out of toner again, could someone have a look?\r\n'.repeat(
  40,
);
for (let uid = 1; uid <= total; uid++) {
  // Ten mailboxes, so FIFO batches mix message groups as they would with several watched mailboxes.
  const coordinates = { account: 'support', mailbox: `INBOX-${uid % 10}`, uidValidity: '1', uid };
  const eventId = messageEventId('message.received', coordinates);
  const arrival: MessageArrival = {
    kind: 'message',
    eventId,
    ...coordinates,
    modseq: String(uid),
    flags: [],
    internalDate: new Date().toISOString(),
    size: BODY.length,
    rawKey: rawBlobKey(eventId),
    detectedAt: new Date().toISOString(),
  };
  await adapters.blobs.put(arrival.rawKey, Buffer.from(simpleMessage(`bench-${uid}`, BODY)));
  await adapters.ingest.send([{ deduplicationKey: eventId, body: arrival }]);
}
const watcherRequests = new Map(requests);
requests.clear();

// The event source mapping's own receives and deletes go through an uncounted client.
const eventSource = new SQSClient({
  endpoint: await aws.sqs.config.endpoint?.().then((e) => `${e.protocol}//${e.hostname}:${e.port}`),
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
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
await drain(env.IDLEHOOK_INGEST_QUEUE_URL, parse, parseTimes);
const parseRequests = new Map(requests);
requests.clear();
const deliverTimes: number[] = [];
await drain(env.IDLEHOOK_DELIVERY_QUEUE_URL, deliver, deliverTimes);
const deliverRequests = new Map(requests);
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
console.log(`  requests per message, watcher: ${perMessage(watcherRequests)}`);
console.log(`  requests per message, parse:   ${perMessage(parseRequests)}`);
console.log(`  requests per message, deliver: ${perMessage(deliverRequests)}`);
console.log(
  "  (the functions' own SQS receives and deletes are made by the Lambda event source mapping, not counted here)",
);

eventSource.destroy();
await adapters.http.close();
await receiver.close();
await aws.stop();
await dynamo.stop();
