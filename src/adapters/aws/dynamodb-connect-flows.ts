import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectFlowStore, PendingConnectFlow } from '../../ports/management.js';
import { conditionalPut, StateTableAdapter } from './dynamodb-documents.js';
import { TABLE_KEYS } from './state-table.js';

/**
 * Connect flows in the state table: the user leaves through one function instance and may come back through
 * another. Taking a flow deletes it in the same request, so a `state` works once; TTL removes abandoned ones.
 */
export class DynamoDbConnectFlows extends StateTableAdapter implements ConnectFlowStore {
  claimLink(signature: string, expiresAt: number): Promise<boolean> {
    return conditionalPut(
      this.documents,
      {
        TableName: this.tableName,
        Item: { ...TABLE_KEYS.connectLink(signature), expiresAt: Math.ceil(expiresAt / 1000) },
      },
      'new',
    );
  }

  async put(id: string, flow: PendingConnectFlow, expiresAt: number): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          ...TABLE_KEYS.connectFlow(id),
          provider: flow.provider,
          account: flow.account,
          redirect: flow.redirect,
          verifier: flow.verifier,
          validUntil: expiresAt,
          expiresAt: Math.ceil(expiresAt / 1000),
        },
      }),
    );
  }

  async take(id: string, now: number): Promise<PendingConnectFlow | undefined> {
    const { Attributes } = await this.documents.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.connectFlow(id),
        ReturnValues: 'ALL_OLD',
      }),
    );
    // TTL deletes within days, not at once: an expired item may still be there.
    if (!Attributes || Number(Attributes.validUntil) <= now) return undefined;
    return {
      provider: String(Attributes.provider),
      account: String(Attributes.account),
      redirect: String(Attributes.redirect),
      verifier: String(Attributes.verifier),
    };
  }
}
