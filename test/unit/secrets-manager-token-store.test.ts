import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { SecretsManagerOAuth2TokenStore } from '../../src/adapters/aws/secrets-manager-token-store.js';

/** Secrets Manager cannot run here: a stub with the API's behaviour for these three calls stands in. */
function stubSecretsManager() {
  const secrets = new Map<string, string>();
  const calls: string[] = [];
  const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });
  return {
    secrets,
    calls,
    send: async (command: unknown) => {
      if (command instanceof GetSecretValueCommand) {
        calls.push('get');
        const value = secrets.get(String(command.input.SecretId));
        if (value === undefined) throw notFound();
        return { SecretString: value };
      }
      if (command instanceof PutSecretValueCommand) {
        calls.push('put');
        if (!secrets.has(String(command.input.SecretId))) throw notFound();
        secrets.set(String(command.input.SecretId), String(command.input.SecretString));
        return {};
      }
      if (command instanceof CreateSecretCommand) {
        calls.push('create');
        secrets.set(String(command.input.Name), String(command.input.SecretString));
        return {};
      }
      throw new Error('unexpected command');
    },
  };
}

describe('OAuth2 tokens in Secrets Manager (stub client)', () => {
  it('creates the secret on the first save, updates it after, and reads it back', async () => {
    const client = stubSecretsManager();
    const store = new SecretsManagerOAuth2TokenStore(client as never);
    assert.equal(await store.load('support'), undefined);
    const tokens = { configuredTokenHash: 'h', refreshToken: 'r1', accessToken: 'a1', expiresAt: 5 };
    await store.save('support', tokens);
    await store.save('support', { ...tokens, refreshToken: 'r2' });
    assert.deepEqual(await store.load('support'), { ...tokens, refreshToken: 'r2' });
    assert.deepEqual([...client.secrets.keys()], ['idlehook/oauth2-tokens/support']);
    assert.deepEqual(client.calls, ['get', 'put', 'create', 'put', 'get']);
  });

  it('names a malformed secret without quoting any of it', async () => {
    const client = stubSecretsManager();
    const store = new SecretsManagerOAuth2TokenStore(client as never);
    client.secrets.set('idlehook/oauth2-tokens/support', 'rt-SUPERSECRET-refresh-token');
    const error = await store.load('support').then(
      () => assert.fail('a malformed secret must not load'),
      (e: unknown) => e as Error,
    );
    assert.match(error.message, /idlehook\/oauth2-tokens\/support is not valid JSON/);
    assert.doesNotMatch(error.message, /rt-|SUPERSECRET/);
  });
});
