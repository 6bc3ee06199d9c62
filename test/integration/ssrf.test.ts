import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DestinationGuard } from '../../src/adapters/http/destination-guard.js';
import { NodeHttpSender } from '../../src/adapters/http/node-http-sender.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

describe('webhooks to internal addresses, through a real HTTP stack', () => {
  const receiver = new WebhookReceiver(newWebhookSecret());
  let port = '';
  before(async () => {
    port = new URL(await receiver.listen()).port;
  });
  after(async () => {
    await receiver.close();
  });
  const request = (url: string) => ({ url, headers: {}, body: '{}', timeoutMs: 2000 });

  it('refuses an IP literal and a host name that resolves to loopback, without sending anything', async () => {
    const guarded = new NodeHttpSender(new DestinationGuard());
    for (const url of [`http://127.0.0.1:${port}/hook`, `http://localhost:${port}/hook`]) {
      const response = await guarded.send(request(url));
      assert.equal(response.status, undefined, url);
      assert.equal(response.permanent, true, url);
      assert.match(response.error ?? '', /SSRF protection/, url);
    }
    await guarded.close();
    assert.equal(receiver.attempts.length + receiver.invalidSignatures, 0, 'no request reached the receiver');
  });

  it('reaches an allowlisted range (the guard, not the network, was what refused)', async () => {
    const allowed = new NodeHttpSender(new DestinationGuard(['127.0.0.0/8', '::1']));
    const response = await allowed.send(request(`http://localhost:${port}/hook`));
    await allowed.close();
    assert.equal(response.permanent, undefined);
    assert.equal(response.status, 400, 'delivered (and rejected by the receiver for its missing signature)');
    assert.equal(receiver.invalidSignatures, 1);
  });
});
