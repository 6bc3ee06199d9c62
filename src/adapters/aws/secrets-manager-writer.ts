import {
  CreateSecretCommand,
  DeleteSecretCommand,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RestoreSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretWriter } from '../../ports/services.js';

/** How long a removed secret can still be restored (AWS's least; the operator's way back from a mistaken delete). */
export const SECRET_RECOVERY_DAYS = 7;

/** Secrets Manager refuses reads and writes of a secret scheduled for deletion with this, among other requests. */
const scheduledForDeletion = (error: unknown) =>
  error instanceof InvalidRequestException && /deleted|deletion/i.test(error.message);

/** Secrets the CLI and the management API store (passwords, refresh tokens, signing secrets): one per name. */
export class SecretsManagerWriter implements SecretWriter {
  constructor(private readonly client: Pick<SecretsManagerClient, 'send'>) {}

  /**
   * A new value for an existing secret (the usual case on a change), else a new secret. A name removed within the
   * recovery window (an account deleted and added again with the same password) is restored first.
   */
  async store(name: string, value: string): Promise<string> {
    const put = async () =>
      (await this.client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }))).ARN ??
      name;
    try {
      return await put();
    } catch (error) {
      if (scheduledForDeletion(error)) {
        await this.client.send(new RestoreSecretCommand({ SecretId: name }));
        return await put();
      }
      if (!(error instanceof ResourceNotFoundException)) throw error;
      const created = await this.client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
      return created.ARN ?? name;
    }
  }

  async remove(arn: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteSecretCommand({ SecretId: arn, RecoveryWindowInDays: SECRET_RECOVERY_DAYS }),
      );
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException) && !scheduledForDeletion(error)) throw error;
    }
  }
}
