import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import { DynamoDbSubscriptionRepository } from '../../src/adapters/aws/dynamodb-subscription-repository.js';
import { NodeHttpSender } from '../../src/adapters/http/node-http-sender.js';
import { systemClock } from '../../src/adapters/system-clock.js';
import { sendWebhook } from '../../src/pipeline/send-webhook.js';
import type { SecretResolver } from '../../src/ports/services.js';
import { startDynamoDb } from '../support/aws-emulators.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

describe('one subscription with an unusable secret', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  const good = newWebhookSecret();
  const receiver = new WebhookReceiver(good);
  const secrets = new Map([
    ['arn:good', good],
    ['arn:plain', 'not-a-webhook-secret'],
  ]);
  // Secrets Manager cannot run here: a resolver with its contract (unknown ARNs throw) reads this map.
  const resolver: SecretResolver = {
    resolve: async (arn) => secrets.get(arn) ?? Promise.reject(new Error(`AccessDeniedException for ${arn}`)),
  };
  before(async () => {
    dynamo = await startDynamoDb();
  });
  after(async () => {
    await receiver.close();
    await dynamo?.stop();
  });

  it('is reported on that subscription only; the others are listed and delivered', async () => {
    const url = await receiver.listen();
    const repository = new DynamoDbSubscriptionRepository(
      stateTable(dynamo.client, await dynamo.createTable()),
      resolver,
      systemClock,
    );
    await repository.put({ id: 'good', url, secretArn: 'arn:good' });
    await repository.put({ id: 'plain', url, secretArn: 'arn:plain' });
    await repository.put({ id: 'unreadable', url, secretArn: 'arn:gone' });
    const listed = new Map((await repository.list()).map((s) => [s.id, s]));
    assert.deepEqual([...listed.keys()].sort(), ['good', 'plain', 'unreadable']);
    assert.equal(listed.get('good')?.secretProblem, undefined);
    assert.match(
      listed.get('plain')?.secretProblem ?? '',
      /arn:plain cannot be used: must start with "whsec_"/,
    );
    assert.doesNotMatch(listed.get('plain')?.secretProblem ?? '', /not-a-webhook-secret/);
    assert.match(listed.get('unreadable')?.secretProblem ?? '', /arn:gone cannot be used: AccessDenied/);

    const http = new NodeHttpSender();
    const record = {
      eventId: 'evt_1',
      eventType: 'message.received',
      subscriptionId: '',
      body: '{"type":"x"}',
    };
    const deps = { http, clock: systemClock, timeoutMs: 5000 };
    for (const id of ['plain', 'unreadable']) {
      const response = await sendWebhook({ ...record, subscriptionId: id }, listed.get(id) as never, deps);
      assert.equal(response.status, undefined, 'no request goes out unsigned');
      assert.match(response.error ?? '', /cannot be used/);
    }
    const delivered = await sendWebhook(
      { ...record, subscriptionId: 'good' },
      listed.get('good') as never,
      deps,
    );
    assert.equal(delivered.status, 200);
    assert.equal(receiver.accepted.length, 1, 'the good subscription is delivered, signature verified');
    await http.close();
  });
});
