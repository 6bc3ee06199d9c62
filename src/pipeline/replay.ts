import { describeAttempt } from '../domain/retry.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type {
  AttemptLog,
  DeadLetterFilter,
  DeliveryLog,
  HttpSender,
  ReplayResult,
  SubscriptionStatusStore,
} from '../ports/pipeline.js';
import type { Clock } from '../ports/services.js';
import { deadLetterMatches } from './dead-letter-pages.js';
import type { DeliveredHook } from './handle-delivery.js';
import { attemptOf, sendWebhook } from './send-webhook.js';

export interface ReplayDependencies {
  readonly log: DeliveryLog;
  readonly attempts: AttemptLog;
  readonly subscriptionStatus: SubscriptionStatusStore;
  readonly subscriptions: ReadonlyMap<string, SubscriptionConfig>;
  readonly http: HttpSender;
  readonly clock: Clock;
  readonly timeoutMs: number;
  /** A replay's 2xx is a delivery's: the subscriptions' after-delivery actions run after it, as they would have. */
  readonly delivered: DeliveredHook;
}

/**
 * Sends dead letters again, once each, with their original webhook-id and body. Delivered ones leave the
 * dead-letter store; the rest stay with the new reason.
 */
export async function replayDeadLetters(
  filter: DeadLetterFilter,
  deps: ReplayDependencies,
): Promise<ReplayResult[]> {
  const summaries = (await deps.log.listDeadLetters()).filter(deadLetterMatches(filter));
  const results: ReplayResult[] = [];
  for (const summary of summaries) {
    const body = await deps.log.deadLetterBody(summary.eventId, summary.subscriptionId);
    if (body === undefined) {
      // Replayed meanwhile by another caller, or its stored body is gone: nothing to send.
      results.push({ letter: summary, delivered: false, detail: 'its body is no longer stored' });
      continue;
    }
    const letter = { ...summary, body };
    const subscription = deps.subscriptions.get(letter.subscriptionId);
    if (!subscription) {
      results.push({ letter, delivered: false, detail: 'the subscription is no longer configured' });
      continue;
    }
    const health = await deps.subscriptionStatus.health(letter.subscriptionId);
    const disabled = health.disabledReason;
    if (disabled) {
      results.push({
        letter,
        delivered: false,
        detail: `the subscription is disabled (${disabled}); enable it first: idlehook subscriptions enable ${letter.subscriptionId}`,
      });
      continue;
    }
    const attemptedAt = deps.clock.now();
    const response = await sendWebhook(letter, subscription, deps);
    const attempts = letter.attempts + 1;
    const detail = describeAttempt(response);
    const succeeded = response.status !== undefined && response.status >= 200 && response.status < 300;
    await deps.attempts.recordAttempt(attemptOf(letter, attempts, succeeded, response, attemptedAt));
    if (succeeded) {
      await deps.log.markDelivered(letter.eventId, letter.subscriptionId, attempts);
      // A replay is an attempt like any other: its success ends the endpoint's failing period.
      if (health.failingSince !== undefined) await deps.subscriptionStatus.markHealthy(letter.subscriptionId);
      await deps.delivered(letter, subscription, deps.subscriptions);
      results.push({ letter, delivered: true, detail });
    } else {
      await deps.log.deadLetter({
        ...letter,
        attempts,
        reason: `replay failed: ${detail}`,
        failedAt: deps.clock.now(),
      });
      results.push({ letter, delivered: false, detail });
    }
  }
  return results;
}
