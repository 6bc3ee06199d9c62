import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { recordOf } from '../../domain/null-prototype.js';
import type { AccountSnapshot, AccountStatus, MailboxStatus } from '../../imap/status-board.js';
import type { AccountStatusReport, AccountStatusReports } from '../../ports/index.js';
import { documentClient, queryAll } from './dynamodb-documents.js';
import { TABLE_KEYS, TABLE_PARTITIONS } from './state-table.js';

interface ReportItem {
  readonly sk: string;
  /** The snapshot as JSON, its mailboxes as [name, status] pairs: their names are the server's, not keys. */
  readonly status: string;
  readonly reportedAt: number;
}

type StoredSnapshot = AccountStatus & { readonly mailboxes: readonly [string, MailboxStatus][] };

const stored = (snapshot: AccountSnapshot): StoredSnapshot => ({
  ...snapshot,
  mailboxes: Object.entries(snapshot.mailboxes),
});

const restored = (snapshot: StoredSnapshot): AccountSnapshot => ({
  ...snapshot,
  mailboxes: recordOf(snapshot.mailboxes),
});

/** Accounts' status as reported by the watcher tasks: one item per account in the ACCOUNT_STATUS partition. */
export class DynamoDbAccountStatusReports implements AccountStatusReports {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = documentClient(client);
  }

  async report(accountId: string, report: Required<AccountStatusReport>): Promise<void> {
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

  async all(): Promise<ReadonlyMap<string, Required<AccountStatusReport>>> {
    const items = await queryAll<ReportItem>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.accountStatus },
    });
    return new Map(
      items.map((item) => [
        item.sk,
        { status: restored(JSON.parse(item.status) as StoredSnapshot), reportedAt: item.reportedAt },
      ]),
    );
  }
}
