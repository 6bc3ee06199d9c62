import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { decodeWebhookSecret, signWebhook } from '../../src/domain/signing.js';

describe('Standard Webhooks signing', () => {
  const secret = `whsec_${Buffer.from('a'.repeat(32)).toString('base64')}`;
  const body = JSON.stringify({
    type: 'message.received',
    timestamp: '2026-11-27T00:00:00Z',
    data: { uid: 1 },
  });
  const now = Math.floor(Date.now() / 1000);
  const signedHeaders = () => ({
    'webhook-id': 'evt_1',
    'webhook-timestamp': String(now),
    'webhook-signature': signWebhook([decodeWebhookSecret(secret)], 'evt_1', now, body),
  });

  it('produces signatures the standardwebhooks library accepts', () => {
    const headers = signedHeaders();
    assert.deepEqual(new Webhook(secret).verify(body, headers), JSON.parse(body));
  });

  it('fails verification when the body, id or key differ', () => {
    const headers = signedHeaders();
    assert.throws(() => new Webhook(secret).verify(`${body} `, headers));
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'evt_2' }));
    const other = `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`;
    assert.throws(() => new Webhook(other).verify(body, headers));
  });

  it('signs with every key, space-separated, so either secret verifies during rotation', () => {
    const other = `whsec_${Buffer.from('b'.repeat(32)).toString('base64')}`;
    const signature = signWebhook(
      [decodeWebhookSecret(secret), decodeWebhookSecret(other)],
      'evt_1',
      now,
      body,
    );
    assert.equal(signature.split(' ').length, 2);
    const headers = {
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(now),
      'webhook-signature': signature,
    };
    assert.ok(new Webhook(secret).verify(body, headers));
    assert.ok(new Webhook(other).verify(body, headers));
  });

  it('rejects secrets that are not whsec_ + base64 of 24-64 bytes', () => {
    assert.throws(() => decodeWebhookSecret('abc'), /whsec_/);
    assert.throws(() => decodeWebhookSecret('whsec_!!!'), /base64/);
    assert.throws(() => decodeWebhookSecret(`whsec_${Buffer.alloc(23).toString('base64')}`), /got 23/);
    assert.throws(() => decodeWebhookSecret(`whsec_${Buffer.alloc(65).toString('base64')}`), /got 65/);
    assert.equal(decodeWebhookSecret(`whsec_${Buffer.alloc(24, 1).toString('base64')}`).length, 24);
  });
});
