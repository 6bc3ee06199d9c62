import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { PendingDelivery, RetryLedger } from '../../ports/pipeline.js';
import type { Clock } from '../../ports/services.js';
import { queryAll, type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { TABLE_KEYS, TTL_ATTRIBUTE, WRITE_SHARDS } from './state-table.js';

/** A note outlives its due time by this long, then DynamoDB clears it (a delivery settled without its note). */
const NOTE_KEPT_SECONDS = 24 * 3600;

interface RetryingItem extends PendingDelivery {
  readonly receiptHandle: string;
}

/**
 * AWS mode's deliveries being retried: SQS holds a failed delivery back by its visibility timeout and can neither
 * list such messages nor hurry them without the receipt handle. The deliver function notes each retry it schedules
 * (with that handle) in the state table, and removes the note once a retried delivery is settled; the API lists
 * the notes and makes their messages due now.
 */
export class DynamoDbRetryLedger extends StateTableAdapter implements RetryLedger {
  constructor(
    table: StateTable,
    private readonly queue: { makeDueNow(receiptHandle: string): Promise<boolean> },
    /** The subscriptions whose notes `pending` lists. */
    private readonly subscriptionIds: () => Promise<readonly string[]>,
    private readonly clock: Clock,
  ) {
    super(table);
  }

  async scheduled(pending: PendingDelivery, receiptHandle: string): Promise<void> {
    const item: RetryingItem = { ...pending, receiptHandle };
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...TABLE_KEYS.retrying(pending.subscriptionId, pending.eventId),
          ...item,
          [TTL_ATTRIBUTE]: Math.floor(pending.nextAttemptAt / 1000) + NOTE_KEPT_SECONDS,
        },
      }),
    );
  }

  async settled(subscriptionId: string, eventId: string): Promise<void> {
    await this.documents.send(
      new DeleteCommand({ TableName: this.tableName, Key: TABLE_KEYS.retrying(subscriptionId, eventId) }),
    );
  }

  async pending(): Promise<PendingDelivery[]> {
    const notes = await Promise.all((await this.subscriptionIds()).map((id) => this.notesOf(id)));
    return notes
      .flat()
      .map(({ eventId, eventType, subscriptionId, attempts, nextAttemptAt }) => ({
        eventId,
        eventType,
        subscriptionId,
        attempts,
        nextAttemptAt,
      }))
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  }

  async retryNow(subscriptionId: string): Promise<number> {
    const hurried = await Promise.all(
      (await this.notesOf(subscriptionId)).map((note) => this.queue.makeDueNow(note.receiptHandle)),
    );
    return hurried.filter(Boolean).length;
  }

  private async notesOf(subscriptionId: string): Promise<RetryingItem[]> {
    const shards = await Promise.all(
      Array.from({ length: WRITE_SHARDS }, (_, shard) =>
        queryAll<RetryingItem>(this.documents, {
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': TABLE_KEYS.retrying(subscriptionId, '', String(shard)).pk },
        }),
      ),
    );
    // A note past its time to live may be read until DynamoDB gets round to deleting it.
    const expired = this.clock.now() - NOTE_KEPT_SECONDS * 1000;
    return shards.flat().filter((note) => note.nextAttemptAt > expired);
  }
}
