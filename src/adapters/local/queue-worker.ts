import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../../domain/errors.js';
import type { DeliveryOutcome } from '../../pipeline/handle-delivery.js';
import type { HandOffConsumer, PulledQueue, QueueMessage } from '../../ports/pipeline.js';
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
  /** Records in flight or on their way (handed off, being stored), by group. */
  private readonly inFlightByGroup = new Map<string, number>();
  /** Room kept for records handed off while they are being stored. */
  private reserved = 0;
  private stopping = false;
  private pumpScheduled = false;
  private pumping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly detach: (() => void)[] = [];

  constructor(
    private readonly queue: PulledQueue<Body>,
    private readonly handle: (message: QueueMessage<Body>) => Promise<DeliveryOutcome>,
    private readonly options: QueueWorkerOptions,
  ) {}

  start(): void {
    this.detach.push(
      this.queue.onAvailable(() => this.schedulePump()),
      this.queue.handOffTo(this.handOff),
    );
    this.schedulePump();
  }

  /** Stops taking new records and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const detach of this.detach.splice(0)) detach();
    // A receive under way finishes first: the database may close once this returns.
    await this.pumping;
    clearTimeout(this.timer);
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Coalesces every wake-up within one event-loop turn into a single receive. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.stopping) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumping = this.pump().catch((error: unknown) => {
        this.options.logger.error('queue receive failed', {
          queue: this.options.name,
          error: errorMessage(error),
        });
        this.timer = setTimeout(() => this.schedulePump(), 1000);
      });
    });
  }

  /** New records this worker has room for come straight from the sender, already leased. */
  private readonly handOff: HandOffConsumer<Body> = {
    reserve: (group) => {
      if (this.stopping || this.inFlight.size + this.reserved >= this.options.concurrency) return false;
      if (group !== null && this.running(group) >= this.groupLimit) return false;
      this.reserved++;
      this.countIn(group);
      return true;
    },
    cancel: (group) => {
      this.reserved--;
      this.countOut(group);
    },
    take: (message, group) => {
      this.reserved--;
      // Stopped while it was being stored: it stays leased, and the next start hands it out again.
      if (this.stopping) this.countOut(group);
      else this.launch(message, group);
    },
  };

  private get groupLimit(): number {
    return this.options.perGroupLimit ?? Number.POSITIVE_INFINITY;
  }

  private running(group: string): number {
    return this.inFlightByGroup.get(group) ?? 0;
  }

  private countIn(group: string | null): void {
    if (group !== null) this.inFlightByGroup.set(group, this.running(group) + 1);
  }

  private countOut(group: string | null): void {
    if (group === null) return;
    const left = this.running(group) - 1;
    if (left <= 0) this.inFlightByGroup.delete(group);
    else this.inFlightByGroup.set(group, left);
  }

  private async pump(): Promise<void> {
    clearTimeout(this.timer);
    const inFlight = this.inFlight.size + this.reserved;
    // Refill only once half the slots are free: one receive then leases a batch instead of one record.
    if (this.stopping || inFlight > this.options.concurrency / 2) return;
    const free = this.options.concurrency - inFlight;
    const busy = [...this.inFlightByGroup].filter(([, n]) => n >= this.groupLimit).map(([group]) => group);
    const messages = await this.queue.receiveExcept(free, busy);
    for (const message of messages) {
      const group = message.group;
      // A batch can hold more of one group than it has room for: the rest go back, not counted as received.
      if (group !== null && this.running(group) >= this.groupLimit) await this.queue.release(message.id);
      else {
        this.countIn(group);
        this.launch(message, group);
      }
    }
    if (messages.length < free) {
      // Nothing more visible now: wake when the next delayed record is due (or poll, as a safety net).
      const next = this.queue.nextVisibleInMs();
      this.timer = setTimeout(() => this.schedulePump(), Math.min(Math.max(next ?? 1000, 5), 1000));
    }
  }

  /** Runs a record whose group has already counted it. */
  private launch(message: QueueMessage<Body>, group: string | null): void {
    const task = this.process(message).finally(() => {
      this.inFlight.delete(task);
      this.countOut(group);
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
