import { msUntilNextWindow, windowOf } from '../../domain/rate-window.js';
import type { Admission, Clock, EndpointLimits, EndpointThrottle } from '../../ports/index.js';

/** How soon a record refused for lack of a free slot is offered again (the deliverer backs off from here). */
const SLOT_RETRY_MS = 100;

/**
 * Per-endpoint admission in one process's memory: exact for local mode (a single process delivers), and the
 * per-instance share of the limits in a deliver function.
 */
export class MemoryEndpointThrottle implements EndpointThrottle {
  private readonly inFlight = new Map<string, number>();
  private readonly windows = new Map<string, { window: number; count: number }>();

  constructor(private readonly clock: Clock) {}

  async admit(subscriptionId: string, limits: EndpointLimits): Promise<Admission> {
    const busy = this.inFlight.get(subscriptionId) ?? 0;
    if (busy >= limits.maxInFlight) return { admitted: false, retryInMs: SLOT_RETRY_MS };
    if (limits.ratePerSecond !== undefined) {
      const now = this.clock.now();
      const window = windowOf(now);
      const current = this.windows.get(subscriptionId);
      const count = current?.window === window ? current.count : 0;
      if (count >= limits.ratePerSecond) return { admitted: false, retryInMs: msUntilNextWindow(now) };
      this.windows.set(subscriptionId, { window, count: count + 1 });
    }
    this.inFlight.set(subscriptionId, busy + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.inFlight.get(subscriptionId) ?? 1) - 1;
        if (left === 0) this.inFlight.delete(subscriptionId);
        else this.inFlight.set(subscriptionId, left);
      },
    };
  }
}
