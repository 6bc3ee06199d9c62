import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerResolver } from '../../src/adapters/aws/secrets-manager-resolver.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { ConfigError } from '../../src/config/load-config.js';

describe('AWS environment', () => {
  const complete = {
    IDLEHOOK_TABLE_NAME: 'idlehook',
    IDLEHOOK_INGEST_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/ingest.fifo',
    IDLEHOOK_DELIVERY_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/1/delivery',
    IDLEHOOK_BLOB_BUCKET: 'idlehook-blobs',
  };

  it('fills defaults for the optional variables', () => {
    const env = loadAwsEnvironment(complete);
    assert.deepEqual(env.IDLEHOOK_RETRY_SCHEDULE_SECONDS, [5, 300, 1800, 7200, 18000, 36000, 36000]);
    assert.equal(env.IDLEHOOK_DELIVERY_TIMEOUT_SECONDS, 15);
    assert.equal(env.IDLEHOOK_LOG_LEVEL, 'info');
  });

  it('names every missing or bad variable', () => {
    try {
      loadAwsEnvironment({
        IDLEHOOK_TABLE_NAME: 'x',
        IDLEHOOK_RETRY_SCHEDULE_SECONDS: '5,soon',
        IDLEHOOK_DELIVERY_TIMEOUT_SECONDS: '',
      });
      assert.fail('expected a ConfigError');
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.path).sort(), [
        'IDLEHOOK_BLOB_BUCKET',
        'IDLEHOOK_DELIVERY_QUEUE_URL',
        'IDLEHOOK_DELIVERY_TIMEOUT_SECONDS',
        'IDLEHOOK_INGEST_QUEUE_URL',
        'IDLEHOOK_RETRY_SCHEDULE_SECONDS',
      ]);
    }
  });
});

describe('Secrets Manager resolver (stub client: Secrets Manager cannot run here)', () => {
  it('asks once per TTL, and again after a failure', async () => {
    const clock = { time: 0, now: () => clock.time };
    const asked: string[] = [];
    let fail = false;
    const client = {
      send: async (command: GetSecretValueCommand) => {
        asked.push(String(command.input.SecretId));
        if (fail) throw new Error('throttled');
        return { SecretString: `value-${asked.length}` };
      },
    };
    const resolver = new SecretsManagerResolver(client as never, clock, 1000);
    assert.equal(await resolver.resolve('arn:a'), 'value-1');
    assert.equal(await resolver.resolve('arn:a'), 'value-1');
    clock.time = 1001;
    assert.equal(await resolver.resolve('arn:a'), 'value-2', 'a rotated secret is picked up after the TTL');
    clock.time = 2002;
    fail = true;
    await assert.rejects(resolver.resolve('arn:a'), /throttled/);
    fail = false;
    assert.equal(await resolver.resolve('arn:a'), 'value-4');
    assert.deepEqual(asked, ['arn:a', 'arn:a', 'arn:a', 'arn:a']);
  });
});
