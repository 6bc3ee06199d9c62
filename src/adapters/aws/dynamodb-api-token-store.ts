import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { apiTokenHash, isTokenScope, newApiToken, type TokenScope } from '../../domain/api-tokens.js';
import type { ApiTokenInfo, ApiTokenStore } from '../../ports/management.js';
import type { Clock } from '../../ports/services.js';
import { documentClient, isFailedCondition, queryAll } from './dynamodb-documents.js';
import { TABLE_KEYS, TABLE_PARTITIONS } from './state-table.js';

interface TokenItem {
  readonly sk: string;
  readonly id: string;
  readonly name: string;
  /** Absent on tokens made before scopes existed: those are `full`. */
  readonly scope?: TokenScope;
  readonly createdAt: number;
  readonly lastUsedAt?: number;
}

/**
 * Management API tokens in the state table (pk API_TOKENS, sk = SHA-256 of the token): a request's token is
 * looked up by its hash with one keyed write, as in local mode's SQLite table.
 */
export class DynamoDbApiTokenStore implements ApiTokenStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {
    this.documents = documentClient(client);
  }

  async create(name: string, scope: TokenScope): Promise<{ readonly id: string; readonly token: string }> {
    const { id, token } = newApiToken();
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...TABLE_KEYS.apiToken(apiTokenHash(token)), id, name, scope, createdAt: this.clock.now() },
      }),
    );
    return { id, token };
  }

  private items(): Promise<TokenItem[]> {
    return queryAll<TokenItem>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.apiTokens },
    });
  }

  async list(): Promise<readonly ApiTokenInfo[]> {
    return (await this.items())
      .map((item) => ({
        id: item.id,
        name: item.name,
        scope: item.scope ?? 'full',
        createdAt: item.createdAt,
        lastUsedAt: item.lastUsedAt,
      }))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async any(): Promise<boolean> {
    return (await this.items()).length > 0;
  }

  async revoke(id: string): Promise<boolean> {
    const item = (await this.items()).find((candidate) => candidate.id === id);
    if (!item) return false;
    await this.documents.send(
      new DeleteCommand({ TableName: this.tableName, Key: TABLE_KEYS.apiToken(item.sk) }),
    );
    return true;
  }

  async verify(token: string): Promise<TokenScope | undefined> {
    try {
      const { Attributes } = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: TABLE_KEYS.apiToken(apiTokenHash(token)),
          UpdateExpression: 'SET lastUsedAt = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':now': this.clock.now() },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const scope: unknown = Attributes?.scope ?? 'full';
      return isTokenScope(scope) ? scope : undefined;
    } catch (error) {
      if (isFailedCondition(error)) return undefined;
      throw error;
    }
  }
}
