import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DynamoDbAttemptLog } from '../../src/adapters/aws/dynamodb-attempt-log.js';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { DynamoDbEndpointThrottle } from '../../src/adapters/aws/dynamodb-endpoint-throttle.js';
import { DynamoDbRetryLedger } from '../../src/adapters/aws/dynamodb-retry-ledger.js';
import { DynamoDbStateStore } from '../../src/adapters/aws/dynamodb-state-store.js';
import { DynamoDbSubscriptionRepository } from '../../src/adapters/aws/dynamodb-subscription-repository.js';
import { S3BlobStore } from '../../src/adapters/aws/s3-blob-store.js';
import { SqsQueue } from '../../src/adapters/aws/sqs-queue.js';
import { NodeHttpSender } from '../../src/adapters/http/node-http-sender.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { createDeliverHandler, createParseHandler } from '../../src/compose/aws/lambda-handlers.js';
import { signBlobLink } from '../../src/domain/blob-links.js';
import { messageEventId } from '../../src/domain/events.js';
import {
  type DeliveryRecord,
  type IngestRecord,
  type MessageArrival,
  rawBlobKey,
} from '../../src/pipeline/records.js';
import type { OutgoingMessage } from '../../src/ports/pipeline.js';
import type { Logger, SecretResolver } from '../../src/ports/services.js';
import { startDynamoDb, startSqsAndS3 } from '../support/aws-emulators.js';
import { sqsEvent } from '../support/event-source.js';
import { simpleMessage } from '../support/mail.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

function arrival(uid: number, mailbox: string): MessageArrival {
  const coordinates = { account: 'support', mailbox, uidValidity: '42', uid };
  const eventId = messageEventId('message.received', coordinates);
  return {
    kind: 'message',
    eventId,
    ...coordinates,
    modseq: '7',
    flags: [],
    internalDate: '2026-11-27T10:00:00.000Z',
    size: 100,
    rawKey: rawBlobKey(eventId),
    detectedAt: '2026-11-27T10:00:00.500Z',
  };
}

describe('the Lambda handlers, on DynamoDB (dynalite), SQS and S3 (fauxqs)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let aws: Awaited<ReturnType<typeof startSqsAndS3>>;
  const secret = newWebhookSecret();
  const good = new WebhookReceiver(secret);
  const failing = new WebhookReceiver(secret);
  let ingestUrl: string;
  let deliveryUrl: string;
  let parse: ReturnType<typeof createParseHandler>;
  let deliver: ReturnType<typeof createDeliverHandler>;
  let blobs: S3BlobStore;
  let ingest: SqsQueue<IngestRecord>;
  let retrying: DynamoDbRetryLedger;
  let deliveries: SqsQueue<DeliveryRecord>;
  let subscriptions: DynamoDbSubscriptionRepository;

  before(async () => {
    failing.respond = () => 500;
    dynamo = await startDynamoDb();
    aws = await startSqsAndS3();
    const table = await dynamo.createTable();
    blobs = new S3BlobStore(aws.s3, await aws.createBucket('idlehook-lambda'), {
      link: async (key) => signBlobLink('https://links.example', key, Date.now(), Buffer.alloc(32)),
    });
    ingestUrl = await aws.createQueue('ingest.fifo', { FifoQueue: 'true' });
    deliveryUrl = await aws.createQueue('delivery');
    ingest = new SqsQueue<IngestRecord>(aws.sqs, ingestUrl, {
      overflow: blobs,
      fifo: true,
      groupOf: (r) => (r.kind === 'message' ? r.mailbox : 'events'),
    });
    deliveries = new SqsQueue<DeliveryRecord>(aws.sqs, deliveryUrl, { overflow: blobs });
    // Secrets Manager has no emulator here: a resolver with the same contract stands in for it.
    const secrets: SecretResolver = {
      resolve: async (arn) => (arn.endsWith(':hook') ? secret : assert.fail(arn)),
    };
    subscriptions = new DynamoDbSubscriptionRepository(
      stateTable(dynamo.client, table),
      secrets,
      systemClock,
    );
    const arn = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:hook';
    await subscriptions.put({ id: 'good', url: await good.listen(), secretArn: arn });
    await subscriptions.put({
      id: 'failing',
      url: await failing.listen(),
      secretArn: arn,
      events: ['message.received'],
    });
    const state = new DynamoDbStateStore(stateTable(dynamo.client, table), systemClock, blobs);
    retrying = new DynamoDbRetryLedger(
      stateTable(dynamo.client, table),
      deliveries,
      async () => (await subscriptions.list()).map((s) => s.id),
      systemClock,
    );
    parse = createParseHandler({ blobs, ingest, deliveries, subscriptions });
    deliver = createDeliverHandler({
      deliveries,
      retrying,
      subscriptionRepository: subscriptions,
      log: state,
      attempts: new DynamoDbAttemptLog(stateTable(dynamo.client, table)),
      subscriptionStatus: state,
      throttle: new DynamoDbEndpointThrottle(stateTable(dynamo.client, table), systemClock),
      http: new NodeHttpSender(),
      clock: systemClock,
      logger: silent,
      policy: {
        retryScheduleSeconds: [60],
        timeoutMs: 5000,
        overloadFloorSeconds: 60,
        disableAfterMs: 86_400_000,
      },
    });
  });

  after(async () => {
    await Promise.all([good.close(), failing.close()]);
    await aws.stop();
    await dynamo.stop();
  });

  async function receive(queueUrl: string) {
    const result = await aws.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    return result.Messages ?? [];
  }

  /** `count` messages, over as many receives as it takes (a FIFO receive may return one group's only). */
  async function receiveAll(queueUrl: string, count: number) {
    const messages = [];
    for (let tries = 0; tries < 20 && messages.length < count; tries++)
      messages.push(...(await receive(queueUrl)));
    return messages;
  }

  it('parses a batch, reports only the record that failed, and queues one delivery per subscription', async () => {
    const present = arrival(1, 'INBOX');
    const missing = arrival(2, 'Sales'); // its raw message was never stored
    await blobs.put(present.rawKey, Buffer.from(simpleMessage('From the Lambda')));
    await ingest.send([
      { deduplicationKey: present.eventId, body: present },
      { deduplicationKey: missing.eventId, body: missing },
    ]);
    const messages = await receive(ingestUrl);
    assert.equal(messages.length, 2);
    const response = await parse(sqsEvent(messages));
    const failedId = messages.find((m) => m.Body?.includes('"Sales"'))?.MessageId;
    assert.deepEqual(response.batchItemFailures, [{ itemIdentifier: failedId }]);
    const queued = await receive(deliveryUrl);
    assert.deepEqual(
      queued.map((m) => (JSON.parse(m.Body ?? '{}') as DeliveryRecord).subscriptionId).sort(),
      ['failing', 'good'],
    );

    const result = await deliver(sqsEvent(queued));
    const failingRecord = queued.find((m) => m.Body?.includes('"subscriptionId":"failing"'));
    assert.deepEqual(result.batchItemFailures, [{ itemIdentifier: failingRecord?.MessageId }]);
    assert.equal(good.accepted.length, 1);
    assert.equal(good.invalidSignatures, 0);
    assert.equal(good.accepted[0]?.id, present.eventId);
    assert.equal(good.accepted[0]?.body.data.subject, 'From the Lambda');
    assert.match(
      good.accepted[0]?.body.data.raw.url,
      /^https:\/\/links\.example\/raw\/evt_\w+\.eml\?expires=\d+&signature=/,
      'a link, not a presigned URL',
    );
    assert.deepEqual(
      failing.attempts.map((a) => a.status),
      [500],
    );
    assert.deepEqual(
      await receive(deliveryUrl),
      [],
      'the failed record waits out its retry delay, invisible',
    );

    // SQS may hand a delivered record over again: it is not sent twice.
    const goodRecord = queued.filter((m) => m.Body?.includes('"subscriptionId":"good"'));
    const again = await deliver(sqsEvent(goodRecord));
    assert.deepEqual(again.batchItemFailures, []);
    assert.equal(good.attempts.length, 1);

    // During an outage a batch can hold nothing but retries: that is routine, not a crash of the function
    // (a thrown FullBatchFailureError would count as a Lambda error and trip the error alarm).
    const onlyRetry = await deliver(sqsEvent(queued.filter((m) => m === failingRecord)));
    assert.deepEqual(onlyRetry.batchItemFailures, [{ itemIdentifier: failingRecord?.MessageId }]);
    assert.equal(failing.attempts.length, 2);
  });

  it("queues a batch's deliveries in one send, and on a failed send hands back each record that had some, with the rest of its group", async () => {
    const sent: number[] = [];
    const counting = {
      send: async (messages: readonly OutgoingMessage<DeliveryRecord>[]) => {
        sent.push(messages.length);
        await deliveries.send(messages);
      },
    };
    const batch = [arrival(11, 'Box1'), arrival(12, 'Box2'), arrival(13, 'Box3'), arrival(14, 'Box4')];
    for (const a of batch) await blobs.put(a.rawKey, Buffer.from(simpleMessage(`batch ${a.uid}`)));
    await ingest.send(batch.map((a) => ({ deduplicationKey: a.eventId, body: a })));
    const together = createParseHandler({ blobs, ingest, deliveries: counting, subscriptions });
    const received = await receiveAll(ingestUrl, 4);
    assert.equal(received.length, 4);
    assert.deepEqual((await together(sqsEvent(received))).batchItemFailures, []);
    assert.deepEqual(sent, [8], 'four messages, two subscriptions each: one send');
    assert.equal((await receiveAll(deliveryUrl, 8)).length, 8);

    // A record after a failed one in its group must wait (FIFO order), even one with no deliveries. Real SQS hands
    // over several records of a group in one batch (fauxqs one a receive), so this batch is made as SQS makes it.
    const noneWanted = (a: MessageArrival): MessageArrival => ({ ...a, onlySubscription: 'nobody' });
    const second = [arrival(21, 'Box5'), noneWanted(arrival(22, 'Box5')), noneWanted(arrival(23, 'Box6'))];
    for (const a of second) await blobs.put(a.rawKey, Buffer.from(simpleMessage(`second ${a.uid}`)));
    const records = second.map((a) => ({
      MessageId: `id-${a.uid}`,
      ReceiptHandle: `handle-${a.uid}`,
      Body: JSON.stringify(a),
      Attributes: { MessageGroupId: a.mailbox },
    }));
    const refusing = {
      send: async () => {
        throw new Error('SQS is unreachable');
      },
    };
    const failing = createParseHandler({ blobs, ingest, deliveries: refusing, subscriptions });
    const idOf = (uid: number) => `id-${uid}`;
    const { batchItemFailures } = await failing(sqsEvent(records));
    assert.deepEqual(
      batchItemFailures.map((f) => f.itemIdentifier).sort(),
      [idOf(21), idOf(22)].sort(),
      'the Box6 record had no deliveries and no failed record before it',
    );
  });

  it('notes each retry SQS holds back: listed with its next attempt, made due at once by retry now, settled once delivered', async () => {
    failing.respond = () => 503;
    // A mailbox of its own: the FIFO group of INBOX still holds the first test's record (nothing deleted it).
    const arrived = arrival(1, 'Retried');
    await blobs.put(arrived.rawKey, Buffer.from(simpleMessage('Retried now')));
    await ingest.send([{ deduplicationKey: arrived.eventId, body: arrived }]);
    await parse(sqsEvent(await receive(ingestUrl)));
    const queued = await receive(deliveryUrl);
    const result = await deliver(sqsEvent(queued));
    assert.equal(result.batchItemFailures.length, 1, 'the failing endpoint answered 503: a retry');
    // The first test's failing record is held back too (handed over twice from one receive: one attempt by SQS's
    // count).
    const listed = await retrying.pending();
    assert.deepEqual(
      listed.map((p) => [p.subscriptionId, p.attempts]),
      [
        ['failing', 1],
        ['failing', 1],
      ],
    );
    const pending = listed.find((p) => p.eventId === arrived.eventId);
    assert.equal(pending?.attempts, 1);
    // The 503 is an overload: at least the 60-s floor, the schedule's 60 s with its jitter.
    const waitSeconds = ((pending?.nextAttemptAt ?? 0) - Date.now()) / 1000;
    assert.ok(waitSeconds > 40 && waitSeconds <= 72, `next attempt in ${waitSeconds} s`);
    assert.deepEqual(await receive(deliveryUrl), [], 'held back by SQS');

    failing.respond = () => 200;
    assert.equal(await retrying.retryNow('good'), 0, 'nothing of another subscription');
    assert.equal(await retrying.retryNow('failing'), 2);
    const due = await receive(deliveryUrl);
    assert.equal(due.length, 2, 'due at once, not in a minute');
    const again = await deliver(sqsEvent(due));
    assert.deepEqual(again.batchItemFailures, []);
    assert.ok(failing.accepted.some((w) => w.id === arrived.eventId));
    assert.deepEqual(await retrying.pending(), [], 'delivered: the notes are gone');
  });
});
