import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetSecretValueCommand, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerOAuth2TokenStore } from '../../src/adapters/aws/secrets-manager-token-store.js';

/** Secrets Manager cannot run here: a stub with the API's behaviour for GetSecretValue stands in. */
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
      throw new Error('unexpected command');
    },
  };
}

describe('OAuth2 tokens saved in Secrets Manager before sealing (stub client)', () => {
  it('reads a saved secret back, and none as undefined', async () => {
    const client = stubSecretsManager();
    const store = new SecretsManagerOAuth2TokenStore(client as never);
    assert.equal(await store.load('support'), undefined);
    const tokens = { configuredTokenHash: 'h', refreshToken: 'r1', accessToken: 'a1', expiresAt: 5 };
    client.secrets.set('idlehook/oauth2-tokens/support', JSON.stringify(tokens));
    assert.deepEqual(await store.load('support'), tokens);
    assert.deepEqual(client.calls, ['get', 'get']);
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
