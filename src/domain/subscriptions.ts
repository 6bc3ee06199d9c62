import type { EventFilter } from './event-filter.js';
import type { EventType } from './event-schemas.js';
import { eventScope, type WebhookEvent } from './events.js';
import type { MessageAction } from './message-actions.js';

export interface SubscriptionConfig {
  readonly id: string;
  readonly url: string;
  /**
   * Decoded signing keys (the bytes after `whsec_`), current first. During a rotation the previous secret is
   * here too and every request carries both signatures, so receivers on either secret verify.
   */
  readonly secrets: readonly Buffer[];
  /** When the previous secret (`secrets[1]`) stops being signed with (ms); undefined: while it is configured. */
  readonly previousSecretUntil?: number | undefined;
  /**
   * Why this subscription cannot be delivered to as stored (its signing secret unreadable or not a `whsec_` secret,
   * its stored filter unreadable by this version): its deliveries then fail and are retried and dead-lettered like
   * any failed attempt, never dropped nor sent unfiltered, while the other subscriptions carry on.
   */
  readonly deliveryProblem?: string;
  /** Undefined means every event type. */
  readonly events: ReadonlySet<EventType> | undefined;
  /** Undefined means every account. */
  readonly accounts: ReadonlySet<string> | undefined;
  /** Requests per second to this endpoint; undefined means no limit. */
  readonly rateLimitPerSecond: number | undefined;
  /** An event pattern the event must match as well (docs/filters.md); undefined: no filter. */
  readonly filter?: EventFilter | undefined;
  /** Actions on a received message once this endpoint answered 2xx (local mode); undefined: none. */
  readonly afterDelivery?: readonly MessageAction[] | undefined;
}

/** Where an event goes, and what each filter that was asked decided (for the filter metrics). */
export interface EventRouting {
  readonly targets: readonly SubscriptionConfig[];
  readonly filterOutcomes: readonly { readonly subscriptionId: string; readonly matched: boolean }[];
}

/** The subscriptions whose event types, accounts and filter all take the event. */
export function routeEvent(event: WebhookEvent, subscriptions: readonly SubscriptionConfig[]): EventRouting {
  const { account } = eventScope(event);
  const targets: SubscriptionConfig[] = [];
  const filterOutcomes: { subscriptionId: string; matched: boolean }[] = [];
  for (const subscription of subscriptions) {
    if (subscription.events && !subscription.events.has(event.type)) continue;
    if (subscription.accounts && account !== undefined && !subscription.accounts.has(account)) continue;
    const matched = subscription.filter?.matches(event) ?? true;
    if (subscription.filter) filterOutcomes.push({ subscriptionId: subscription.id, matched });
    if (matched) targets.push(subscription);
  }
  return { targets, filterOutcomes };
}

/** The keys to sign with now: the previous secret of a rotation only until its stated end. */
export function signingSecrets(subscription: SubscriptionConfig, now: number): readonly Buffer[] {
  const until = subscription.previousSecretUntil;
  return until !== undefined && now >= until ? subscription.secrets.slice(0, 1) : subscription.secrets;
}

/**
 * Which of the accounts a subscription document names exist, to check it against: only those are read (every
 * account would be a large read at 100,000 of them); undefined when it names none.
 */
export async function namedAccountsThatExist(
  document: unknown,
  directory: {
    existingAccounts(ids: readonly string[]): ReadonlySet<string> | Promise<ReadonlySet<string>>;
  },
): Promise<ReadonlySet<string> | undefined> {
  const named = (document as { readonly accounts?: unknown } | null)?.accounts;
  if (!Array.isArray(named) || named.length === 0) return undefined;
  const ids = [...new Set(named.filter((id): id is string => typeof id === 'string'))];
  return ids.length > 0 ? directory.existingAccounts(ids) : new Set();
}
