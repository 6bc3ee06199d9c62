import type { ImapFlow } from 'imapflow';
import type { Clock } from '../ports/services.js';
import { ServerSilentError } from './connection-failure.js';

/**
 * A connection can die silently (a cut network drops packets without a reset). While it idles, TCP keepalive finds
 * that out (imapflow turns it on: a probe after 5 s of quiet, then one a second; ten unanswered fail the socket).
 * It does not while a command waits for its answer (the kernel retransmits the command instead, for up to 15
 * minutes), nor when the server's kernel answers while its IMAP process hangs. So a connection is asked something
 * now and then, and one that leaves the question unanswered too long is taken for dead. This module holds that
 * rule for IDLE sessions and pollers alike.
 */

/** A check unanswered for this long (or one check interval, if longer) means the connection is dead. */
const MIN_CHECK_TIMEOUT_MS = 10_000;

export function unansweredAfterMs(checkIntervalMs: number): number {
  return Math.max(MIN_CHECK_TIMEOUT_MS, checkIntervalMs);
}

/**
 * How long the server has left a question unanswered. Every message it sends meanwhile counts as an answer (a
 * long catch-up delays the check, yet the server is plainly alive); waiting on our own byte budget does not count
 * as the server's silence.
 */
export class Liveness {
  /** When the oldest question not yet answered was asked (ms); undefined when none is pending. */
  private pendingSince: number | undefined;
  private waitingOnUs = false;

  constructor(private readonly clock: Clock) {}

  /** A question is pending from now, unless an older one still is. */
  asked(): void {
    this.pendingSince ??= this.clock.now();
  }

  /** A new question replaces any pending one (a poll: the whole sync must be answered). */
  askedAfresh(): void {
    this.pendingSince = this.clock.now();
  }

  /** The server sent something: the pending question's wait starts again. */
  heardFrom(): void {
    if (this.pendingSince !== undefined) this.pendingSince = this.clock.now();
  }

  answered(): void {
    this.pendingSince = undefined;
  }

  /** Runs `work` that waits on this process, not on the server (the byte budget). */
  async waitingOnUsFor<T>(work: Promise<T>): Promise<T> {
    this.waitingOnUs = true;
    try {
      return await work;
    } finally {
      this.waitingOnUs = false;
      this.heardFrom();
    }
  }

  /** How long the pending question has gone unanswered (ms), or 0 when none is pending. */
  overdueMs(): number {
    if (this.pendingSince === undefined || this.waitingOnUs) return 0;
    return this.clock.now() - this.pendingSince;
  }
}

/**
 * Every `everyMs`, closes the connection if the liveness in question is overdue past `timeoutMs` (reporting a
 * ServerSilentError first), and otherwise runs `onTick`. Returns the function that stops the watch.
 */
export function watchLiveness(
  client: ImapFlow,
  options: {
    readonly everyMs: number;
    readonly timeoutMs: number;
    readonly liveness: () => Liveness | undefined;
    readonly onSilent: (error: ServerSilentError) => void;
    readonly onTick?: () => void;
  },
): () => void {
  const timer = setInterval(() => {
    const overdueMs = options.liveness()?.overdueMs() ?? 0;
    // At least, not more than: with the timeout equal to the interval, a check asked at one tick is exactly
    // timeoutMs overdue at the next, and `>` left it another whole interval.
    if (overdueMs > 0 && overdueMs >= options.timeoutMs) {
      options.onSilent(new ServerSilentError(overdueMs));
      client.close();
      return;
    }
    options.onTick?.();
  }, options.everyMs);
  return () => clearInterval(timer);
}

/** Runs `step`; if the server has not answered it within `timeoutMs`, closes the connection instead. */
export async function answeredWithin<T>(
  client: ImapFlow,
  step: Promise<T>,
  timeoutMs: number,
  onSilent: (error: ServerSilentError) => void,
): Promise<T> {
  const started = Date.now();
  const deadline = setTimeout(() => {
    onSilent(new ServerSilentError(Date.now() - started));
    client.close();
  }, timeoutMs);
  try {
    return await step;
  } finally {
    clearTimeout(deadline);
  }
}
