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
