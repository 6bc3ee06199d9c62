import type { MessageCoordinates, WebhookEvent } from '../domain/events.js';
import type { OutgoingMessage } from '../ports/pipeline.js';

/** What the watcher hands to the parse stage: a message to parse, or an event that needs no parsing. */
export type IngestRecord = MessageArrival | { readonly kind: 'event'; readonly event: WebhookEvent };

/** An event for the parse stage to fan out as is; its id keeps a re-emission from being queued twice. */
export function eventRecord(event: WebhookEvent): OutgoingMessage<IngestRecord> {
  return { deduplicationKey: event.id, body: { kind: 'event', event } };
}

/** A new message for the parse stage to parse. */
export function arrivalRecord(arrival: MessageArrival): OutgoingMessage<IngestRecord> {
  return { deduplicationKey: arrival.eventId, body: arrival };
}

/** What the IMAP server says about a message before its content is parsed (FETCH UID FLAGS ...). */
export interface MessageMetadata extends MessageCoordinates {
  readonly modseq: string | null;
  /** The server's own conversation id, where it has one (RFC 8474 THREADID, Gmail's X-GM-THRID). */
  readonly providerThreadId?: string;
  readonly flags: readonly string[];
  readonly internalDate: string | null;
  readonly size: number;
}

export interface MessageArrival extends MessageMetadata {
  readonly kind: 'message';
  readonly eventId: string;
  /** Blob key of the raw RFC 822 source, stored by the watcher before this record was queued. */
  readonly rawKey: string;
  readonly detectedAt: string;
  /** The server listed the message but returned no source for it: the raw blob is empty. */
  readonly sourceUnavailable?: true;
  /** `idlehook trigger --subscription`: to this subscription only, rather than to every one that wants it. */
  readonly onlySubscription?: string;
}

/** One event on its way to one subscription. */
export interface DeliveryRecord {
  readonly eventId: string;
  readonly eventType: string;
  readonly subscriptionId: string;
  /** The serialized envelope; signed and sent as is on every attempt. */
  readonly body: string;
  /** When the watcher saw what the event is about (ISO 8601), for the delivery latency. */
  readonly detectedAt?: string;
  /** The message's INTERNALDATE (message.received; ISO 8601), for the end-to-end latency. */
  readonly internalDate?: string;
  /**
   * Attempts made on earlier copies of this record. A record held back by its endpoint's rate limit is
   * re-queued as a new copy (queues cannot lower a receive count), and the held-back turn is not an attempt.
   */
  readonly attemptsBefore?: number;
  /** How often it was held back so far: spaces out the next hold and keeps the copies' dedup keys distinct. */
  readonly deferrals?: number;
}

export function deliveryDeduplicationKey(record: DeliveryRecord): string {
  const base = `${record.eventId}:${record.subscriptionId}`;
  return record.deferrals ? `${base}:deferred-${record.deferrals}` : base;
}

export { attachmentBlobKey, rawBlobKey } from '../domain/blob-keys.js';
