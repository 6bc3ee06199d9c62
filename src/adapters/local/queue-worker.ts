import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../domain/errors.js';
import type { DeliveryOutcome } from '../../pipeline/handle-delivery.js';
import type { PulledQueue, QueueMessage } from '../../ports/pipeline.js';
import type { Logger } from '../../ports/services.js';

export interface QueueWorkerOptions {
  readonly name: string;
  readonly concurrency: number;
  /** At most this many records of one group (e.g. one endpoint) in flight, so one group cannot take every slot. */
  readonly perGroupLimit?: number;
  readonly logger: Logger;
}

/** Tries at acknowledging or re-scheduling a record once the worker is stopping. */
const SETTLE_TRIES_WHEN_STOPPING = 3;

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
    private readonly queue: PulledQueue<Body>,
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
          error: errorMessage(error),
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
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.handle(message);
    } catch (error) {
      const delayMs = failureDelayMs(message.receiveCount);
      this.options.logger.error('record failed; it will be retried', {
        queue: this.options.name,
        receiveCount: message.receiveCount,
        delayMs,
        error: errorMessage(error),
      });
      outcome = { kind: 'retry', delayMs };
    }
    await this.settle(message, outcome);
  }

  /**
   * Acknowledges or re-schedules the record, retrying while the database refuses (SQLITE_BUSY while another
   * idlehook command holds the lock, a full disk). When stopping it gives up after a few tries: the record then
   * stays leased and the next start hands it out again, so it is delivered late rather than lost.
   */
  private async settle(message: QueueMessage<Body>, outcome: DeliveryOutcome): Promise<void> {
    for (let failures = 1; ; failures++) {
      try {
        if (outcome.kind === 'done') await this.queue.acknowledge(message.id);
        else await this.queue.retryLater(message.id, outcome.delayMs);
        return;
      } catch (error) {
        const giveUp = this.stopping && failures >= SETTLE_TRIES_WHEN_STOPPING;
        this.options.logger.error(
          giveUp
            ? 'could not record the outcome of a record; it stays leased and is handed out again at the next start'
            : 'could not record the outcome of a record; trying again',
          { queue: this.options.name, outcome: outcome.kind, failures, error: errorMessage(error) },
        );
        if (giveUp) return;
        await sleep(Math.min(30_000, 250 * 2 ** failures));
      }
    }
  }
}
