import { createHash } from 'node:crypto';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { deadLetterBodyKey, stateBlobKey } from '../../domain/blob-keys.js';
import type { EndpointHealth } from '../../domain/endpoint-health.js';
import { MailboxNotOwnedError } from '../../domain/errors.js';
import type { FolderEntry } from '../../domain/folder-tree.js';
import type { MailboxCursor } from '../../domain/sync.js';
import {
  deadLetterMatches,
  deadLetterOrderKey,
  failedAtKey,
  pageOfDeadLetters,
} from '../../pipeline/dead-letter-pages.js';
import type {
  DeadLetter,
  DeadLetterPage,
  DeadLetterQuery,
  DeadLetterSummary,
  DeliveryLog,
  SubscriptionStatusStore,
} from '../../ports/pipeline.js';
import type { BlobStore, Clock } from '../../ports/services.js';
import type { CursorStore, LeaseFence, UidGaps } from '../../ports/watcher.js';
import { isFailedCondition, queryAll, type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import {
  DEAD_LETTER_INDEX,
  DEAD_LETTER_INDEX_KEYS,
  TABLE_KEYS,
  TABLE_PARTITIONS,
  type TableKey,
  writeShardOf,
} from './state-table.js';

/** A cursor write under a lease: refused once the cursor was written under a later lease (a newer owner). */
const UNDER_CURRENT_LEASE = '(attribute_not_exists(leaseEpoch) OR leaseEpoch <= :epoch)';

/**
 * The state store on one DynamoDB table (single-table design: state-table.ts, and docs/deploying-to-aws.md, "DynamoDB table").
 * Correctness rests on conditional writes only (no transactions): a cursor moves forward within one
 * UIDVALIDITY, a delivered outcome is never turned back into a dead letter.
 */
export class DynamoDbStateStore
  extends StateTableAdapter
  implements CursorStore, DeliveryLog, SubscriptionStatusStore
{
  constructor(
    table: StateTable,
    private readonly clock: Clock,
    /** Dead-letter bodies too large for a DynamoDB item (400 KB) are kept here and referenced. */
    private readonly overflow: BlobStore,
    /** Delivered outcomes expire (DynamoDB TTL on `expiresAt`) after this long; dead letters never do. */
    private readonly deliveredRetentionSeconds = 30 * 86_400,
  ) {
    super(table);
  }

  async getCursor(account: string, mailbox: string): Promise<MailboxCursor | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.cursor(account, mailbox),
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return {
      uidValidity: Item.uidValidity,
      lastUid: Item.lastUid,
      highestModseq: Item.highestModseq ?? null,
    };
  }

  async advanceCursor(
    account: string,
    mailbox: string,
    cursor: MailboxCursor,
    fence?: LeaseFence,
  ): Promise<void> {
    const key = TABLE_KEYS.cursor(account, mailbox);
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression:
            'SET lastUid = :lastUid, updatedAt = :now' +
            (cursor.highestModseq ? ', highestModseq = :modseq' : '') +
            (fence ? ', leaseEpoch = :epoch' : ''),
          ConditionExpression:
            'uidValidity = :uidValidity AND lastUid <= :lastUid' +
            (fence ? ` AND ${UNDER_CURRENT_LEASE}` : ''),
          ExpressionAttributeValues: {
            ':lastUid': cursor.lastUid,
            ':uidValidity': cursor.uidValidity,
            ':now': this.clock.now(),
            ...(cursor.highestModseq ? { ':modseq': cursor.highestModseq } : {}),
            ...(fence ? { ':epoch': fence.epoch } : {}),
          },
        }),
      );
    } catch (error) {
      if (!isFailedCondition(error)) throw error;
      // Refused: a cursor already further on is fine (nothing to do); a later lease's write is not.
      if (fence && (await this.leaseEpochOf(key)) > fence.epoch) throw new MailboxNotOwnedError(account);
    }
  }

  async resetCursor(
    account: string,
    mailbox: string,
    cursor: MailboxCursor,
    fence?: LeaseFence,
  ): Promise<void> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...TABLE_KEYS.cursor(account, mailbox),
            ...cursor,
            updatedAt: this.clock.now(),
            ...(fence ? { leaseEpoch: fence.epoch } : {}),
          },
          ...(fence
            ? {
                ConditionExpression: UNDER_CURRENT_LEASE,
                ExpressionAttributeValues: { ':epoch': fence.epoch },
              }
            : {}),
        }),
      );
    } catch (error) {
      if (isFailedCondition(error)) throw new MailboxNotOwnedError(account);
      throw error;
    }
  }

  /** The epoch of the lease the cursor was last written under (0: written without one). */
  private async leaseEpochOf(key: TableKey): Promise<number> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    return typeof Item?.leaseEpoch === 'number' ? Item.leaseEpoch : 0;
  }

  async getUidGaps(account: string, mailbox: string): Promise<UidGaps | undefined> {
    const stored = await this.getSized(TABLE_KEYS.uidGaps(account, mailbox), 'gaps');
    return stored && { uidValidity: String(stored.item.uidValidity), gaps: stored.value };
  }

  async setUidGaps(account: string, mailbox: string, gaps: UidGaps): Promise<void> {
    await this.putSized(TABLE_KEYS.uidGaps(account, mailbox), 'gaps', gaps.gaps, {
      uidValidity: gaps.uidValidity,
    });
  }

  async getFolderTree(account: string): Promise<FolderEntry[] | undefined> {
    const stored = await this.getSized(TABLE_KEYS.folderTree(account), 'folders');
    return stored && (JSON.parse(stored.value) as FolderEntry[]);
  }

  async setFolderTree(account: string, folders: readonly FolderEntry[]): Promise<void> {
    await this.putSized(TABLE_KEYS.folderTree(account), 'folders', JSON.stringify(folders), {});
  }

  /**
   * Writes a value that can outgrow an item (a mailbox with tens of thousands of UID gaps, an account with tens
   * of thousands of folders): up to MAX_INLINE_BODY_BYTES inline, beyond that in the blob store under a
   * content-addressed key that the item points to. The item switches atomically; the blob it pointed to before
   * is deleted after.
   */
  private async putSized(
    key: { pk: string; sk: string },
    attribute: string,
    value: string,
    rest: Record<string, unknown>,
  ): Promise<void> {
    const inline = Buffer.byteLength(value) <= MAX_INLINE_BODY_BYTES;
    const hash = (text: string) => createHash('sha256').update(text).digest('hex');
    const ref = inline ? undefined : stateBlobKey(hash(`${key.pk}\u0000${key.sk}`), hash(value));
    if (ref) await this.overflow.put(ref, Buffer.from(value));
    const { Attributes } = await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key, ...rest, ...(ref ? { [`${attribute}Ref`]: ref } : { [attribute]: value }) },
        ReturnValues: 'ALL_OLD',
      }),
    );
    const previous = Attributes?.[`${attribute}Ref`];
    if (typeof previous === 'string' && previous !== ref) await this.overflow.delete(previous);
  }

  private async getSized(
    key: { pk: string; sk: string },
    attribute: string,
  ): Promise<{ item: Record<string, unknown>; value: string } | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
    );
    if (!Item) return undefined;
    const ref = Item[`${attribute}Ref`];
    if (typeof ref !== 'string') return { item: Item, value: String(Item[attribute]) };
    const stored = await this.overflow.get(ref);
    if (!stored) throw new Error(`the ${attribute} of ${key.pk} are missing from the blob store (${ref})`);
    return { item: Item, value: stored.toString('utf8') };
  }

  async isDelivered(eventId: string, subscriptionId: string): Promise<boolean> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.outcome(eventId, subscriptionId),
        ConsistentRead: true,
        ProjectionExpression: '#status',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    );
    return Item?.status === 'delivered';
  }

  async markDelivered(eventId: string, subscriptionId: string, attempts: number): Promise<void> {
    const now = this.clock.now();
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.outcome(eventId, subscriptionId),
        UpdateExpression:
          'SET #status = :delivered, attempts = :attempts, updatedAt = :now, expiresAt = :expiresAt ' +
          'REMOVE body, bodyRef, reason, gsi1pk, gsi1sk',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':delivered': 'delivered',
          ':attempts': attempts,
          ':now': now,
          ':expiresAt': Math.floor(now / 1000) + this.deliveredRetentionSeconds,
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    // A replayed dead letter's body has served its purpose (dead-letter bodies have no expiry of their own).
    if (typeof Attributes?.bodyRef === 'string') await this.overflow.delete(Attributes.bodyRef);
  }

  async deadLetter(letter: DeadLetter): Promise<void> {
    // The body is kept so a replay is byte-identical; a large one goes to the blob store, referenced.
    const inline = Buffer.byteLength(letter.body) <= MAX_INLINE_BODY_BYTES;
    const bodyRef = deadLetterBodyKey(letter.eventId, letter.subscriptionId);
    if (!inline) await this.overflow.put(bodyRef, Buffer.from(letter.body));
    await ignoringFailedCondition(
      this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TABLE_KEYS.outcome(letter.eventId, letter.subscriptionId),
          UpdateExpression:
            `SET #status = :failed, eventType = :eventType, ${inline ? 'body' : 'bodyRef'} = :body, reason = :reason, ` +
            'attempts = :attempts, failedAt = :failedAt, updatedAt = :failedAt, gsi1pk = :deadLetters, gsi1sk = :order ' +
            `REMOVE ${inline ? 'bodyRef' : 'body'}`,
          ConditionExpression: 'attribute_not_exists(#status) OR #status <> :delivered',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':failed': 'failed',
            ':delivered': 'delivered',
            ':eventType': letter.eventType,
            ':body': inline ? letter.body : bodyRef,
            ':reason': letter.reason,
            ':attempts': letter.attempts,
            ':failedAt': letter.failedAt,
            ':deadLetters': `${DEAD_LETTER_INDEX.partition}#${writeShardOf(`${letter.eventId}#${letter.subscriptionId}`)}`,
            ':order': deadLetterOrderKey(letter),
          },
        }),
      ),
    );
  }

  async listDeadLetters(): Promise<DeadLetterSummary[]> {
    // Bodies are left out of the answer (and large ones in S3 are not fetched): a listing needs none. One query
    // per index key, merged oldest first as the single key listed them.
    const keys = await Promise.all(
      DEAD_LETTER_INDEX_KEYS.map((key) =>
        queryAll<DeadLetterItem & { gsi1sk: string }>(this.documents, {
          TableName: this.tableName,
          IndexName: DEAD_LETTER_INDEX.name,
          KeyConditionExpression: 'gsi1pk = :deadLetters',
          ProjectionExpression: Object.keys(LISTED_NAMES).join(', '),
          ExpressionAttributeNames: LISTED_NAMES,
          ExpressionAttributeValues: { ':deadLetters': key },
        }),
      ),
    );
    const items = keys.flat().sort((a, b) => (a.gsi1sk < b.gsi1sk ? -1 : a.gsi1sk > b.gsi1sk ? 1 : 0));
    return items.map(summaryOf);
  }

  /**
   * One page: each index key queried from the cursor on (key order is the page's order), until it has a page and
   * one more of matching letters or runs past the time filter, then merged. Reads grow with the page size and
   * the letters a subscription or event filter skips, never with the letters outside the time range.
   */
  async deadLetterPage(query: DeadLetterQuery): Promise<DeadLetterPage> {
    const wanted = query.limit + 1;
    const matches = deadLetterMatches(query.filter);
    const { since, until } = query.filter;
    const bound =
      query.after !== undefined
        ? { operator: query.newestFirst ? '<' : '>', value: query.after }
        : query.newestFirst
          ? until === undefined
            ? undefined
            : { operator: '<', value: failedAtKey(until) }
          : since === undefined
            ? undefined
            : { operator: '>=', value: failedAtKey(since) };
    const pastRange = (letter: DeadLetterSummary) =>
      query.newestFirst
        ? since !== undefined && letter.failedAt < since
        : until !== undefined && letter.failedAt >= until;
    const fromEachKey = await Promise.all(
      DEAD_LETTER_INDEX_KEYS.map(async (key) => {
        const found: DeadLetterSummary[] = [];
        let start: Record<string, unknown> | undefined;
        do {
          const answer = await this.documents.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: DEAD_LETTER_INDEX.name,
              KeyConditionExpression: `gsi1pk = :deadLetters${bound ? ` AND #order ${bound.operator} :bound` : ''}`,
              ProjectionExpression: Object.keys(LISTED_NAMES).join(', '),
              ExpressionAttributeNames: LISTED_NAMES,
              ExpressionAttributeValues: { ':deadLetters': key, ...(bound ? { ':bound': bound.value } : {}) },
              ScanIndexForward: !query.newestFirst,
              Limit: wanted,
              ExclusiveStartKey: start,
            }),
          );
          for (const item of (answer.Items ?? []) as DeadLetterItem[]) {
            const letter = summaryOf(item);
            if (pastRange(letter)) return found;
            if (matches(letter)) found.push(letter);
          }
          start = answer.LastEvaluatedKey;
        } while (start && found.length < wanted);
        return found;
      }),
    );
    return pageOfDeadLetters(fromEachKey.flat(), { ...query, after: undefined });
  }

  async deadLetterBody(eventId: string, subscriptionId: string): Promise<string | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.outcome(eventId, subscriptionId),
        ConsistentRead: true,
      }),
    );
    const item = Item as (DeadLetterItem & { status?: string }) | undefined;
    if (item?.status !== 'failed') return undefined;
    if (item.bodyRef) return (await this.overflow.get(item.bodyRef))?.toString('utf8');
    return item.body;
  }

  async health(subscriptionId: string): Promise<EndpointHealth> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.endpointHealth(subscriptionId),
        ConsistentRead: true,
      }),
    );
    return {
      ...(Item?.disabledReason ? { disabledReason: Item.disabledReason as string } : {}),
      ...(Item?.failingSince !== undefined ? { failingSince: Item.failingSince as number } : {}),
    };
  }

  async markFailing(subscriptionId: string, since: number): Promise<void> {
    await this.documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.endpointHealth(subscriptionId),
        UpdateExpression: 'SET failingSince = if_not_exists(failingSince, :since)',
        ExpressionAttributeValues: { ':since': since },
      }),
    );
  }

  async markHealthy(subscriptionId: string): Promise<void> {
    await this.documents
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TABLE_KEYS.endpointHealth(subscriptionId),
          UpdateExpression: 'REMOVE failingSince',
          ConditionExpression: 'attribute_exists(pk)',
        }),
      )
      .catch(ignoreFailedCondition);
  }

  async disable(subscriptionId: string, reason: string): Promise<boolean> {
    return this.documents
      .send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TABLE_KEYS.endpointHealth(subscriptionId),
          UpdateExpression: 'SET disabledReason = :reason, disabledAt = :now',
          ConditionExpression: 'attribute_not_exists(disabledReason)',
          ExpressionAttributeValues: { ':reason': reason, ':now': this.clock.now() },
        }),
      )
      .then(
        () => true,
        (error: unknown) => ignoreFailedCondition(error).then(() => false),
      );
  }

  async enable(subscriptionId: string): Promise<void> {
    await this.documents.send(
      new DeleteCommand({ TableName: this.tableName, Key: TABLE_KEYS.endpointHealth(subscriptionId) }),
    );
  }
}

interface DeadLetterItem {
  pk: string;
  sk: string;
  eventType: string;
  body?: string;
  bodyRef?: string;
  reason: string;
  attempts: number;
  failedAt: number;
}
/** A DynamoDB item holds 400 KB; leave room for the other attributes. */
const MAX_INLINE_BODY_BYTES = 300 * 1024;
const summaryOf = (item: DeadLetterItem): DeadLetterSummary => ({
  eventId: item.pk.slice(TABLE_PARTITIONS.event.length),
  subscriptionId: item.sk.slice('SUB#'.length),
  eventType: item.eventType,
  reason: item.reason,
  attempts: item.attempts,
  failedAt: item.failedAt,
});

/** A dead-letter listing reads the index's own copy: its keys and the attributes it projects, nothing else. */
const LISTED_NAMES = {
  '#pk': 'pk',
  '#sk': 'sk',
  '#order': DEAD_LETTER_INDEX.sortKey,
  '#eventType': 'eventType',
  '#reason': 'reason',
  '#attempts': 'attempts',
  '#failedAt': 'failedAt',
} satisfies Record<string, 'pk' | 'sk' | 'gsi1sk' | (typeof DEAD_LETTER_INDEX.listedAttributes)[number]>;

/** A failed condition is the store refusing a write that must not happen (backwards, downgrade): not an error. */
async function ignoringFailedCondition(write: Promise<unknown>): Promise<void> {
  await write.catch(ignoreFailedCondition);
}

async function ignoreFailedCondition(error: unknown): Promise<void> {
  if (!isFailedCondition(error)) throw error;
}
