import { DeleteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AccountConfig } from '../../config/config.js';
import { errorMessage } from '../../domain/errors.js';
import type { Clock, CredentialSealer, Logger, SecretResolver } from '../../ports/services.js';
import type { AccountRepository, AccountSelection } from '../../ports/watcher.js';
import {
  AccountChanges,
  accountShardKeys,
  inShardIndex,
  type ShardDelta,
} from './dynamodb-account-changes.js';
import {
  batchGetAll,
  type PutCondition,
  putReplacing,
  queryAll,
  type StateTable,
  StateTableAdapter,
} from './dynamodb-documents.js';
import { parseSecretJson } from './secret-json.js';
import { TABLE_KEYS, TABLE_PARTITIONS } from './state-table.js';
import { type StoredAccount, settingsOfStored } from './stored-account.js';

/** What a stored item counted for in its shard's version (nothing where it predates the shard index). */
function counted(item: Record<string, unknown> | undefined): ShardDelta {
  if (!inShardIndex(item)) return { accounts: 0, mailboxes: 0 };
  return { accounts: 1, mailboxes: Array.isArray(item?.mailboxes) ? item.mailboxes.length : 0 };
}

/**
 * Accounts in the state table (pk ACCOUNTS, sk = id, and filed under their shard in ACCOUNT_SHARD_INDEX),
 * credentials opened only for the accounts a watcher task holds. The watcher lists them every few seconds at the
 * cost of the changes since (AccountChanges), so adding an account needs no redeploy.
 */
export class DynamoDbAccountRepository extends StateTableAdapter implements AccountRepository {
  private readonly changes: AccountChanges;
  /** Each selected account's configuration as opened, with the stored item it was opened from. */
  private openedBefore = new Map<string, { readonly from: StoredAccount; readonly account: AccountConfig }>();
  /** The shards this task holds, where it follows them (followShards); every shard otherwise. */
  private held: (() => readonly number[]) | undefined;

  constructor(
    table: StateTable,
    private readonly credentials: {
      readonly secrets: SecretResolver;
      /** Undefined where the stack has no credentials key (deployed before sealing): sealed values are refused. */
      readonly sealer: CredentialSealer | undefined;
    },
    private readonly logger: Logger,
    private readonly options: { readonly shardCount: number; readonly clock: Clock },
  ) {
    super(table);
    this.changes = new AccountChanges(table, options.shardCount, options.clock, () => this.stored());
  }

  /** Stores the account; false when `condition` did not hold (nothing written). */
  async put(account: StoredAccount, condition?: PutCondition): Promise<boolean> {
    const { written, replaced } = await putReplacing(
      this.documents,
      {
        TableName: this.tableName,
        Item: {
          ...TABLE_KEYS.account(account.id),
          ...accountShardKeys(account.id, this.options.shardCount),
          ...account,
        },
      },
      condition,
    );
    if (written) {
      const before = counted(replaced);
      await this.changes.bump(account.id, {
        accounts: 1 - before.accounts,
        mailboxes: account.mailboxes.length - before.mailboxes,
      });
    }
    return written;
  }

  /**
   * Makes the watcher tasks read its accounts through the shards they hold (`held`: this task's shards, as its
   * leases say), not all of them: a task then reads and keeps only its own accounts.
   */
  followShards(held: () => readonly number[]): void {
    this.held = held;
  }

  /** How many accounts are stored, from the shard versions: the API's status counts read no account. */
  total(): Promise<number> {
    return this.changes.accountTotal();
  }

  /** The mailboxes each shard's accounts watch (from the shard versions): what weighs a shard's lease. */
  mailboxesByShard(): Promise<ReadonlyMap<number, number>> {
    return this.changes.mailboxesByShard();
  }

  /** Per shard, the action commands filed there, as the last listing read it. */
  commandsFiled(): ReadonlyMap<number, number> {
    return this.changes.commandsFiled();
  }

  /** One as stored now: a strongly consistent read, for deciding what a write just made unreferenced. */
  async current(accountId: string): Promise<StoredAccount | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: TABLE_KEYS.account(accountId), ConsistentRead: true }),
    );
    return Item as StoredAccount | undefined;
  }

  async remove(accountId: string): Promise<void> {
    const { Attributes } = await this.documents.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.account(accountId),
        ReturnValues: 'ALL_OLD',
      }),
    );
    const before = counted(Attributes);
    await this.changes.bump(accountId, { accounts: -before.accounts, mailboxes: -before.mailboxes });
  }

  /** One page of the accounts by id, after the id `after`: a query of `limit` + 1 items, whatever the total. */
  async page(
    limit: number,
    after: string | undefined,
  ): Promise<{ accounts: StoredAccount[]; more: boolean }> {
    const { Items = [] } = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: after === undefined ? 'pk = :pk' : 'pk = :pk AND sk > :after',
        ExpressionAttributeValues: {
          ':pk': TABLE_PARTITIONS.accounts,
          ...(after === undefined ? {} : { ':after': after }),
        },
        Limit: limit + 1,
      }),
    );
    return { accounts: Items.slice(0, limit) as StoredAccount[], more: Items.length > limit };
  }

  /** Which of these ids are stored: their items only (BatchGetItem, 100 keys a call). */
  async existing(ids: readonly string[]): Promise<ReadonlySet<string>> {
    const found = await batchGetAll<StoredAccount>(
      this.documents,
      this.tableName,
      ids.map((id) => ({ ...TABLE_KEYS.account(id) })),
    );
    return new Set(found.map((account) => account.id));
  }

  async stored(): Promise<StoredAccount[]> {
    return queryAll<StoredAccount>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.accounts },
    });
  }

  /**
   * Accounts whose credentials cannot be read are left out (and logged), not allowed to stop the others. An
   * account whose item has not changed keeps the credentials opened before: no Secrets Manager or Encryption SDK
   * call per account and listing.
   */
  async list(select: AccountSelection): Promise<readonly AccountConfig[]> {
    const stored = await this.changes.accounts(this.held?.());
    const selected = new Set(await select(stored.map((account) => account.id)));
    const opened = new Map<string, { readonly from: StoredAccount; readonly account: AccountConfig }>();
    await Promise.all(
      stored
        .filter((account) => selected.has(account.id))
        .map(async (account) => {
          const before = this.openedBefore.get(account.id);
          // The listing hands out the same item objects while their shard is unchanged: compared by identity
          // every poll, by content only when a shard was read again.
          if (
            before &&
            (before.from === account || JSON.stringify(before.from) === JSON.stringify(account))
          ) {
            opened.set(account.id, before);
            return;
          }
          const config = await this.opened(account);
          if (config) opened.set(account.id, { from: account, account: config });
        }),
    );
    this.openedBefore = opened;
    return stored.flatMap((account) => {
      const entry = opened.get(account.id);
      return entry ? [entry.account] : [];
    });
  }

  /** The account with its credentials opened; undefined (and logged) where they cannot be read. */
  async opened(account: StoredAccount): Promise<AccountConfig | undefined> {
    try {
      return { ...settingsOfStored(account), auth: await this.credentialsOf(account) };
    } catch (error) {
      this.logger.error('cannot read the credentials of an account (a watcher task leaves it unwatched)', {
        account: account.id,
        error: errorMessage(error),
      });
      return undefined;
    }
  }

  private async credentialsOf(account: StoredAccount): Promise<AccountConfig['auth']> {
    if (account.oauth2) {
      const { sealedSecret, secretArn } = account.oauth2;
      const source = secretArn ?? `the sealed OAuth2 secret of ${account.id}`;
      const secret = parseSecretJson<{ refreshToken?: string; clientSecret?: string }>(
        await this.credential(account.id, sealedSecret, secretArn),
        source,
      );
      if (!secret.refreshToken) throw new Error(`${source} has no refreshToken`);
      return {
        kind: 'oauth2',
        tokenUrl: account.oauth2.tokenUrl,
        clientId: account.oauth2.clientId,
        clientSecret: secret.clientSecret,
        refreshToken: secret.refreshToken,
        scope: account.oauth2.scope,
      };
    }
    return {
      kind: 'password',
      password: await this.credential(account.id, account.sealedPassword, account.passwordSecretArn),
    };
  }

  private credential(id: string, sealed: string | undefined, secretArn: string | undefined): Promise<string> {
    const { sealer, secrets } = this.credentials;
    if (sealed !== undefined) {
      if (!sealer)
        throw new Error(
          'the credentials are sealed but IDLEHOOK_CREDENTIALS_KEY_ID is not set: deploy the stack again',
        );
      return sealer.open(sealed, { kind: 'account', id });
    }
    if (secretArn !== undefined) return secrets.resolve(secretArn);
    throw new Error('neither a password nor OAuth2 is stored');
  }
}
