import type { SubscriptionConfig } from '../config/config.js';
import { signWebhook } from '../domain/signing.js';
import type { Clock, HttpSender, WebhookResponse } from '../ports/index.js';
import type { DeliveryRecord } from './records.js';

/** Signs with the current time (receivers reject stale timestamps) and sends one attempt. */
export function sendWebhook(
  record: DeliveryRecord,
  subscription: SubscriptionConfig,
  deps: { readonly http: HttpSender; readonly clock: Clock; readonly timeoutMs: number },
): Promise<WebhookResponse> {
  const timestamp = Math.floor(deps.clock.now() / 1000);
  return deps.http.send({
    url: subscription.url,
    timeoutMs: deps.timeoutMs,
    body: record.body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'idlehook',
      'webhook-id': record.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(subscription.secrets, record.eventId, timestamp, record.body),
    },
  });
}
