import { IdlehookError } from '../domain/errors.js';
import { type EventOf, messageReceivedEvent, type WebhookEvent } from '../domain/events.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type { EventQueue } from '../ports/pipeline.js';
import type { BlobStore, Metrics } from '../ports/services.js';
import { deliveriesFor } from './fan-out.js';
import { parseMessage } from './parse-message.js';
import type { DeliveryRecord, IngestRecord, MessageArrival } from './records.js';

/** The raw message the watcher stored is not there (yet): the record should be retried, not dropped. */
export class RawMessageMissingError extends IdlehookError {
  override readonly name = 'RawMessageMissingError';
  constructor(key: string) {
    super('RAW_MESSAGE_MISSING', true, `raw message ${key} is not in the blob store`);
  }
}

export interface IngestDependencies {
  readonly blobs: BlobStore;
  /** Where the deliveries go: the delivery queue, or the batch the AWS parse handler sends together. */
  readonly deliveries: Pick<EventQueue<DeliveryRecord>, 'send'>;
  readonly subscriptions: readonly SubscriptionConfig[];
  readonly metrics?: Metrics;
}

async function messageEvent(arrival: MessageArrival, blobs: BlobStore): Promise<WebhookEvent> {
  const raw = await blobs.get(arrival.rawKey);
  if (!raw) throw new RawMessageMissingError(arrival.rawKey);
  return messageEventOf(arrival, raw, blobs);
}

/** The `message.received` event of an arrival and its source (attachments are stored in `blobs`). */
export async function messageEventOf(
  arrival: MessageArrival,
  raw: Buffer,
  blobs: BlobStore,
): Promise<EventOf<'message.received'>> {
  const parsed = await parseMessage(arrival, raw, blobs);
  const data = arrival.sourceUnavailable
    ? { ...parsed, parseError: 'the mail server listed this message but returned no source for it' }
    : parsed;
  return messageReceivedEvent(arrival, data);
}

/** The parse stage for one record: build the event, then queue one delivery per matching subscription. */
export async function handleIngestRecord(record: IngestRecord, deps: IngestDependencies): Promise<void> {
  const event = record.kind === 'event' ? record.event : await messageEvent(record, deps.blobs);
  const only = record.kind === 'message' ? record.onlySubscription : undefined;
  const subscriptions =
    only === undefined ? deps.subscriptions : deps.subscriptions.filter((s) => s.id === only);
  const deliveries = deliveriesFor(event, subscriptions, deps.metrics);
  if (deliveries.length > 0) await deps.deliveries.send(deliveries);
  deps.metrics?.eventQueued(event.type);
}
