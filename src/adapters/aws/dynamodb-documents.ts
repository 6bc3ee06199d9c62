import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  PutCommand,
  type PutCommandInput,
  paginateQuery,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** The document client every adapter on the state table uses: plain JS values in, undefined fields dropped. */
function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The state table as its adapters use it: made once by a composition root and shared by every adapter. */
export interface StateTable {
  readonly documents: DynamoDBDocumentClient;
  readonly name: string;
}

export function stateTable(client: DynamoDBClient, name: string): StateTable {
  return { documents: documentClient(client), name };
}

/** An adapter on the state table: its document client and the table's name, from the one handle. */
export abstract class StateTableAdapter {
  protected readonly documents: DynamoDBDocumentClient;
  protected readonly tableName: string;

  constructor(table: StateTable) {
    this.documents = table.documents;
    this.tableName = table.name;
  }
}

/** Every item a query matches, across pages. */
export async function queryAll<Item>(
  documents: DynamoDBDocumentClient,
  input: QueryCommandInput,
): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateQuery({ client: documents }, input))
    items.push(...((page.Items ?? []) as Item[]));
  return items;
}

/** DynamoDB's most keys per BatchGetItem. */
const BATCH_GET_KEYS = 100;

/**
 * The items at these keys (missing ones left out), 100 keys a call, retrying the keys DynamoDB leaves unprocessed
 * (it may, under load or past 16 MB) after a short wait.
 */
export async function batchGetAll<Item>(
  documents: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Record<string, string>[],
): Promise<Item[]> {
  const items: Item[] = [];
  for (let start = 0; start < keys.length; start += BATCH_GET_KEYS) {
    let pending: readonly Record<string, unknown>[] = keys.slice(start, start + BATCH_GET_KEYS);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
      const { Responses, UnprocessedKeys } = await documents.send(
        new BatchGetCommand({ RequestItems: { [tableName]: { Keys: [...pending] } } }),
      );
      items.push(...((Responses?.[tableName] ?? []) as Item[]));
      pending = UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  }
  return items;
}

/**
 * A put's precondition: `new` only where no item has the key (a create), `existing` only where one does (a change
 * that a concurrent delete may have overtaken); absent: whatever is there.
 */
export type PutCondition = 'new' | 'existing';

/** Puts the item; false when `condition` did not hold (nothing written). */
export async function conditionalPut(
  documents: DynamoDBDocumentClient,
  input: PutCommandInput,
  condition: PutCondition | undefined,
): Promise<boolean> {
  return (await putReplacing(documents, input, condition)).written;
}

/** Puts the item as conditionalPut does, and returns the item it replaced (ReturnValues: ALL_OLD). */
export async function putReplacing(
  documents: DynamoDBDocumentClient,
  input: PutCommandInput,
  condition: PutCondition | undefined,
): Promise<{ readonly written: boolean; readonly replaced?: Record<string, unknown> }> {
  const expression =
    condition === undefined
      ? {}
      : { ConditionExpression: condition === 'new' ? 'attribute_not_exists(pk)' : 'attribute_exists(pk)' };
  try {
    const { Attributes } = await documents.send(
      new PutCommand({ ...input, ...expression, ReturnValues: 'ALL_OLD' }),
    );
    return { written: true, ...(Attributes ? { replaced: Attributes } : {}) };
  } catch (error) {
    if (isFailedCondition(error)) return { written: false };
    throw error;
  }
}

/** Whether a write failed only because its condition did not hold (the store refusing it, by design). */
export function isFailedCondition(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}
