import type { AccountSnapshot, AccountStatus, MailboxStatus } from '../domain/account-status.js';
import { recordOf } from '../domain/null-prototype.js';

/** What `GET /status` shows: live, in-memory, per account and mailbox. */
export class StatusBoard {
  private readonly accounts = new Map<
    string,
    { status: AccountStatus; mailboxes: Map<string, MailboxStatus> }
  >();

  private entry(accountId: string) {
    let entry = this.accounts.get(accountId);
    if (!entry) {
      entry = {
        status: { state: 'ok', lastError: null, errorCode: null, nextLoginAttemptAt: null },
        mailboxes: new Map(),
      };
      this.accounts.set(accountId, entry);
    }
    return entry;
  }

  account(accountId: string): AccountStatus {
    return this.entry(accountId).status;
  }

  mailbox(accountId: string, mailbox: string): MailboxStatus {
    const { mailboxes } = this.entry(accountId);
    let status = mailboxes.get(mailbox);
    if (!status) {
      status = { state: 'connecting', lastError: null, uidValidity: null, lastUid: null, lastEventAt: null };
      mailboxes.set(mailbox, status);
    }
    return status;
  }

  /** Drops a mailbox no longer watched, and its account once it has none. */
  forget(accountId: string, mailbox: string): void {
    const entry = this.accounts.get(accountId);
    if (!entry) return;
    entry.mailboxes.delete(mailbox);
    if (entry.mailboxes.size === 0) this.accounts.delete(accountId);
  }

  /** Connections (watched mailboxes) by state, for the metrics. */
  connectionsByState(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const { mailboxes } of this.accounts.values())
      for (const { state } of mailboxes.values()) counts.set(state, (counts.get(state) ?? 0) + 1);
    return counts;
  }

  snapshot(): Record<string, AccountSnapshot> {
    return recordOf([...this.accounts].map(([id, entry]) => [id, snapshotOf(entry)] as const));
  }

  /** One account's status and mailboxes, as `snapshot()` shows them; undefined for one not watched. */
  snapshotOf(accountId: string): AccountSnapshot | undefined {
    const entry = this.accounts.get(accountId);
    return entry && snapshotOf(entry);
  }
}

function snapshotOf(entry: {
  status: AccountStatus;
  mailboxes: Map<string, MailboxStatus>;
}): AccountSnapshot {
  return {
    ...entry.status,
    mailboxes: recordOf([...entry.mailboxes].map(([name, m]) => [name, { ...m }] as const)),
  };
}
