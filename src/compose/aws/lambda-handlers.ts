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
import type { RetryLedger, SubscriptionRepository, TriggeredQueue } from '../../ports/pipeline.js';
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
  readonly deliveries: TriggeredQueue<DeliveryRecord>;
  readonly subscriptions: SubscriptionRepository;
  readonly metrics?: InvocationMetrics;
}

/**
 * The parse Lambda, fed by the FIFO ingest queue: records of one mailbox stay in order, so the first failure
 * stops the rest of its group and they are reported back (Powertools' FIFO processor).
 */
export function createParseHandler(deps: ParseHandlerDependencies): SqsHandler {
  return async (event, context) => {
    // A processor per invocation: it keeps the batch's results, and invocations must not share them.
    const processor = new SqsFifoPartialProcessorAsync();
    const subscriptions = await deps.subscriptions.list();
    const { blobs, deliveries, metrics } = deps;
    try {
      return await processPartialResponse(
        event,
        async (record: SQSRecord) => {
          const body = await deps.ingest.decode(record.body);
          await handleIngestRecord(body, {
            blobs,
            deliveries,
            subscriptions,
            ...(metrics ? { metrics } : {}),
          });
        },
        processor,
        { context, skipGroupOnError: true },
      );
    } finally {
      metrics?.flush();
    }
  };
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
