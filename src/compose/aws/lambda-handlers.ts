import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { IdlehookError } from '../../domain/errors.js';
import { type DeliveryDependencies, handleDeliveryRecord } from '../../pipeline/handle-delivery.js';
import { handleIngestRecord } from '../../pipeline/handle-ingest.js';
import type { DeliveryRecord, IngestRecord } from '../../pipeline/records.js';
import type {
  OutgoingMessage,
  RetryLedger,
  SubscriptionRepository,
  TriggeredQueue,
} from '../../ports/pipeline.js';
import type { BlobStore, Metrics } from '../../ports/services.js';

export type SqsHandler = (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse>;

/** Metrics a function publishes once per invocation (Powertools' EMF line), after its batch. */
export interface InvocationMetrics extends Metrics {
  flush(): void;
}

/** Thrown to hand a record back to SQS after its visibility was set to the retry delay. Retryable by design. */
export class DeliveryRetryScheduledError extends IdlehookError {
  override readonly name = 'DeliveryRetryScheduledError';
  constructor(delayMs: number) {
    super(
      'DELIVERY_RETRY_SCHEDULED',
      true,
      `delivery failed; retry scheduled in ${Math.round(delayMs / 1000)} s`,
    );
  }
}

export interface ParseHandlerDependencies {
  readonly blobs: BlobStore;
  readonly ingest: TriggeredQueue<IngestRecord>;
  readonly deliveries: Pick<TriggeredQueue<DeliveryRecord>, 'send'>;
  readonly subscriptions: SubscriptionRepository;
  readonly metrics?: InvocationMetrics;
}

/**
 * The parse Lambda, fed by the FIFO ingest queue: records of one mailbox stay in order, so the first failure
 * stops the rest of its group and they are reported back (Powertools' FIFO processor). The deliveries of the
 * whole batch are queued together once every record is parsed: SendMessageBatch takes ten, so a batch of ten
 * messages costs one send, not ten.
 */
export function createParseHandler(deps: ParseHandlerDependencies): SqsHandler {
  return async (event, context) => {
    // A processor per invocation: it keeps the batch's results, and invocations must not share them.
    const processor = new SqsFifoPartialProcessorAsync();
    const subscriptions = await deps.subscriptions.list();
    const { blobs, metrics } = deps;
    const parsed: { readonly record: SQSRecord; readonly deliveries: OutgoingMessage<DeliveryRecord>[] }[] =
      [];
    try {
      const response = await processPartialResponse(
        event,
        async (record: SQSRecord) => {
          const body = await deps.ingest.decode(record.body);
          const deliveries: OutgoingMessage<DeliveryRecord>[] = [];
          await handleIngestRecord(body, {
            blobs,
            deliveries: { send: async (messages) => void deliveries.push(...messages) },
            subscriptions,
            ...(metrics ? { metrics } : {}),
          });
          parsed.push({ record, deliveries });
        },
        processor,
        { context, skipGroupOnError: true },
      );
      const deliveries = parsed.flatMap((p) => p.deliveries);
      if (deliveries.length === 0) return response;
      try {
        await deps.deliveries.send(deliveries);
        return response;
      } catch {
        // Which of them SQS took is unknown: every record that had deliveries is parsed again, with the records
        // after it in its message group (a delivery queued twice is sent once: deliver checks the outcome).
        const unsent = new Set(parsed.filter((p) => p.deliveries.length > 0).map((p) => p.record.messageId));
        return { batchItemFailures: failedWithTheirGroups(event.Records, response, unsent) };
      }
    } finally {
      metrics?.flush();
    }
  };
}

/** The records the response failed and those in `unsent`, each with every later record of its message group. */
function failedWithTheirGroups(
  records: readonly SQSRecord[],
  response: SQSBatchResponse,
  unsent: ReadonlySet<string>,
): SQSBatchResponse['batchItemFailures'] {
  const failed = new Set([...response.batchItemFailures.map((f) => f.itemIdentifier), ...unsent]);
  const stoppedGroups = new Set<string | undefined>();
  return records.flatMap((record) => {
    const group = record.attributes.MessageGroupId;
    if (!failed.has(record.messageId) && !stoppedGroups.has(group)) return [];
    stoppedGroups.add(group);
    return [{ itemIdentifier: record.messageId }];
  });
}

export interface DeliverHandlerDependencies extends Omit<DeliveryDependencies, 'subscriptions'> {
  readonly deliveries: TriggeredQueue<DeliveryRecord>;
  /** Where the retries SQS holds back are noted, so they can be listed and hurried. */
  readonly retrying: RetryLedger;
  readonly subscriptionRepository: SubscriptionRepository;
  readonly metrics?: InvocationMetrics;
}

/**
 * The deliver Lambda, fed by the standard delivery queue. A retry sets the record's visibility timeout to the
 * retry delay and reports the record as failed, so SQS hands it back exactly then.
 */
export function createDeliverHandler(deps: DeliverHandlerDependencies): SqsHandler {
  return async (event, context) => {
    const processor = new BatchProcessor(EventType.SQS);
    const subscriptions = new Map((await deps.subscriptionRepository.list()).map((s) => [s.id, s]));
    try {
      return await processPartialResponse(
        event,
        async (record: SQSRecord) => {
          const body = await deps.deliveries.decode(record.body);
          const receiveCount = Number(record.attributes.ApproximateReceiveCount ?? '1');
          const outcome = await handleDeliveryRecord(body, receiveCount, { ...deps, subscriptions });
          const attempts = receiveCount + (body.attemptsBefore ?? 0);
          if (outcome.kind === 'retry') {
            await deps.deliveries.retryLater(record.receiptHandle, outcome.delayMs);
            const { eventId, eventType, subscriptionId } = body;
            const nextAttemptAt = deps.clock.now() + outcome.delayMs;
            await deps.retrying.scheduled(
              { eventId, eventType, subscriptionId, attempts, nextAttemptAt },
              record.receiptHandle,
            );
            throw new DeliveryRetryScheduledError(outcome.delayMs);
          }
          // Only a delivery retried before can have a note (a first attempt that succeeds writes nothing here).
          if (attempts > 1) await deps.retrying.settled(body.subscriptionId, body.eventId);
        },
        processor,
        // A batch of only scheduled retries is an outage being waited out, not a failure of the function.
        { context, throwOnFullBatchFailure: false },
      );
    } finally {
      deps.metrics?.flush();
    }
  };
}
