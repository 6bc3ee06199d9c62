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
  mailboxes: Record<string, MailboxStatus>;
}

/** What `GET /status` shows: live, in-memory, per account and mailbox. */
export class StatusBoard {
  private readonly accounts = new Map<string, AccountStatus>();

  account(accountId: string): AccountStatus {
    let status = this.accounts.get(accountId);
    if (!status) {
      status = { state: 'ok', lastError: null, errorCode: null, nextLoginAttemptAt: null, mailboxes: {} };
      this.accounts.set(accountId, status);
    }
    return status;
  }

  mailbox(accountId: string, mailbox: string): MailboxStatus {
    const account = this.account(accountId);
    let status = account.mailboxes[mailbox];
    if (!status) {
      status = { state: 'connecting', lastError: null, uidValidity: null, lastUid: null, lastEventAt: null };
      account.mailboxes[mailbox] = status;
    }
    return status;
  }

  /** Drops a mailbox no longer watched, and its account once it has none. */
  forget(accountId: string, mailbox: string): void {
    const account = this.accounts.get(accountId);
    if (!account) return;
    delete account.mailboxes[mailbox];
    if (Object.keys(account.mailboxes).length === 0) this.accounts.delete(accountId);
  }

  snapshot(): Record<string, AccountStatus> {
    return structuredClone(Object.fromEntries(this.accounts));
  }
}
