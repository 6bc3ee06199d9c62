import type { EventType } from './event-schemas.js';
import { eventScope, type WebhookEvent } from './events.js';

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
   * Why the signing secret cannot be used (unreadable, not a `whsec_` secret), when it cannot: its deliveries then
   * fail and are retried and dead-lettered like any failed attempt, while the other subscriptions carry on.
   */
  readonly secretProblem?: string;
  /** Undefined means every event type. */
  readonly events: ReadonlySet<EventType> | undefined;
  /** Undefined means every account. */
  readonly accounts: ReadonlySet<string> | undefined;
  /** Requests per second to this endpoint; undefined means no limit. */
  readonly rateLimitPerSecond: number | undefined;
}

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

/**
 * The account ids a subscription document must name among: read only when it names accounts at all (every
 * account is a large read at 100,000 of them, and a document naming none has nothing to check).
 */
export async function accountIdsToCheck(
  document: unknown,
  directory: { accountIds(): ReadonlySet<string> | Promise<ReadonlySet<string>> },
): Promise<ReadonlySet<string> | undefined> {
  const named = (document as { readonly accounts?: unknown } | null)?.accounts;
  return Array.isArray(named) && named.length > 0 ? directory.accountIds() : undefined;
}
