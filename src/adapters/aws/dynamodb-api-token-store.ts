import { DeleteCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  apiTokenHash,
  isTokenScope,
  newApiToken,
  newLoginCode,
  type TokenScope,
} from '../../domain/api-tokens.js';
import type { ApiTokenInfo, ApiTokenStore } from '../../ports/management.js';
import type { Clock } from '../../ports/services.js';
import { isFailedCondition, queryAll, type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { TABLE_KEYS, TABLE_PARTITIONS, TTL_ATTRIBUTE } from './state-table.js';

interface TokenItem {
  readonly sk: string;
  readonly id: string;
  readonly name: string;
  /** Absent on tokens made before scopes existed: those are `full`. */
  readonly scope?: TokenScope;
  readonly createdAt: number;
  readonly lastUsedAt?: number;
  /** Absent on tokens: `login-code` marks a login link's code, never accepted as a token. */
  readonly kind?: 'login-code';
  /** Unix seconds (the table's TTL attribute, so DynamoDB clears it away); absent: until revoked. */
  readonly expiresAt?: number;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * Management API tokens in the state table (pk API_TOKENS, sk = SHA-256 of the token): a request's token is
 * looked up by its hash with one keyed write, as in local mode's SQLite table.
 */
export class DynamoDbApiTokenStore extends StateTableAdapter implements ApiTokenStore {
  constructor(
    table: StateTable,
    private readonly clock: Clock,
  ) {
    super(table);
  }

  async create(
    name: string,
    scope: TokenScope,
    expiresAt?: number,
  ): Promise<{ readonly id: string; readonly token: string }> {
    const { id, token } = newApiToken();
    await this.put(token, {
      id,
      name,
      scope,
      ...(expiresAt === undefined ? {} : { expiresAt: seconds(expiresAt) }),
    });
    return { id, token };
  }

  async createLoginCode(scope: TokenScope, expiresAt: number): Promise<string> {
    const code = newLoginCode();
    const { id } = newApiToken();
    await this.put(code, {
      id,
      name: 'dashboard login link',
      scope,
      kind: 'login-code',
      expiresAt: seconds(expiresAt),
    });
    return code;
  }

  async redeemLoginCode(code: string): Promise<TokenScope | undefined> {
    try {
      // Deleted on its first use, whoever races for it: the condition lets one delete see the item.
      const { Attributes } = await this.documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: TABLE_KEYS.apiToken(apiTokenHash(code)),
          ConditionExpression: 'kind = :code AND #expiresAt > :now',
          ExpressionAttributeNames: { '#expiresAt': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':code': 'login-code', ':now': seconds(this.clock.now()) },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const scope: unknown = Attributes?.scope;
      return isTokenScope(scope) ? scope : undefined;
    } catch (error) {
      if (isFailedCondition(error)) return undefined;
      throw error;
    }
  }

  private async put(secret: string, fields: Omit<TokenItem, 'sk' | 'createdAt'>): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...TABLE_KEYS.apiToken(apiTokenHash(secret)), ...fields, createdAt: this.clock.now() },
      }),
    );
  }

  private items(): Promise<TokenItem[]> {
    return queryAll<TokenItem>(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.apiTokens },
    });
  }

  /** The tokens, live or expired but not yet cleared away by DynamoDB's TTL (which may take days). */
  private async tokens(): Promise<TokenItem[]> {
    return (await this.items()).filter((item) => item.kind === undefined);
  }

  private live = (item: TokenItem) =>
    item.expiresAt === undefined || item.expiresAt > seconds(this.clock.now());

  async list(): Promise<readonly ApiTokenInfo[]> {
    return (await this.tokens())
      .map((item) => ({
        id: item.id,
        name: item.name,
        scope: item.scope ?? 'full',
        createdAt: item.createdAt,
        lastUsedAt: item.lastUsedAt,
        expiresAt: item.expiresAt === undefined ? undefined : item.expiresAt * 1000,
      }))
      .sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  }

  async any(): Promise<boolean> {
    return (await this.tokens()).some(this.live);
  }

  async revoke(id: string): Promise<boolean> {
    const item = (await this.tokens()).find((candidate) => candidate.id === id);
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
          ConditionExpression:
            'attribute_exists(pk) AND attribute_not_exists(kind) AND (attribute_not_exists(#expiresAt) OR #expiresAt > :seconds)',
          ExpressionAttributeNames: { '#expiresAt': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':now': this.clock.now(), ':seconds': seconds(this.clock.now()) },
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
