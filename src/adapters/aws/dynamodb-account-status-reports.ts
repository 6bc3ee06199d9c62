import { DeleteCommand, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountSnapshot, AccountStatus, MailboxStatus } from '../../domain/account-status.js';
import { recordOf } from '../../domain/null-prototype.js';
import type { AccountStatusReports, ReportedAccountStatus, ReportedTally } from '../../ports/watcher.js';
import { batchGetAll, queryAll, StateTableAdapter } from './dynamodb-documents.js';
import { TABLE_KEYS, TABLE_PARTITIONS } from './state-table.js';

interface ReportItem {
  readonly sk: string;
  /** The snapshot as JSON, its mailboxes as [name, status] pairs: their names are the server's, not keys. */
  readonly status: string;
  readonly reportedAt: number;
}

type StoredSnapshot = AccountStatus & {
  readonly mailboxes: readonly (readonly [string, MailboxStatus])[];
  readonly omittedMailboxes?: number;
};

/** A DynamoDB item holds 400 KB; an account watching thousands of folders would not fit. */
const MAX_STATUS_BYTES = 300 * 1024;

const jsonBytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** The snapshot as stored: past MAX_STATUS_BYTES, the mailboxes in error first, then as many others as fit. */
function stored(snapshot: AccountSnapshot): StoredSnapshot {
  const entries = Object.entries(snapshot.mailboxes);
  const whole = { ...snapshot, mailboxes: entries };
  if (jsonBytes(whole) <= MAX_STATUS_BYTES) return whole;
  const failing = entries.filter(([, mailbox]) => mailbox.state === 'error');
  const others = entries.filter(([, mailbox]) => mailbox.state !== 'error');
  const kept: (readonly [string, MailboxStatus])[] = [];
  let bytes = jsonBytes({ ...snapshot, mailboxes: [], omittedMailboxes: entries.length });
  for (const entry of [...failing, ...others]) {
    bytes += jsonBytes(entry) + 1;
    if (bytes > MAX_STATUS_BYTES) break;
    kept.push(entry);
  }
  return { ...snapshot, mailboxes: kept, omittedMailboxes: entries.length - kept.length };
}

function restored(
  { omittedMailboxes, ...snapshot }: StoredSnapshot,
  reportedAt: number,
): ReportedAccountStatus {
  return {
    status: { ...snapshot, mailboxes: recordOf(snapshot.mailboxes) },
    reportedAt,
    ...(omittedMailboxes ? { omittedMailboxes } : {}),
  };
}

const restoredItem = (item: ReportItem) =>
  restored(JSON.parse(item.status) as StoredSnapshot, item.reportedAt);

/** Accounts' status as reported by the watcher tasks: one item per account, over the ACCOUNT_STATUS#<n> keys. */
export class DynamoDbAccountStatusReports extends StateTableAdapter implements AccountStatusReports {
  async report(accountId: string, report: ReportedAccountStatus): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...TABLE_KEYS.accountStatus(accountId),
          status: JSON.stringify(stored(report.status)),
          reportedAt: report.reportedAt,
        },
      }),
    );
  }

  async tally(taskId: string, tally: ReportedTally): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...TABLE_KEYS.statusTally(taskId),
          held: tally.held,
          failing: tally.failing,
          failingIds: [...tally.failingIds],
          reportedAt: tally.reportedAt,
        },
      }),
    );
  }

  async withdrawTally(taskId: string): Promise<void> {
    await this.documents.send(
      new DeleteCommand({ TableName: this.tableName, Key: TABLE_KEYS.statusTally(taskId) }),
    );
  }

  /** One query: one item per watcher task. */
  async tallies(): Promise<readonly ReportedTally[]> {
    const items = await queryAll<ReportedTally>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.statusTallies },
    });
    return items.map(({ held, failing, failingIds, reportedAt }) => ({
      held,
      failing,
      failingIds,
      reportedAt,
    }));
  }

  /** The reports of these accounts only (BatchGetItem, 100 keys a call). */
  async some(accountIds: readonly string[]): Promise<ReadonlyMap<string, ReportedAccountStatus>> {
    const items = await batchGetAll<ReportItem>(
      this.documents,
      this.tableName,
      accountIds.map((id) => ({ ...TABLE_KEYS.accountStatus(id) })),
    );
    return new Map(items.map((item) => [item.sk, restoredItem(item)]));
  }

  async of(accountId: string): Promise<ReportedAccountStatus | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: TABLE_KEYS.accountStatus(accountId) }),
    );
    return Item && restoredItem(Item as ReportItem);
  }
}
