/**
 * Rate limits count requests in fixed one-second windows: one counter per endpoint and second, cheap to keep
 * in memory or in one DynamoDB item.
 */
export function windowOf(now: number): number {
  return Math.floor(now / 1000);
}

export function msUntilNextWindow(now: number): number {
  return 1000 - (now % 1000);
}
