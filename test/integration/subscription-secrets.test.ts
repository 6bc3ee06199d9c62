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

describe('one subscription with an unusable secret or stored filter', () => {
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

  it('is reported on that subscription only (its deliveries fail, to be retried and dead-lettered); the others are listed and delivered', async () => {
    const url = await receiver.listen();
    const repository = new DynamoDbSubscriptionRepository(
      stateTable(dynamo.client, await dynamo.createTable()),
      resolver,
      systemClock,
    );
    await repository.put({ id: 'good', url, secretArn: 'arn:good' });
    await repository.put({ id: 'plain', url, secretArn: 'arn:plain' });
    await repository.put({ id: 'unreadable', url, secretArn: 'arn:gone' });
    // A filter with an operator this version does not know, as a later version might have stored it.
    await repository.put({
      id: 'later-filter',
      url,
      secretArn: 'arn:good',
      filter: JSON.stringify({ data: { subject: [{ 'contains-word': 'x' }] } }),
    });
    const listed = new Map((await repository.list()).map((s) => [s.id, s]));
    assert.deepEqual([...listed.keys()].sort(), ['good', 'later-filter', 'plain', 'unreadable']);
    assert.match(
      listed.get('later-filter')?.deliveryProblem ?? '',
      /the stored filter cannot be read: data\.subject\.0: unknown operator "contains-word"/,
    );
    assert.equal(listed.get('good')?.deliveryProblem, undefined);
    assert.match(
      listed.get('plain')?.deliveryProblem ?? '',
      /arn:plain cannot be used: must start with "whsec_"/,
    );
    assert.doesNotMatch(listed.get('plain')?.deliveryProblem ?? '', /not-a-webhook-secret/);
    assert.match(listed.get('unreadable')?.deliveryProblem ?? '', /arn:gone cannot be used: AccessDenied/);

    const http = new NodeHttpSender();
    const record = {
      eventId: 'evt_1',
      eventType: 'message.received',
      subscriptionId: '',
      body: '{"type":"x"}',
    };
    const deps = { http, clock: systemClock, timeoutMs: 5000 };
    for (const id of ['plain', 'unreadable', 'later-filter']) {
      const response = await sendWebhook({ ...record, subscriptionId: id }, listed.get(id) as never, deps);
      assert.equal(response.status, undefined, 'no request goes out unsigned or unfiltered');
      assert.match(response.error ?? '', /cannot be (used|read)/);
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
