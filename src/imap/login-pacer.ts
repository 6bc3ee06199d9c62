import { setTimeout as sleep } from 'node:timers/promises';
import type { LoginLimits } from '../config/config.js';
import type { Clock } from '../ports/services.js';

/**
 * Paces every connection set-up of the process. A start or a server restart puts thousands of sessions in line
 * at once; without a pace they would all handshake and log in within a second, a login storm that servers
 * answer with throttling or lockouts, and that starves this process's event loop of everything else.
 */
export class LoginPacer {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  private nextStartAt = 0;

  constructor(
    private readonly limits: LoginLimits,
    private readonly clock: Clock,
    private readonly wait: (ms: number, signal: AbortSignal) => Promise<void> = (ms, signal) =>
      sleep(ms, undefined, { signal }),
  ) {}

  /** Runs `setUp` once a slot is free and the pace allows; rejects without running it if `signal` aborts first. */
  async run<T>(setUp: () => Promise<T>, signal: AbortSignal): Promise<T> {
    await this.slot(signal);
    try {
      const now = this.clock.now();
      const startAt = Math.max(now, this.nextStartAt);
      this.nextStartAt = startAt + 1000 / this.limits.perSecond;
      if (startAt > now) await this.wait(startAt - now, signal);
      return await setUp();
    } finally {
      this.release();
    }
  }

  private slot(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.active < this.limits.maxConcurrent) {
      this.active += 1;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const take = () => {
        signal.removeEventListener('abort', abandon);
        this.active += 1;
        resolve();
      };
      const abandon = () => {
        const index = this.queue.indexOf(take);
        if (index >= 0) this.queue.splice(index, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', abandon, { once: true });
      this.queue.push(take);
    });
  }

  private release(): void {
    this.active -= 1;
    this.queue.shift()?.();
  }
}
