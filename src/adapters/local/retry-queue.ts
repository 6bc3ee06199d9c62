import type { DeliveryRecord } from '../../pipeline/records.js';
import type { PendingDelivery, RetryQueue } from '../../ports/pipeline.js';
import type { SqliteQueue } from './sqlite-queue.js';

/** Local mode's deliveries being retried: the delivery queue's waiting records that have had an attempt. */
/** Local mode's queue answers at once, and /status reads it synchronously. */
export interface LocalRetryQueue extends RetryQueue {
  pending(): PendingDelivery[];
  retryNow(subscriptionId: string): Promise<number>;
}

export function sqliteRetryQueue(deliveries: SqliteQueue<DeliveryRecord>): LocalRetryQueue {
  return {
    pending: () =>
      deliveries
        .waiting()
        .map(
          ({ body, receiveCount, visibleAt }): PendingDelivery => ({
            eventId: body.eventId,
            eventType: body.eventType,
            subscriptionId: body.subscriptionId,
            // Attempts on this copy, and on the copies before it (a record held back by a rate limit is re-queued).
            attempts: receiveCount + (body.attemptsBefore ?? 0),
            nextAttemptAt: visibleAt,
          }),
        )
        .filter((pending) => pending.attempts > 0),
    retryNow: (subscriptionId) => deliveries.hurry(subscriptionId),
  };
}
