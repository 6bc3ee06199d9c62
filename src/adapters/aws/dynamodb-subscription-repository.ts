import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { errorMessage } from '../../domain/errors.js';
import { compileEventFilter, type EventFilter } from '../../domain/event-filter.js';
import type { EventType } from '../../domain/event-schemas.js';
import type { MessageAction } from '../../domain/message-actions.js';
import { decodeWebhookSecret } from '../../domain/signing.js';
import type { SubscriptionConfig } from '../../domain/subscriptions.js';
import type { SubscriptionRepository } from '../../ports/pipeline.js';
import type { Clock, SecretResolver } from '../../ports/services.js';
import {
  conditionalPut,
  type PutCondition,
  queryAll,
  type StateTable,
  StateTableAdapter,
} from './dynamodb-documents.js';
import { TABLE_KEYS, TABLE_PARTITIONS } from './state-table.js';

/** A subscription as stored: everything but the secret, which stays in Secrets Manager. */
export interface StoredSubscription {
  readonly id: string;
  readonly url: string;
  readonly secretArn: string;
  /** During a rotation: the previous secret, signed with too. */
  readonly previousSecretArn?: string;
  /** When signing with the previous secret stops (ms); without it, while it is stored. */
  readonly previousSecretExpiresAt?: number;
  readonly events?: readonly EventType[];
  readonly accounts?: readonly string[];
  readonly rateLimitPerSecond?: number;
  /** The filter's event pattern as JSON text: kept exactly as given, whatever its field names. */
  readonly filter?: string;
  readonly afterDelivery?: readonly MessageAction[];
}

/**
 * A stored filter, compiled. One this version cannot read (written by a later one) is that subscription's problem,
 * not the list's: its events are routed to it and their deliveries fail, so nothing is dropped or sent unfiltered.
 */
function filterOf(
  stored: StoredSubscription,
): { readonly filter: EventFilter | undefined } | { readonly problem: string } {
  if (stored.filter === undefined) return { filter: undefined };
  try {
    const compiled = compileEventFilter(JSON.parse(stored.filter));
    if ('ok' in compiled) return { filter: compiled.ok };
    const [first] = compiled.problems;
    return { problem: `the stored filter cannot be read: ${first?.path.join('.')}: ${first?.message}` };
  } catch (error) {
    return { problem: `the stored filter cannot be read: ${errorMessage(error)}` };
  }
}

/**
 * Subscriptions in the state table (pk SUBSCRIPTIONS, sk = id: one Query lists them all), their secrets
 * resolved through the SecretResolver. The list is cached briefly so a batch of records costs one Query.
 */
export class DynamoDbSubscriptionRepository extends StateTableAdapter implements SubscriptionRepository {
  private cached: { list: Promise<readonly SubscriptionConfig[]>; expiresAt: number } | undefined;

  constructor(
    table: StateTable,
    /** Undefined: list without the signing secrets (for routing events to subscriptions only). */
    private readonly secrets: SecretResolver | undefined,
    private readonly clock: Clock,
    private readonly ttlMs = 30_000,
  ) {
    super(table);
  }

  /** Stores the subscription; false when `condition` did not hold (nothing written). */
  async put(subscription: StoredSubscription, condition?: PutCondition): Promise<boolean> {
    try {
      return await conditionalPut(
        this.documents,
        { TableName: this.tableName, Item: { ...TABLE_KEYS.subscription(subscription.id), ...subscription } },
        condition,
      );
    } finally {
      this.cached = undefined;
    }
  }

  /** One as stored now: a strongly consistent read, for deciding what a write just made unreferenced. */
  async current(subscriptionId: string): Promise<StoredSubscription | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.subscription(subscriptionId),
        ConsistentRead: true,
      }),
    );
    return Item as StoredSubscription | undefined;
  }

  async remove(subscriptionId: string): Promise<void> {
    await this.documents.send(
      new DeleteCommand({ TableName: this.tableName, Key: TABLE_KEYS.subscription(subscriptionId) }),
    );
    this.cached = undefined;
  }

  /** As stored, secrets unresolved (for listing). */
  stored(): Promise<StoredSubscription[]> {
    return queryAll(this.documents, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': TABLE_PARTITIONS.subscriptions },
    });
  }

  list(): Promise<readonly SubscriptionConfig[]> {
    if (this.cached && this.cached.expiresAt > this.clock.now()) return this.cached.list;
    const list = this.load();
    list.catch(() => {
      this.cached = undefined;
    });
    this.cached = { list, expiresAt: this.clock.now() + this.ttlMs };
    return list;
  }

  private async load(): Promise<readonly SubscriptionConfig[]> {
    return Promise.all(
      (await this.stored()).map(async (s) => {
        const filter = filterOf(s);
        const keys = await this.signingKeys(s);
        return {
          id: s.id,
          url: s.url,
          ...keys,
          ...('problem' in filter && !keys.deliveryProblem ? { deliveryProblem: filter.problem } : {}),
          previousSecretUntil: s.previousSecretArn ? s.previousSecretExpiresAt : undefined,
          events: s.events ? new Set(s.events) : undefined,
          accounts: s.accounts ? new Set(s.accounts) : undefined,
          rateLimitPerSecond: s.rateLimitPerSecond,
          filter: 'filter' in filter ? filter.filter : undefined,
          afterDelivery: s.afterDelivery,
        };
      }),
    );
  }

  /** One subscription's keys; a secret that cannot be used is that subscription's problem, not the list's. */
  private async signingKeys(
    subscription: StoredSubscription,
  ): Promise<Pick<SubscriptionConfig, 'secrets' | 'deliveryProblem'>> {
    const resolver = this.secrets;
    if (!resolver) return { secrets: [] };
    const arns = [subscription.secretArn, subscription.previousSecretArn].filter(
      (arn): arn is string => arn !== undefined,
    );
    const secrets: Buffer[] = [];
    for (const arn of arns) {
      try {
        secrets.push(decodeWebhookSecret(await resolver.resolve(arn)));
      } catch (error) {
        return {
          secrets: [],
          deliveryProblem: `the signing secret ${arn} cannot be used: ${errorMessage(error)}`,
        };
      }
    }
    return { secrets };
  }
}
