import type { Clock } from '../ports/services.js';
export const systemClock: Clock = { now: () => Date.now() };

/**
 * Milliseconds on a clock that only moves forward at a steady rate (not wall time): for durations that must not
 * jump when the system clock is set, such as lease timing.
 */
export const monotonicClock: Clock = { now: () => performance.now() };
