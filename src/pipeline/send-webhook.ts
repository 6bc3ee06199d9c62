import { signWebhook } from '../domain/signing.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import { signingSecrets } from '../domain/subscriptions.js';
import type { DeliveryAttempt, HttpSender, WebhookResponse } from '../ports/pipeline.js';
import type { Clock } from '../ports/services.js';
import type { DeliveryRecord } from './records.js';

/**
 * Signs with the current time (receivers reject stale timestamps) and sends one attempt. A subscription whose
 * secret cannot be used fails the attempt without a request (nothing goes out unsigned): it is retried, then
 * dead-lettered for a replay once the secret is fixed, while the other subscriptions carry on.
 */
export async function sendWebhook(
  record: DeliveryRecord,
  subscription: SubscriptionConfig,
  deps: { readonly http: HttpSender; readonly clock: Clock; readonly timeoutMs: number },
): Promise<WebhookResponse> {
  if (subscription.deliveryProblem !== undefined || subscription.secrets.length === 0)
    return { error: subscription.deliveryProblem ?? 'the subscription has no signing secret', durationMs: 0 };
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
      'webhook-signature': signWebhook(
        signingSecrets(subscription, deps.clock.now()),
        record.eventId,
        timestamp,
        record.body,
      ),
    },
  });
}

/** The attempt log's entry for one attempt. */
export function attemptOf(
  record: Pick<DeliveryRecord, 'eventId' | 'eventType' | 'subscriptionId'>,
  attempt: number,
  succeeded: boolean,
  response: WebhookResponse,
  attemptedAt: number,
): DeliveryAttempt {
  return {
    subscriptionId: record.subscriptionId,
    eventId: record.eventId,
    eventType: record.eventType,
    attempt,
    attemptedAt,
    durationMs: Math.round(response.durationMs),
    succeeded,
    ...(response.status === undefined ? {} : { status: response.status }),
    ...(response.error === undefined ? {} : { error: response.error }),
    ...(response.responseExcerpt === undefined ? {} : { responseExcerpt: response.responseExcerpt }),
  };
}
