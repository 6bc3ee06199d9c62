import type { SqliteQueue } from '../adapters/local/sqlite-queue.js';
import type { DeliveryOutcome } from '../pipeline/handle-delivery.js';
import type { Logger, QueueMessage } from '../ports/index.js';

export interface QueueWorkerOptions {
  readonly name: string;
  readonly concurrency: number;
  /** At most this many records of one group (e.g. one endpoint) in flight, so one group cannot take every slot. */
  readonly perGroupLimit?: number;
  readonly logger: Logger;
}

/** Delay after a handler threw: grows with the receive count, capped at five minutes. */
function failureDelayMs(receiveCount: number): number {
  return Math.min(300_000, 500 * 2 ** Math.min(receiveCount, 10));
}

/**
 * Local mode's stand-in for the Lambda event source mapping: receives from a local queue and runs the same
 * record handler the Lambda runs, acknowledging on success and handing the record back on failure.
 */
export class QueueWorker<Body> {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly inFlightByGroup = new Map<string, number>();
  private stopping = false;
  private pumpScheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly queue: SqliteQueue<Body>,
    private readonly handle: (message: QueueMessage<Body>) => Promise<DeliveryOutcome>,
    private readonly options: QueueWorkerOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.queue.onAvailable(() => this.schedulePump());
    this.schedulePump();
  }

  /** Stops taking new records and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    clearTimeout(this.timer);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Coalesces every wake-up within one event-loop turn into a single receive. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.stopping) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump().catch((error: unknown) => {
        this.options.logger.error('queue receive failed', {
          queue: this.options.name,
          error: (error as Error).message,
        });
        this.timer = setTimeout(() => this.schedulePump(), 1000);
      });
    });
  }

  private async pump(): Promise<void> {
    clearTimeout(this.timer);
    // Refill only once half the slots are free: one receive then leases a batch instead of one record.
    if (this.stopping || this.inFlight.size > this.options.concurrency / 2) return;
    const free = this.options.concurrency - this.inFlight.size;
    const limit = this.options.perGroupLimit ?? Number.POSITIVE_INFINITY;
    const busy = [...this.inFlightByGroup].filter(([, n]) => n >= limit).map(([group]) => group);
    const messages = await this.queue.receiveExcept(free, busy);
    for (const message of messages) {
      const group = message.group;
      const running = group === null ? 0 : (this.inFlightByGroup.get(group) ?? 0);
      // A batch can hold more of one group than it has room for: the rest go back, not counted as received.
      if (group !== null && running >= limit) await this.queue.release(message.id);
      else this.launch(message, group);
    }
    if (messages.length < free) {
      // Nothing more visible now: wake when the next delayed record is due (or poll, as a safety net).
      const next = this.queue.nextVisibleInMs();
      this.timer = setTimeout(() => this.schedulePump(), Math.min(Math.max(next ?? 1000, 5), 1000));
    }
  }

  private launch(message: QueueMessage<Body>, group: string | null): void {
    if (group !== null) this.inFlightByGroup.set(group, (this.inFlightByGroup.get(group) ?? 0) + 1);
    const task = this.process(message).finally(() => {
      this.inFlight.delete(task);
      if (group !== null) {
        const left = (this.inFlightByGroup.get(group) ?? 1) - 1;
        if (left === 0) this.inFlightByGroup.delete(group);
        else this.inFlightByGroup.set(group, left);
      }
      this.schedulePump();
    });
    this.inFlight.add(task);
  }

  private async process(message: QueueMessage<Body>): Promise<void> {
    try {
      const outcome = await this.handle(message);
      if (outcome.kind === 'done') await this.queue.acknowledge(message.id);
      else await this.queue.retryLater(message.id, outcome.delayMs);
    } catch (error) {
      const delayMs = failureDelayMs(message.receiveCount);
      this.options.logger.error('record failed; it will be retried', {
        queue: this.options.name,
        receiveCount: message.receiveCount,
        delayMs,
        error: (error as Error).message,
      });
      await this.queue.retryLater(message.id, delayMs);
    }
  }
}
