import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../ports/services.js';

/** EX_SOFTWARE (sysexits.h): an internal error, after which a supervisor should restart the process. */
export const EXIT_UNEXPECTED = 70;
/** How long a crashing process may spend stopping cleanly before it exits anyway. */
const CRASH_STOP_TIMEOUT_MS = 10_000;

/**
 * The policy for an error nothing handled: it leaves the process in an unknown state, and every cursor, queue and
 * delivery record is durable, so log it with its stack, stop what can be stopped within 10 s, and exit 70 for the
 * supervisor (systemd, Docker, ECS) to restart the process. At worst a message is then announced twice, with the
 * same webhook-id. Never carry on half-broken, never die without a word.
 */
export function exitOnUnexpectedErrors(logger: Logger, stop: () => Promise<void>): void {
  let crashing = false;
  const crash = (kind: string) => (error: unknown) => {
    logger.error('unexpected error; exiting so that a supervisor restarts idlehook', {
      kind,
      error: errorMessage(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    if (crashing) return;
    crashing = true;
    setTimeout(() => process.exit(EXIT_UNEXPECTED), CRASH_STOP_TIMEOUT_MS).unref();
    stop()
      .catch(() => undefined)
      .finally(() => process.exit(EXIT_UNEXPECTED));
  };
  process.on('uncaughtException', crash('uncaughtException'));
  process.on('unhandledRejection', crash('unhandledRejection'));
}
