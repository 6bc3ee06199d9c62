import type { SubscriptionConfig } from '../config/config.js';
import { eventScope, type WebhookEvent } from './events.js';

export function subscriptionsFor(
  event: WebhookEvent,
  subscriptions: readonly SubscriptionConfig[],
): SubscriptionConfig[] {
  const { account } = eventScope(event);
  return subscriptions.filter(
    (s) =>
      (!s.events || s.events.has(event.type)) &&
      (!s.accounts || account === undefined || s.accounts.has(account)),
  );
}
