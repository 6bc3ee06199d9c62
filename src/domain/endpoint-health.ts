/** What is known about one subscription's endpoint between attempts. */
export interface EndpointHealth {
  /** Set once the subscription is disabled (410 Gone, or failing too long); cleared by re-enabling it. */
  readonly disabledReason?: string;
  /** When the current run of failed attempts began (ms); absent while the endpoint is healthy. */
  readonly failingSince?: number;
}

export type HealthChange =
  | { readonly kind: 'unchanged' }
  | { readonly kind: 'recovered' }
  | { readonly kind: 'started-failing'; readonly since: number }
  | { readonly kind: 'disable'; readonly reason: string; readonly failingSince: number };

/**
 * How one attempt changes an endpoint's health. Only an endpoint that has failed every attempt for the whole
 * period is disabled (Svix and Stripe use days): one success restarts the clock, so a flaky receiver or a long
 * weekend outage shorter than the period never loses its subscription.
 */
export function nextEndpointHealth(
  health: EndpointHealth,
  attemptSucceeded: boolean,
  now: number,
  disableAfterMs: number,
): HealthChange {
  if (attemptSucceeded) return health.failingSince === undefined ? UNCHANGED : { kind: 'recovered' };
  if (health.failingSince === undefined) return { kind: 'started-failing', since: now };
  if (now - health.failingSince < disableAfterMs) return UNCHANGED;
  return {
    kind: 'disable',
    reason: `every attempt failed since ${new Date(health.failingSince).toISOString()}`,
    failingSince: health.failingSince,
  };
}

const UNCHANGED: HealthChange = { kind: 'unchanged' };
