/** How one account's mailboxes are watched: each on its own IDLE connection, or together by one poller. */
export interface ConnectionPlan {
  readonly idle: readonly string[];
  readonly polled: readonly string[];
}

/**
 * One IDLE connection per mailbox, up to the account's connection limit. Past it, one connection is kept for
 * a poller that visits the remaining mailboxes in turn: the limit counts that connection too, so a limit of N
 * gives N - 1 IDLE mailboxes and one poller (a limit of 1: everything polled).
 */
export function planConnections(
  mailboxes: readonly string[],
  connectionLimit: number | undefined,
): ConnectionPlan {
  if (connectionLimit === undefined || mailboxes.length <= connectionLimit)
    return { idle: mailboxes, polled: [] };
  const idleCount = Math.max(0, connectionLimit - 1);
  return { idle: mailboxes.slice(0, idleCount), polled: mailboxes.slice(idleCount) };
}
