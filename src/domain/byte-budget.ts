/** Message sources a watcher process holds at once while catching up (the Fargate task has 512 MiB). */
export const SOURCE_BYTES_IN_FLIGHT = 32 * 1024 * 1024;
/** Local mode's parse stage: mailparser holds about three times a message's size while parsing it. */
export const PARSE_BYTES_IN_FLIGHT = 48 * 1024 * 1024;
export const PARSE_MEMORY_PER_SOURCE_BYTE = 3;

/**
 * A process-wide cap on bytes in flight (message sources being fetched, parsed or stored). Counting records does
 * not bound memory when one record can be 25 MB: after a restart with many mailboxes catching up at once, the
 * watcher would otherwise hold every mailbox's batch together. Requests are served in order; one larger than the
 * whole budget is let through alone, so nothing waits forever.
 */
export class ByteBudget {
  private inUse = 0;
  private peak = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly capacity: number) {}

  /** Resolves with a release function once `bytes` fit; call it exactly once when they are freed. */
  async acquire(bytes: number): Promise<() => void> {
    const size = Math.max(0, bytes);
    if (this.waiting.length === 0 && this.fits(size)) this.inUse += size;
    // Counted by admitWaiting when it grants, so the next one in line sees these bytes.
    else await new Promise<void>((grant) => this.waiting.push({ bytes: size, grant }));
    this.peak = Math.max(this.peak, this.inUse);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inUse -= size;
      this.admitWaiting();
    };
  }

  /** The most bytes held at once so far. */
  get peakBytes(): number {
    return this.peak;
  }

  private fits(bytes: number): boolean {
    return this.inUse + bytes <= this.capacity || this.inUse === 0;
  }

  private admitWaiting(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0] as { bytes: number; grant: () => void };
      if (!this.fits(next.bytes)) return;
      this.waiting.shift();
      this.inUse += next.bytes;
      next.grant();
    }
  }
}
