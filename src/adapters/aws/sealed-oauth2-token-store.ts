import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CredentialSealer } from '../../ports/services.js';
import type { OAuth2TokenStore, StoredOAuth2Tokens } from '../../ports/watcher.js';
import { type StateTable, StateTableAdapter } from './dynamodb-documents.js';
import { parseSecretJson } from './secret-json.js';
import { TABLE_KEYS } from './state-table.js';

/**
 * An OAuth2 account's tokens as last refreshed (a rotated refresh token is the only way back in), sealed in an
 * item of their own: written about hourly per account by the task holding it, where a Secrets Manager secret per
 * account cost $0.40 a month and, at 100,000 accounts, 28 writes a second against a quota of 50. Tokens a task
 * saved in Secrets Manager before (`legacy`) are read until the next refresh seals them here.
 */
export class SealedOAuth2TokenStore extends StateTableAdapter implements OAuth2TokenStore {
  constructor(
    table: StateTable,
    private readonly sealer: CredentialSealer | undefined,
    private readonly legacy: Pick<OAuth2TokenStore, 'load'>,
  ) {
    super(table);
  }

  async load(account: string): Promise<StoredOAuth2Tokens | undefined> {
    const { Item } = await this.documents.send(
      new GetCommand({
        TableName: this.tableName,
        Key: TABLE_KEYS.oauth2Tokens(account),
        ConsistentRead: true,
      }),
    );
    const sealed = Item?.sealed as string | undefined;
    if (sealed === undefined) return this.legacy.load(account);
    if (!this.sealer) throw new Error('OAuth2 tokens are sealed but IDLEHOOK_CREDENTIALS_KEY_ID is not set');
    return parseSecretJson<StoredOAuth2Tokens>(
      await this.sealer.open(sealed, { kind: 'oauth2-tokens', id: account }),
      `the sealed OAuth2 tokens of ${account}`,
    );
  }

  async save(account: string, tokens: StoredOAuth2Tokens): Promise<void> {
    if (!this.sealer)
      throw new Error(
        'this stack has no credentials key (IDLEHOOK_CREDENTIALS_KEY_ID): deploy it again with this version',
      );
    const sealed = await this.sealer.seal(JSON.stringify(tokens), { kind: 'oauth2-tokens', id: account });
    await this.documents.send(
      new PutCommand({ TableName: this.tableName, Item: { ...TABLE_KEYS.oauth2Tokens(account), sealed } }),
    );
  }
}
