import type { SubscriptionConfig } from '../config/config.js';
import type { WebhookEvent } from './events.js';

export function subscriptionsFor(
  event: WebhookEvent,
  subscriptions: readonly SubscriptionConfig[],
): SubscriptionConfig[] {
  return subscriptions.filter(
    (s) => (!s.events || s.events.has(event.type)) && (!s.accounts || s.accounts.has(event.data.account)),
  );
}
