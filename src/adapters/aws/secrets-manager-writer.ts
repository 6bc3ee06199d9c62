import {
  CreateSecretCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretWriter } from '../../ports/index.js';

/** Secrets the CLI and the management API store (passwords, refresh tokens, signing secrets): one per name. */
export class SecretsManagerWriter implements SecretWriter {
  constructor(private readonly client: Pick<SecretsManagerClient, 'send'>) {}

  /** A new value for an existing secret (the usual case on a change), else a new secret. */
  async store(name: string, value: string): Promise<string> {
    try {
      const updated = await this.client.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: value }),
      );
      return updated.ARN ?? name;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      const created = await this.client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
      return created.ARN ?? name;
    }
  }
}
