import { msUntilNextWindow, windowOf } from '../../domain/rate-window.js';
import type { Admission, EndpointThrottle } from '../../ports/pipeline.js';
import type { Clock } from '../../ports/services.js';

/** Per-endpoint rate limits in one process's memory: exact for local mode, where a single process delivers. */
export class MemoryEndpointThrottle implements EndpointThrottle {
  private readonly windows = new Map<string, { window: number; count: number }>();

  constructor(private readonly clock: Clock) {}

  async admit(subscriptionId: string, ratePerSecond: number): Promise<Admission> {
    const now = this.clock.now();
    const window = windowOf(now);
    const current = this.windows.get(subscriptionId);
    const count = current?.window === window ? current.count : 0;
    if (count >= ratePerSecond) return { admitted: false, retryInMs: msUntilNextWindow(now) };
    this.windows.set(subscriptionId, { window, count: count + 1 });
    return { admitted: true };
  }
}
