import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Clock, SecretResolver } from '../../ports/services.js';

/**
 * Secrets from AWS Secrets Manager, cached in memory for a while: a Lambda or the watcher resolves each
 * secret once per TTL, not once per message, and a rotated secret is picked up within the TTL.
 */
export class SecretsManagerResolver implements SecretResolver {
  private readonly cache = new Map<string, { value: Promise<string>; expiresAt: number }>();

  constructor(
    private readonly client: Pick<SecretsManagerClient, 'send'>,
    private readonly clock: Clock,
    private readonly ttlMs = 5 * 60 * 1000,
  ) {}

  resolve(secretArn: string): Promise<string> {
    const cached = this.cache.get(secretArn);
    if (cached && cached.expiresAt > this.clock.now()) return cached.value;
    const value = this.client.send(new GetSecretValueCommand({ SecretId: secretArn })).then((result) => {
      if (result.SecretString === undefined) throw new Error(`secret ${secretArn} has no string value`);
      return result.SecretString;
    });
    // A failed lookup is not cached: the next call asks again.
    value.catch(() => this.cache.delete(secretArn));
    this.cache.set(secretArn, { value, expiresAt: this.clock.now() + this.ttlMs });
    return value;
  }
}
