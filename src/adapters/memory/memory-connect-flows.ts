import type { ConnectFlowStore, PendingConnectFlow } from '../../ports/management.js';
import type { Clock } from '../../ports/services.js';
/** Local mode's connect flows: in memory (a restart ends them, as it ends the links too). */
export class MemoryConnectFlows implements ConnectFlowStore {
  private readonly flows = new Map<string, PendingConnectFlow & { readonly expiresAt: number }>();
  /** Used links' signatures, until each link expires. */
  private readonly usedLinks = new Map<string, number>();

  constructor(private readonly clock: Clock) {}

  claimLink(signature: string, expiresAt: number): boolean {
    this.sweep(this.clock.now());
    if (this.usedLinks.has(signature)) return false;
    this.usedLinks.set(signature, expiresAt);
    return true;
  }

  put(id: string, flow: PendingConnectFlow, expiresAt: number): void {
    this.sweep(this.clock.now());
    this.flows.set(id, { ...flow, expiresAt });
  }

  take(id: string, now: number): PendingConnectFlow | undefined {
    this.sweep(now);
    const flow = this.flows.get(id);
    this.flows.delete(id);
    return flow;
  }

  /** Started flows that never come back go when they expire, and used links once they could no longer work. */
  private sweep(now: number): void {
    for (const [id, flow] of this.flows) if (flow.expiresAt <= now) this.flows.delete(id);
    for (const [signature, expiresAt] of this.usedLinks)
      if (expiresAt <= now) this.usedLinks.delete(signature);
  }
}
