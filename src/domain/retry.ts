export interface ReconnectPolicy {
  readonly minDelaySeconds: number;
  readonly maxDelaySeconds: number;
  readonly authFailureDelaySeconds: number;
  readonly maxAuthFailureDelaySeconds: number;
  /** How long reconnects to a server that was reachable may fail on the network before that is an account error. */
  readonly outageGraceSeconds: number;
}

/** What one HTTP attempt came back with. `status` is absent when no response arrived at all. */
export interface AttemptResult {
  readonly status?: number;
  readonly retryAfterSeconds?: number;
  /** No response within the timeout: the endpoint may be overloaded. */
  readonly timedOut?: boolean;
  readonly error?: string;
  /** No request was made, and none would be on a retry (e.g. a forbidden destination). */
  readonly permanent?: boolean;
}

export type DeliveryDecision =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'retry'; readonly delayMs: number; readonly reason: string }
  | { readonly kind: 'dead-letter'; readonly reason: string }
  | { readonly kind: 'gone'; readonly reason: string };

export function describeAttempt(result: AttemptResult): string {
  return result.status === undefined ? (result.error ?? 'no response') : `HTTP ${result.status}`;
}

function isRetryable(result: AttemptResult): boolean {
  if (result.permanent) return false;
  if (result.status === undefined) return true; // timeout, refused, reset, DNS failure
  return result.status === 408 || result.status === 429 || result.status >= 500;
}

/** Waits between delivery attempts: 8 attempts over about 27.6 hours, the default everywhere. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [5, 300, 1800, 7200, 18000, 36000, 36000];

/** After a 429, a 503 or a timeout the endpoint is overloaded: wait at least this long, as Svix does. */
export const DEFAULT_OVERLOAD_FLOOR_SECONDS = 60;

function isOverload(result: AttemptResult): boolean {
  return result.timedOut === true || result.status === 429 || result.status === 503;
}

/**
 * The retry policy as a pure function. `attempt` counts from 1. The schedule lists the waits between attempts
 * (so attempts = schedule.length + 1). Jitter of +-20% keeps a recovering endpoint from a thundering herd;
 * An overloaded endpoint (429, 503, timeout) waits at least `overloadFloorSeconds`. Retry-After is honoured but
 * clamped to [wait, 2x wait] (wait: the scheduled one, raised to that floor when overloaded), so a receiver can
 * slow us but not stall us.
 */
export function decideDelivery(
  result: AttemptResult,
  attempt: number,
  scheduleSeconds: readonly number[],
  random: () => number = Math.random,
  overloadFloorSeconds = DEFAULT_OVERLOAD_FLOOR_SECONDS,
): DeliveryDecision {
  const status = result.status;
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'delivered' };
  const reason = describeAttempt(result);
  if (status === 410) return { kind: 'gone', reason: `${reason}: the endpoint asked to be unsubscribed` };
  if (!isRetryable(result)) return { kind: 'dead-letter', reason: `${reason} is not retryable` };
  const scheduled = scheduleSeconds[attempt - 1];
  if (scheduled === undefined) return { kind: 'dead-letter', reason: `${reason} after ${attempt} attempts` };
  const base = isOverload(result) ? Math.max(scheduled, overloadFloorSeconds) : scheduled;
  let seconds = Math.max(scheduled * (0.8 + 0.4 * random()), isOverload(result) ? overloadFloorSeconds : 0);
  if (result.retryAfterSeconds !== undefined) {
    seconds = Math.min(Math.max(result.retryAfterSeconds, base), 2 * base);
  }
  return { kind: 'retry', delayMs: Math.round(seconds * 1000), reason };
}

/** Parses Retry-After as delta-seconds or an HTTP date (RFC 9110 10.2.3). */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - nowMs) / 1000);
}

/**
 * `network`: the connection failed or was lost; `authentication`: the login was refused; `sync`: logged in, but
 * the session could not work with what it got (a protocol surprise or refusal from the server, a storage error,
 * a bug of ours). Reconnecting at once would meet the same answer, so `sync` waits half a minute and more.
 */
export type ConnectionFailureKind = 'network' | 'authentication' | 'sync';

/** The first wait after a `sync` failure: a few logins a minute at most, whatever the server does. */
const SYNC_FAILURE_DELAY_SECONDS = 30;

/**
 * Wait before the next connection attempt. Authentication failures wait far longer and grow to an hour:
 * servers lock accounts after repeated bad logins, and a bridge that retries every few seconds causes that.
 */
export function reconnectDelayMs(
  kind: ConnectionFailureKind,
  consecutiveFailures: number,
  policy: ReconnectPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, consecutiveFailures - 1);
  if (kind === 'authentication') {
    const seconds = Math.min(
      policy.maxAuthFailureDelaySeconds,
      policy.authFailureDelaySeconds * 2 ** exponent,
    );
    return Math.round(seconds * 1000 * (0.9 + 0.2 * random()));
  }
  if (kind === 'sync') {
    const seconds = Math.min(
      Math.max(policy.maxDelaySeconds, SYNC_FAILURE_DELAY_SECONDS),
      Math.max(policy.minDelaySeconds, SYNC_FAILURE_DELAY_SECONDS) * 2 ** exponent,
    );
    return Math.round(seconds * 1000 * (0.9 + 0.2 * random()));
  }
  const ceiling = Math.min(policy.maxDelaySeconds, policy.minDelaySeconds * 2 ** exponent);
  // "Equal jitter": at least half the ceiling, so reconnects never hammer, yet spread out.
  return Math.round(ceiling * 1000 * (0.5 + 0.5 * random()));
}
