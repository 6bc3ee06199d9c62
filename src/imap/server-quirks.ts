/**
 * What the watcher adapts to per server family. Servers need not send ID (RFC 2971), so the family is read from
 * the greeting, which the families below word the same way in every release seen.
 */

/**
 * Courier IMAP with Debian's stock `IMAP_ENHANCEDIDLE=0` looks for new mail only every IMAP_IDLE_TIMEOUT (60 s)
 * while a client idles, but at once when IDLE starts. Restarting IDLE this often bounds the wait for new mail;
 * with `IMAP_ENHANCEDIDLE=1` (FAM/gamin) mail comes at once either way, and a restart costs one round trip.
 */
const COURIER_IDLE_RESTART_MS = 10_000;

/** How often to restart IDLE on this server, where its own default (client-options' maxIdleTime) is too slow. */
export function idleRestartMsFor(greeting: string | undefined): number | undefined {
  return greeting?.includes('Courier-IMAP') ? COURIER_IDLE_RESTART_MS : undefined;
}

/**
 * Dovecot and Cyrus look for changes the moment IDLE starts (Dovecot's cmd_idle syncs the mailbox,
 * `idle_sync_now`; Cyrus's calls `index_check`) and report each, so there the IDLE that ends a check is the
 * check's poll, and a NOOP before its STATUS would poll twice. What Gmail, Microsoft 365 and Exchange do at IDLE's
 * start cannot be tested here: every other server is polled with NOOP.
 */
export function pollsWhenIdleStarts(greeting: string | undefined): boolean {
  return /\bDovecot\b|\bCyrus IMAP\b/.test(greeting ?? '');
}
