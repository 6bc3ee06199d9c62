/** What a signal handler needs of `process`: injectable so a test can send signals without sending them. */
export interface SignalTarget {
  on(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): void;
}

/**
 * Stops gracefully on SIGTERM or SIGINT, also when the signal comes while the process is still starting: the
 * handlers are in place before the start begins, and a stop asked for then runs the moment the start completes.
 * Node as PID 1 (a container) would otherwise ignore a SIGTERM sent during start-up, until ECS's SIGKILL.
 */
export function stopOnSignals(
  started: Promise<{ stop(): Promise<void> }>,
  target: SignalTarget = process,
): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    target.on(signal, () => {
      if (stopping) return;
      stopping = true;
      started
        .then((running) => running.stop())
        .then(
          () => target.exit(0),
          () => target.exit(1),
        );
    });
  }
}
