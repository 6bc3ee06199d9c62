import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DEFAULT_SECRET_PREFIX, secretName } from '../../config/aws-environment.js';
import type { OAuth2TokenStore, StoredOAuth2Tokens } from '../../ports/watcher.js';
import { parseSecretJson } from './secret-json.js';

/** Where the watcher keeps an OAuth2 account's current tokens: one secret per account, written on refresh. */
export function oauth2TokenSecretName(account: string, prefix = DEFAULT_SECRET_PREFIX): string {
  return secretName(prefix, 'oauth2-tokens', account);
}

/**
 * OAuth2 tokens a watcher task saved in Secrets Manager before they were sealed in the table: read until the
 * account's next refresh seals them there (SealedOAuth2TokenStore). Nothing writes here any more.
 */
export class SecretsManagerOAuth2TokenStore implements Pick<OAuth2TokenStore, 'load'> {
  constructor(
    private readonly client: Pick<SecretsManagerClient, 'send'>,
    private readonly prefix = DEFAULT_SECRET_PREFIX,
  ) {}

  async load(account: string): Promise<StoredOAuth2Tokens | undefined> {
    try {
      const { SecretString } = await this.client.send(
        new GetSecretValueCommand({ SecretId: oauth2TokenSecretName(account, this.prefix) }),
      );
      return SecretString
        ? parseSecretJson<StoredOAuth2Tokens>(SecretString, oauth2TokenSecretName(account, this.prefix))
        : undefined;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }
}
