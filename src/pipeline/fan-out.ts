import { serializeEvent, type WebhookEvent } from '../domain/events.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import { subscriptionsFor } from '../domain/subscriptions.js';
import type { OutgoingMessage } from '../ports/pipeline.js';
import { type DeliveryRecord, deliveryDeduplicationKey } from './records.js';

/** One delivery record per subscription that wants the event, all carrying the same serialized body. */
export function deliveriesFor(
  event: WebhookEvent,
  subscriptions: readonly SubscriptionConfig[],
): OutgoingMessage<DeliveryRecord>[] {
  const targets = subscriptionsFor(event, subscriptions);
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
