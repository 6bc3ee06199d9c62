import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AttemptLog, DeliveryAttempt } from '../../ports/pipeline.js';
import { documentClient } from './dynamodb-documents.js';
import { attemptsPartition, TABLE_KEYS } from './state-table.js';

/**
 * The per-endpoint attempt log on the state table: pk ATTEMPTS#<subscription>, sk <attemptedAt>#<event>#<n>,
 * so the newest attempts are one Query away. Items expire through the table's TTL attribute.
 */
export class DynamoDbAttemptLog implements AttemptLog {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly retentionSeconds = 30 * 86_400,
  ) {
    this.documents = documentClient(client);
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
