/**
 * The base of every error idlehook raises on purpose: a stable UPPER_SNAKE `code` for logs, events and callers
 * to branch on; whether trying again can help; and the error that caused it, chained (`cause`).
 * Codes of system errors (ECONNREFUSED, CERT_HAS_EXPIRED, ...) pass through unchanged.
 */
export abstract class IdlehookError extends Error {
  /** Each class names itself: bundles are minified, and a class's own name would not survive that. */
  abstract override readonly name: string;

  constructor(
    readonly code: string,
    readonly retryable: boolean,
    message: string,
    options: ErrorCause = {},
  ) {
    super(message, 'cause' in options ? { cause: options.cause } : undefined);
  }
}

export interface ErrorCause {
  readonly cause?: unknown;
}

/** The message of anything thrown: an Error's message, or the value itself as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Another watcher owns the account's mailboxes now: this one stops acting for them (its sessions end; the
 * watcher reconciles).
 */
export class MailboxNotOwnedError extends IdlehookError {
  override readonly name = 'MailboxNotOwnedError';
  constructor(account: string) {
    super('MAILBOX_NOT_OWNED', true, `the mailboxes of ${account} belong to another watcher now`);
  }
}
