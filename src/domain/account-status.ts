/** An account's and its mailboxes' live state, as the watcher knows it and the API and dashboard show it. */

/** `polling`: past the account's connection limit, checked every interval on a shared connection. */
export type MailboxState = 'connecting' | 'syncing' | 'idle' | 'polling' | 'error' | 'stopped';

export interface MailboxStatus {
  state: MailboxState;
  lastError: string | null;
  uidValidity: string | null;
  lastUid: number | null;
  lastEventAt: string | null;
}

export interface AccountStatus {
  state: 'ok' | 'error';
  lastError: string | null;
  errorCode: string | null;
  nextLoginAttemptAt: string | null;
}

/** An account's status as `GET /status` shows it: its mailboxes keyed by name. */
export interface AccountSnapshot extends AccountStatus {
  readonly mailboxes: Readonly<Record<string, MailboxStatus>>;
}

/** Failing accounts named in a tally: enough to start looking, bounded whatever the number failing. */
export const FAILING_IDS_NAMED = 20;

/** How many accounts are watched and failing, the first failing ones by id: what the status counts show. */
export interface AccountTally {
  readonly held: number;
  readonly failing: number;
  /** The first FAILING_IDS_NAMED failing accounts, by id. */
  readonly failingIds: readonly string[];
}

export function tallyAccounts(snapshot: Readonly<Record<string, AccountSnapshot>>): AccountTally {
  const ids = Object.keys(snapshot);
  const failing = ids.filter((id) => snapshot[id]?.state === 'error').sort();
  return { held: ids.length, failing: failing.length, failingIds: failing.slice(0, FAILING_IDS_NAMED) };
}

/** Tallies added up (one per watcher task), the failing ids merged and bounded again. */
export function addTallies(tallies: readonly AccountTally[]): AccountTally {
  const failingIds = [...new Set(tallies.flatMap((tally) => tally.failingIds))].sort();
  return {
    held: tallies.reduce((sum, tally) => sum + tally.held, 0),
    failing: tallies.reduce((sum, tally) => sum + tally.failing, 0),
    failingIds: failingIds.slice(0, FAILING_IDS_NAMED),
  };
}
