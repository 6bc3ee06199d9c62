import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { msUntilNextWindow, windowOf } from '../../domain/rate-window.js';
import type { Admission, EndpointThrottle } from '../../ports/pipeline.js';
import type { Clock } from '../../ports/services.js';
import { isFailedCondition, type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { TABLE_KEYS } from './state-table.js';

/**
 * Per-endpoint rate limits for the deliver function. A limit must hold across every concurrent function
 * instance, so it is counted in one DynamoDB item per endpoint and second (pk RATE#<subscription>, sk the
 * second; a conditional ADD admits or refuses). Only endpoints with a rate limit cost a request. A slow
 * endpoint's backlog is kept from holding up the others by SQS fair queues (grouped by subscription).
 */
export class DynamoDbEndpointThrottle extends StateTableAdapter implements EndpointThrottle {
  constructor(
    table: StateTable,
    private readonly clock: Clock,
  ) {
    super(table);
  }

  async admit(subscriptionId: string, ratePerSecond: number): Promise<Admission> {
    const now = this.clock.now();
    const second = windowOf(now);
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TABLE_KEYS.rateWindow(subscriptionId, String(second)),
          UpdateExpression: 'ADD admitted :one SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(admitted) OR admitted < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': ratePerSecond, ':expiresAt': second + 60 },
        }),
      );
      return { admitted: true };
    } catch (error) {
      if (!isFailedCondition(error)) throw error;
      return { admitted: false, retryInMs: msUntilNextWindow(now) };
    }
  }
}
