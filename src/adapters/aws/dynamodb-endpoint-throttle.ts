import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { msUntilNextWindow, windowOf } from '../../domain/rate-window.js';
import type { Admission, Clock, EndpointLimits, EndpointThrottle } from '../../ports/index.js';
import { MemoryEndpointThrottle } from '../local/memory-endpoint-throttle.js';
import { documentClient, isFailedCondition } from './dynamodb-documents.js';

/**
 * Per-endpoint admission for the deliver function. A rate limit must hold across every concurrent function
 * instance, so it is counted in one DynamoDB item per endpoint and second (pk RATE#<subscription>, sk the
 * second; a conditional ADD admits or refuses). Endpoints without a rate limit cost no request. The in-flight
 * cap is per instance; across instances, SQS fair queues (grouped by subscription) keep a slow endpoint's
 * backlog from holding up the others.
 */
export class DynamoDbEndpointThrottle implements EndpointThrottle {
  private readonly documents: DynamoDBDocumentClient;
  private readonly slots: MemoryEndpointThrottle;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {
    this.documents = documentClient(client);
    this.slots = new MemoryEndpointThrottle(clock);
  }

  async admit(subscriptionId: string, limits: EndpointLimits): Promise<Admission> {
    const slot = await this.slots.admit(subscriptionId, {
      ratePerSecond: undefined,
      maxInFlight: limits.maxInFlight,
    });
    if (!slot.admitted || limits.ratePerSecond === undefined) return slot;
    const now = this.clock.now();
    const second = windowOf(now);
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `RATE#${subscriptionId}`, sk: String(second) },
          UpdateExpression: 'ADD admitted :one SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(admitted) OR admitted < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limits.ratePerSecond, ':expiresAt': second + 60 },
        }),
      );
      return slot;
    } catch (error) {
      slot.release();
      if (!isFailedCondition(error)) throw error;
      return { admitted: false, retryInMs: msUntilNextWindow(now) };
    }
  }
}
