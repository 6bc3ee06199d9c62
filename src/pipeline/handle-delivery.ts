import type { SubscriptionConfig } from '../config/config.js';
import { decideDelivery, parseRetryAfter } from '../domain/retry.js';
import type { Clock, DeliveryLog, HttpSender, Logger, SubscriptionStatusStore } from '../ports/index.js';
import type { DeliveryRecord } from './records.js';
import { sendWebhook } from './send-webhook.js';

export interface DeliveryDependencies {
  readonly log: DeliveryLog;
  readonly subscriptionStatus: SubscriptionStatusStore;
  readonly subscriptions: ReadonlyMap<string, SubscriptionConfig>;
  readonly http: HttpSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly retryScheduleSeconds: readonly number[];
  readonly timeoutMs: number;
  readonly random?: () => number;
}

/** What becomes of a record after one handling: done (acknowledge it) or handed back for a retry. */
export type DeliveryOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly delayMs: number };

const DONE: DeliveryOutcome = { kind: 'done' };

/** The deliver stage for one record and one attempt. Every path ends delivered, scheduled again, or dead-lettered. */
export async function handleDeliveryRecord(
  record: DeliveryRecord,
  attempt: number,
  deps: DeliveryDependencies,
): Promise<DeliveryOutcome> {
  const { eventId, subscriptionId } = record;
  const deadLetter = (reason: string) =>
    deps.log.deadLetter({ ...record, reason, attempts: attempt, failedAt: deps.clock.now() });

  const subscription = deps.subscriptions.get(subscriptionId);
  if (!subscription) {
    await deadLetter('the subscription is no longer configured');
    return DONE;
  }
  // A record can come round again after a crash between sending and acknowledging: do not send it twice.
  if (await deps.log.isDelivered(eventId, subscriptionId)) return DONE;
  const disabledReason = await deps.subscriptionStatus.disabledReason(subscriptionId);
  if (disabledReason) {
    await deadLetter(`the subscription is disabled (${disabledReason})`);
    return DONE;
  }

  const response = await sendWebhook(record, subscription, deps);
  const decision = decideDelivery(
    {
      status: response.status,
      error: response.error,
      permanent: response.permanent,
      retryAfterSeconds: parseRetryAfter(response.retryAfter ?? null, deps.clock.now()),
    },
    attempt,
    deps.retryScheduleSeconds,
    deps.random,
  );
  const fields = {
    eventId,
    subscriptionId,
    attempt,
    status: response.status,
    durationMs: response.durationMs,
  };
  switch (decision.kind) {
    case 'delivered':
      await deps.log.markDelivered(eventId, subscriptionId, attempt);
      deps.logger.debug('webhook delivered', fields);
      return DONE;
    case 'retry':
      deps.logger.warn('webhook attempt failed, will retry', {
        ...fields,
        reason: decision.reason,
        delayMs: decision.delayMs,
      });
      return { kind: 'retry', delayMs: decision.delayMs };
    case 'gone':
      await deps.subscriptionStatus.disable(subscriptionId, decision.reason);
      await deadLetter(decision.reason);
      deps.logger.warn('subscription disabled', { ...fields, reason: decision.reason });
      return DONE;
    case 'dead-letter':
      await deadLetter(decision.reason);
      deps.logger.error('webhook dead-lettered', { ...fields, reason: decision.reason });
      return DONE;
  }
}
