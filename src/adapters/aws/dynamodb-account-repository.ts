import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountConfig } from '../../config/config.js';
import type { AccountRepository, Logger, SecretResolver } from '../../ports/index.js';
import { documentClient, queryAll } from './dynamodb-documents.js';

/** An account as stored: everything but the password, which stays in Secrets Manager. */
export interface StoredAccount {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly security: 'tls' | 'starttls' | 'none';
  readonly user: string;
  readonly passwordSecretArn: string;
  /** PEM of an extra CA to trust, inline. */
  readonly tlsCa?: string;
  readonly tlsServername?: string;
  readonly mailboxes: readonly string[];
  readonly initialSync: 'new' | 'all';
}

const PARTITION = 'ACCOUNTS';

/**
 * Accounts in the state table (pk ACCOUNTS, sk = id), passwords resolved through the SecretResolver. The
 * watcher lists them on every reconcile, so adding an account needs no redeploy.
 */
export class DynamoDbAccountRepository implements AccountRepository {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly secrets: SecretResolver,
    private readonly logger: Logger,
  ) {
    this.documents = documentClient(client);
  }

  async put(account: StoredAccount): Promise<void> {
    await this.documents.send(
      new PutCommand({ TableName: this.tableName, Item: { pk: PARTITION, sk: account.id, ...account } }),
    );
  }

  async remove(accountId: string): Promise<void> {
    await this.documents.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: PARTITION, sk: accountId } }),
    );
  }

  stored(): Promise<StoredAccount[]> {
    return queryAll(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': PARTITION },
    });
  }

  /** Accounts whose password cannot be read are left out (and logged), not allowed to stop the others. */
  async list(): Promise<readonly AccountConfig[]> {
    const resolved = await Promise.all(
      (await this.stored()).map(async (account): Promise<AccountConfig | undefined> => {
        try {
          return {
            id: account.id,
            host: account.host,
            port: account.port,
            security: account.security,
            user: account.user,
            auth: { kind: 'password', password: await this.secrets.resolve(account.passwordSecretArn) },
            connectionLimit: undefined,
            tls: { ca: account.tlsCa, servername: account.tlsServername },
            mailboxes: account.mailboxes,
            initialSync: account.initialSync,
          };
        } catch (error) {
          this.logger.error('cannot read the password of an account; it is not watched', {
            account: account.id,
            error: (error as Error).message,
          });
          return undefined;
        }
      }),
    );
    return resolved.filter((a): a is AccountConfig => a !== undefined);
  }
}
