import type { SqliteQueue } from '../adapters/local/sqlite-queue.js';
import type { Logger, QueueMessage } from '../ports/index.js';

export type RecordOutcome = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly delayMs: number };

export interface QueueWorkerOptions {
  readonly name: string;
  readonly concurrency: number;
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
  private stopping = false;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly queue: SqliteQueue<Body>,
    private readonly handle: (message: QueueMessage<Body>) => Promise<RecordOutcome>,
    private readonly options: QueueWorkerOptions,
  ) {}

  start(): void {
    this.unsubscribe = this.queue.onAvailable(() => this.wake?.());
    this.loop = this.run();
  }

  /** Stops taking new records and waits for the ones in flight. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.unsubscribe?.();
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const free = this.options.concurrency - this.inFlight.size;
      const messages = free > 0 ? await this.queue.receive(free) : [];
      for (const message of messages) this.launch(message);
      if (messages.length === 0 || this.inFlight.size >= this.options.concurrency) await this.sleep();
    }
  }

  private launch(message: QueueMessage<Body>): void {
    const task = this.process(message).finally(() => {
      this.inFlight.delete(task);
      this.wake?.();
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

  private sleep(): Promise<void> {
    return new Promise((resolve) => {
      const next = this.queue.nextVisibleInMs();
      const timer = setTimeout(done, Math.min(next ?? 1000, 1000));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}
