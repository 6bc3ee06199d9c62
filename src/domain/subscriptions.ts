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

/** The keys to sign with now: the previous secret of a rotation only until its stated end. */
export function signingSecrets(subscription: SubscriptionConfig, now: number): readonly Buffer[] {
  const until = subscription.previousSecretUntil;
  return until !== undefined && now >= until ? subscription.secrets.slice(0, 1) : subscription.secrets;
}
