import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  PutCommand,
  type PutCommandInput,
  paginateQuery,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** The document client every adapter on the state table uses: plain JS values in, undefined fields dropped. */
export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
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
  const expression =
    condition === undefined
      ? {}
      : { ConditionExpression: condition === 'new' ? 'attribute_not_exists(pk)' : 'attribute_exists(pk)' };
  try {
    await documents.send(new PutCommand({ ...input, ...expression }));
    return true;
  } catch (error) {
    if (isFailedCondition(error)) return false;
    throw error;
  }
}

/** Whether a write failed only because its condition did not hold (the store refusing it, by design). */
export function isFailedCondition(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException;
}
