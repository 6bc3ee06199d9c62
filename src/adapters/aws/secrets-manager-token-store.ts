import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
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
 * OAuth2 tokens in Secrets Manager (they are credentials: a rotated refresh token is the only way back in).
 * Written once per refresh, about hourly per account; read at the first login after a start.
 */
export class SecretsManagerOAuth2TokenStore implements OAuth2TokenStore {
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

  async save(account: string, tokens: StoredOAuth2Tokens): Promise<void> {
    const name = oauth2TokenSecretName(account, this.prefix);
    const value = JSON.stringify(tokens);
    try {
      await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await this.client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    }
  }
}
