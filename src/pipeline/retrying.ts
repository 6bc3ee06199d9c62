import type { PendingDelivery } from '../ports/pipeline.js';

/** A subscription's deliveries being retried: how many, and when the soonest is due (ms). */
export interface Retrying {
  readonly count: number;
  readonly nextAttemptAt: number;
}

/** Deliveries being retried, summed up per subscription (the dashboard's column, local mode's /status). */
export function retryingBySubscription(pending: readonly PendingDelivery[]): Map<string, Retrying> {
  const bySubscription = new Map<string, Retrying>();
  for (const { subscriptionId, nextAttemptAt } of pending) {
    const seen = bySubscription.get(subscriptionId);
    bySubscription.set(subscriptionId, {
      count: (seen?.count ?? 0) + 1,
      nextAttemptAt: Math.min(seen?.nextAttemptAt ?? nextAttemptAt, nextAttemptAt),
    });
  }
  return bySubscription;
}
