import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AttemptLog, DeliveryAttempt } from '../../ports/pipeline.js';
import { type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { attemptsPartition, TABLE_KEYS } from './state-table.js';

/**
 * The per-endpoint attempt log on the state table: pk ATTEMPTS#<subscription>, sk <attemptedAt>#<event>#<n>,
 * so the newest attempts are one Query away. Items expire through the table's TTL attribute.
 */
export class DynamoDbAttemptLog extends StateTableAdapter implements AttemptLog {
  constructor(
    table: StateTable,
    private readonly retentionSeconds = 30 * 86_400,
  ) {
    super(table);
  }

  async recordAttempt(attempt: DeliveryAttempt): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...TABLE_KEYS.attempt(
            attempt.subscriptionId,
            String(attempt.attemptedAt).padStart(15, '0'),
            attempt.eventId,
            String(attempt.attempt),
          ),
          ...attempt,
          expiresAt: Math.floor(attempt.attemptedAt / 1000) + this.retentionSeconds,
        },
      }),
    );
  }

  async listAttempts(subscriptionId: string, limit: number): Promise<DeliveryAttempt[]> {
    const { Items = [] } = await this.documents.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': attemptsPartition(subscriptionId) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return Items.map(({ pk: _pk, sk: _sk, expiresAt: _expiresAt, ...attempt }) => attempt as DeliveryAttempt);
  }
}
