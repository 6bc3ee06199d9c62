import { serializeEvent, type WebhookEvent } from '../domain/events.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import { routeEvent } from '../domain/subscriptions.js';
import type { OutgoingMessage } from '../ports/pipeline.js';
import type { Metrics } from '../ports/services.js';
import { type DeliveryRecord, deliveryDeduplicationKey } from './records.js';

/**
 * One delivery record per subscription that wants the event, all carrying the same serialized body; what each
 * subscription's filter decided is counted.
 */
export function deliveriesFor(
  event: WebhookEvent,
  subscriptions: readonly SubscriptionConfig[],
  metrics: Pick<Metrics, 'filterOutcome'> | undefined,
): OutgoingMessage<DeliveryRecord>[] {
  const { targets, filterOutcomes } = routeEvent(event, subscriptions);
  for (const outcome of filterOutcomes) metrics?.filterOutcome(outcome.subscriptionId, outcome.matched);
  if (targets.length === 0) return [];
  const body = serializeEvent(event);
  const internalDate = event.type === 'message.received' ? event.data.internalDate : null;
  const times = { detectedAt: event.timestamp, ...(internalDate ? { internalDate } : {}) };
  return targets.map((subscription) => {
    const record = {
      eventId: event.id,
      eventType: event.type,
      subscriptionId: subscription.id,
      body,
      ...times,
    };
    return { deduplicationKey: deliveryDeduplicationKey(record), body: record };
  });
}
