import type { Config } from '../config/config.js';
import { type EndpointHealth, nextEndpointHealth } from '../domain/endpoint-health.js';
import { endpointDisabledEvent } from '../domain/events.js';
import { type DeliveryDecision, decideDelivery, parseRetryAfter } from '../domain/retry.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type {
  AttemptLog,
  DeliveryLog,
  EndpointThrottle,
  EventQueue,
  HttpSender,
  SubscriptionStatusStore,
} from '../ports/pipeline.js';
import type { Clock, Logger, Metrics } from '../ports/services.js';
import { deliveriesFor } from './fan-out.js';
import { type DeliveryRecord, deliveryDeduplicationKey } from './records.js';
import { attemptOf, sendWebhook } from './send-webhook.js';

export interface DeliveryDependencies {
  readonly log: DeliveryLog;
  readonly attempts: AttemptLog;
  readonly subscriptionStatus: SubscriptionStatusStore;
  readonly subscriptions: ReadonlyMap<string, SubscriptionConfig>;
  /** Where records held back by a rate limit and `endpoint.disabled` announcements are queued. */
  readonly deliveries: EventQueue<DeliveryRecord>;
  readonly throttle: EndpointThrottle;
  readonly http: HttpSender;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: DeliveryPolicy;
  readonly random?: () => number;
  readonly metrics?: Metrics;
  readonly delivered?: DeliveredHook;
}

/**
 * Told of each 2xx once it is recorded (a delivery's or a replay's), with the subscriptions the event was routed
 * among: a subscription's actions on the message run after it. Awaited: a Lambda function may be frozen once its
 * handler returns.
 */
export type DeliveredHook = (
  record: Pick<DeliveryRecord, 'eventId' | 'eventType' | 'body'>,
  subscription: SubscriptionConfig,
  subscriptions: ReadonlyMap<string, SubscriptionConfig>,
) => Promise<void> | void;

export interface DeliveryPolicy {
  readonly retryScheduleSeconds: readonly number[];
  readonly timeoutMs: number;
  /** The least wait after a 429, a 503 or a timeout. */
  readonly overloadFloorSeconds: number;
  /** An endpoint failing every attempt for this long is disabled. */
  readonly disableAfterMs: number;
}

export function deliveryPolicyOf(delivery: Config['delivery']): DeliveryPolicy {
  return {
    retryScheduleSeconds: delivery.retryScheduleSeconds,
    timeoutMs: delivery.timeoutSeconds * 1000,
    overloadFloorSeconds: delivery.overloadFloorSeconds,
    disableAfterMs: delivery.disableAfterFailingSeconds * 1000,
  };
}

/** What becomes of a record after one handling: done (acknowledge it) or handed back for a retry. */
export type DeliveryOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly delayMs: number };

const DONE: DeliveryOutcome = { kind: 'done' };

/** Held-back records wait longer each time they are held back again, up to a minute. */
const MAX_DEFERRAL_MS = 60_000;

/**
 * The deliver stage for one record. `receiveCount` is how often the queue has handed this copy out. Every path
 * ends delivered, scheduled again, held back (re-queued, not counted as an attempt) or dead-lettered.
 */
export async function handleDeliveryRecord(
  record: DeliveryRecord,
  receiveCount: number,
  deps: DeliveryDependencies,
): Promise<DeliveryOutcome> {
  const { eventId, subscriptionId } = record;
  const attempt = (record.attemptsBefore ?? 0) + receiveCount;
  const deadLetter = (reason: string) =>
    deps.log.deadLetter({ ...record, reason, attempts: attempt, failedAt: deps.clock.now() });

  const subscription = deps.subscriptions.get(subscriptionId);
  if (!subscription) {
    await deadLetter('the subscription is no longer configured');
    return DONE;
  }
  // A record can come round again after a crash between sending and acknowledging: do not send it twice.
  if (await deps.log.isDelivered(eventId, subscriptionId)) return DONE;
  const health = await deps.subscriptionStatus.health(subscriptionId);
  if (health.disabledReason) {
    await deadLetter(`the subscription is disabled (${health.disabledReason})`);
    return DONE;
  }

  if (subscription.rateLimitPerSecond !== undefined) {
    const admission = await deps.throttle.admit(subscriptionId, subscription.rateLimitPerSecond);
    if (!admission.admitted) {
      await holdBack(record, attempt - 1, admission.retryInMs, deps);
      return DONE;
    }
  }
  // When the request went out: attempts are listed, and rate limits counted, by when they were made.
  const attemptedAt = deps.clock.now();
  const response = await sendWebhook(record, subscription, {
    http: deps.http,
    clock: deps.clock,
    timeoutMs: deps.policy.timeoutMs,
  });

  const decision = decideDelivery(
    {
      status: response.status,
      error: response.error,
      permanent: response.permanent,
      timedOut: response.timedOut,
      retryAfterSeconds: parseRetryAfter(response.retryAfter ?? null, deps.clock.now()),
    },
    attempt,
    deps.policy.retryScheduleSeconds,
    deps.random,
    deps.policy.overloadFloorSeconds,
  );
  await deps.attempts.recordAttempt(
    attemptOf(record, attempt, decision.kind === 'delivered', response, attemptedAt),
  );

  const disabledNow = await updateHealth(subscription, health, decision, attemptedAt, eventId, deps);

  const fields = {
    eventId,
    subscriptionId,
    attempt,
    status: response.status,
    durationMs: Math.round(response.durationMs),
  };
  const counted = (outcome: 'delivered' | 'retry' | 'dead-lettered') => {
    const { sinceDetectedMs, endToEndMs } = latencies(record, deps.clock.now());
    deps.metrics?.deliveryAttempt({
      outcome,
      statusClass: response.status === undefined ? 'none' : `${Math.floor(response.status / 100)}xx`,
      ...(sinceDetectedMs === undefined ? {} : { eventAgeMs: sinceDetectedMs }),
      ...(outcome === 'delivered'
        ? {
            ...(sinceDetectedMs === undefined ? {} : { sinceDetectedMs }),
            ...(endToEndMs === undefined ? {} : { endToEndMs }),
          }
        : {}),
    });
  };
  if (decision.kind === 'delivered') {
    counted('delivered');
    await deps.log.markDelivered(eventId, subscriptionId, attempt);
    // One line per delivery at info level: the log shows the bridge working, not only starting.
    deps.logger.info('webhook delivered', fields);
    await deps.delivered?.(record, subscription, deps.subscriptions);
    return DONE;
  }
  if (disabledNow) {
    counted('dead-lettered');
    await deadLetter(
      disabledNow === decision.reason
        ? decision.reason
        : `${decision.reason}; the subscription is now disabled (${disabledNow})`,
    );
    return DONE;
  }
  if (decision.kind === 'retry') {
    counted('retry');
    deps.logger.warn('webhook attempt failed, will retry', {
      ...fields,
      reason: decision.reason,
      delayMs: decision.delayMs,
    });
    return { kind: 'retry', delayMs: decision.delayMs };
  }
  counted('dead-lettered');
  await deadLetter(decision.reason);
  deps.logger.error('webhook dead-lettered', { ...fields, reason: decision.reason });
  return DONE;
}

/** How long the delivered event took: from detection, and from the message's arrival at the server. */
function latencies(record: DeliveryRecord, now: number): { sinceDetectedMs?: number; endToEndMs?: number } {
  const detected = record.detectedAt === undefined ? Number.NaN : Date.parse(record.detectedAt);
  const arrived = record.internalDate === undefined ? detected : Date.parse(record.internalDate);
  return {
    ...(Number.isNaN(detected) ? {} : { sinceDetectedMs: now - detected }),
    ...(Number.isNaN(arrived) ? {} : { endToEndMs: now - arrived }),
  };
}

/**
 * Moves the endpoint's health on after an attempt; disables it on a 410 or at the end of a failing period.
 * Returns the reason when this attempt disabled the subscription.
 */
async function updateHealth(
  subscription: SubscriptionConfig,
  health: EndpointHealth,
  decision: DeliveryDecision,
  now: number,
  triggeringEventId: string,
  deps: DeliveryDependencies,
): Promise<string | undefined> {
  const change =
    decision.kind === 'gone'
      ? { kind: 'disable' as const, reason: decision.reason, failingSince: health.failingSince }
      : nextEndpointHealth(health, decision.kind === 'delivered', now, deps.policy.disableAfterMs);
  switch (change.kind) {
    case 'unchanged':
      return undefined;
    case 'recovered':
      await deps.subscriptionStatus.markHealthy(subscription.id);
      return undefined;
    case 'started-failing':
      await deps.subscriptionStatus.markFailing(subscription.id, change.since);
      return undefined;
    case 'disable':
      // Announce first: if the process dies in between, the retry announces again with the same webhook-id.
      await announceDisabled(subscription, change.reason, change.failingSince, now, triggeringEventId, deps);
      if (await deps.subscriptionStatus.disable(subscription.id, change.reason)) {
        deps.logger.warn('subscription disabled', { subscriptionId: subscription.id, reason: change.reason });
      }
      return change.reason;
  }
}

/** Tells every other subscription that wants `endpoint.disabled` that this one stopped receiving events. */
async function announceDisabled(
  subscription: SubscriptionConfig,
  reason: string,
  failingSince: number | undefined,
  now: number,
  triggeringEventId: string,
  deps: DeliveryDependencies,
): Promise<void> {
  const others = [...deps.subscriptions.values()].filter((s) => s.id !== subscription.id);
  const announcements = deliveriesFor(
    endpointDisabledEvent(
      {
        subscriptionId: subscription.id,
        // Only the host: webhook URLs often carry tokens, and this goes to every other subscription.
        host: new URL(subscription.url).host,
        reason,
        failingSince: failingSince === undefined ? null : new Date(failingSince).toISOString(),
        disabledAt: new Date(now).toISOString(),
      },
      failingSince ?? triggeringEventId,
    ),
    others,
    deps.metrics,
  );
  if (announcements.length > 0) await deps.deliveries.send(announcements);
}

/** Re-queues a record its endpoint cannot take now as a fresh copy that remembers the attempts so far. */
async function holdBack(
  record: DeliveryRecord,
  attemptsSoFar: number,
  retryInMs: number,
  deps: DeliveryDependencies,
): Promise<void> {
  const deferrals = (record.deferrals ?? 0) + 1;
  const random = deps.random ?? Math.random;
  const delayMs = Math.min(
    MAX_DEFERRAL_MS,
    Math.round(Math.max(retryInMs, 100) * 2 ** Math.min(deferrals - 1, 9) * (0.8 + 0.4 * random())),
  );
  const copy: DeliveryRecord = { ...record, attemptsBefore: attemptsSoFar, deferrals };
  await deps.deliveries.send([{ deduplicationKey: deliveryDeduplicationKey(copy), body: copy, delayMs }]);
}
