import type { EndpointHealth } from '../domain/endpoint-health.js';
import type { ActionCommand, StepsResult } from '../domain/message-actions.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';
import type { Awaitable } from './services.js';

/** The pipeline's side (parse and deliver): queues, subscriptions, webhooks, delivery records and dead letters. */

export interface DeadLetter {
  readonly eventId: string;
  readonly subscriptionId: string;
  readonly eventType: string;
  /** The exact body that was signed, so a replay is byte-identical. */
  readonly body: string;
  readonly reason: string;
  readonly attempts: number;
  readonly failedAt: number;
}

export type DeadLetterSummary = Omit<DeadLetter, 'body'>;

export interface DeadLetterQuery {
  readonly limit: number;
  /** The order key of the last letter of the page before. */
  readonly after?: string | undefined;
  readonly filter: DeadLetterFilter;
  /** Newest first (the dashboard), else oldest first (the API). */
  readonly newestFirst?: boolean;
}

export interface DeadLetterPage {
  readonly letters: readonly DeadLetterSummary[];
  readonly more: boolean;
}

/** Terminal outcomes of deliveries: what was delivered (for deduplication) and what was dead-lettered. */
export interface DeliveryLog {
  isDelivered(eventId: string, subscriptionId: string): Promise<boolean>;
  markDelivered(eventId: string, subscriptionId: string, attempts: number): Promise<void>;
  deadLetter(letter: DeadLetter): Promise<void>;
  /** Every dead letter, oldest first, without its body: listing them reads no bodies (no S3 objects in AWS mode). */
  listDeadLetters(): Promise<DeadLetterSummary[]>;
  /** One page of them, without bodies, read as a page from the store (a bounded number of reads per page). */
  deadLetterPage(query: DeadLetterQuery): Promise<DeadLetterPage>;
  /** A dead letter's body, for its replay; undefined when it is no dead letter (any more). */
  deadLetterBody(eventId: string, subscriptionId: string): Promise<string | undefined>;
}

/** Each subscription's endpoint health: whether it is disabled, and since when it has been failing. */
export interface SubscriptionStatusStore {
  health(subscriptionId: string): Promise<EndpointHealth>;
  /** Starts a failing period at `since`; an ongoing one keeps its start. */
  markFailing(subscriptionId: string, since: number): Promise<void>;
  markHealthy(subscriptionId: string): Promise<void>;
  /** True when this call disabled it; false when it already was (so it is announced once). */
  disable(subscriptionId: string, reason: string): Promise<boolean>;
  /** Re-enables it with a clean slate: no failing period. */
  enable(subscriptionId: string): Promise<void>;
}

/** One HTTP attempt to a subscription's endpoint, as the per-endpoint attempt log keeps it. */
export interface DeliveryAttempt {
  readonly subscriptionId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly attempt: number;
  readonly attemptedAt: number;
  readonly durationMs: number;
  readonly succeeded: boolean;
  /** The HTTP status; absent when no response arrived. */
  readonly status?: number;
  /** Why no response arrived (timeout, refused, ...). */
  readonly error?: string;
  /** The start of the response body, so a receiver's own error message can be read. */
  readonly responseExcerpt?: string;
}

export interface AttemptLog {
  recordAttempt(attempt: DeliveryAttempt): Promise<void>;
  /** Newest first. */
  listAttempts(subscriptionId: string, limit: number): Promise<DeliveryAttempt[]>;
}

/** A message action command as it ran (the management API's, or a subscription's after delivery). */
export interface ActionRecord {
  readonly command: ActionCommand;
  readonly result: StepsResult;
  readonly finishedAt: number;
}

/** Per account, the message actions run, newest first: what an application reads when a message did not move. */
export interface ActionLog {
  listActions(account: string, limit: number): Promise<ActionRecord[]>;
}

export type Admission =
  | { readonly admitted: true }
  | { readonly admitted: false; readonly retryInMs: number };

/** A per-endpoint rate limit (requests per second), counted wherever all deliverers can see it. */
export interface EndpointThrottle {
  admit(subscriptionId: string, ratePerSecond: number): Promise<Admission>;
}

export interface QueueMessage<Body> {
  readonly id: string;
  readonly body: Body;
  /** 1 on first delivery of this message to a consumer, then 2, 3, ... */
  readonly receiveCount: number;
}

export interface OutgoingMessage<Body> {
  /**
   * Identifies the message for deduplication: local and FIFO queues drop a message whose key was sent moments
   * before. Best effort only: consumers stay idempotent (the delivery log), since at-least-once repeats happen.
   */
  readonly deduplicationKey: string;
  readonly body: Body;
  /** Hidden from receivers for this long after sending (at most 15 minutes). */
  readonly delayMs?: number;
}

/** A durable queue: once send() resolves the messages survive a crash. */
export interface EventQueue<Body> {
  send(messages: readonly OutgoingMessage<Body>[]): Promise<void>;
  receive(maxMessages: number): Promise<QueueMessage<Body>[]>;
  acknowledge(messageId: string): Promise<void>;
  /** Hands the message back to be received again after the delay. */
  retryLater(messageId: string, delayMs: number): Promise<void>;
}

/**
 * A queue whose messages a platform trigger hands over as raw bodies (SQS records in a Lambda event): the queue
 * that wrote a body reads it back (a large one travels by reference).
 */
export interface TriggeredQueue<Body> extends EventQueue<Body> {
  decode(raw: string): Promise<Body>;
}

/**
 * A queue its consumer pulls from in-process (local mode's workers): told when messages are due, it receives past
 * groups at their limit and hands back what it cannot run yet.
 */
export interface PulledQueue<Body> extends EventQueue<Body> {
  /** Receives messages of any group but `busyGroups`; each with its group (null: none). */
  receiveExcept(
    maxMessages: number,
    busyGroups: readonly string[],
  ): Promise<(QueueMessage<Body> & { readonly group: string | null })[]>;
  /** Hands a received message back at once, not counted as received. */
  release(messageId: string): Promise<void>;
  /** Milliseconds until the next message is due; undefined when the queue is empty. */
  nextVisibleInMs(): number | undefined;
  /** Calls `listener` whenever messages may have become due; returns the unsubscribe. */
  onAvailable(listener: () => void): () => void;
  /**
   * Lets `consumer` take messages as they are sent, leased from the start, while none are waiting ahead of
   * them: a message the consumer has room for skips the receive. Returns the detach.
   */
  handOffTo(consumer: HandOffConsumer<Body>): () => void;
}

/** A consumer in the sending process, offered each new message before it is stored (PulledQueue.handOffTo). */
export interface HandOffConsumer<Body> {
  /** Whether it has room for a message of this group now; when it has, the room is kept for that message. */
  reserve(group: string | null): boolean;
  /** The room kept is not needed after all (the message was a duplicate, or storing it failed). */
  cancel(group: string | null): void;
  /** Runs a message it reserved room for, once the message is stored (leased, received once). */
  take(message: QueueMessage<Body>, group: string | null): void;
}

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

export interface WebhookResponse {
  /** Absent when no HTTP response arrived (timeout, refused, reset, DNS). */
  readonly status?: number;
  readonly retryAfter?: string | null;
  readonly error?: string;
  /** No response arrived within the timeout. */
  readonly timedOut?: boolean;
  /** Nothing listens at the endpoint's port: the connection was refused. */
  readonly refused?: boolean;
  /** The first bytes of the response body (a receiver's error message), as text. */
  readonly responseExcerpt?: string;
  /** The request was refused before it was sent, for a reason a retry cannot change (e.g. SSRF protection). */
  readonly permanent?: boolean;
  readonly durationMs: number;
}

export interface HttpSender {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}

/** Where subscriptions come from: the config file in local mode, DynamoDB (+ Secrets Manager) on AWS. */
export interface SubscriptionRepository {
  list(): Promise<readonly SubscriptionConfig[]>;
}

export interface DeadLetterFilter {
  readonly eventId?: string;
  readonly subscriptionId?: string;
  /** Only dead letters that failed at or after this time (ms). */
  readonly since?: number;
  /** Only dead letters that failed before this time (ms). */
  readonly until?: number;
}

export interface ReplayResult {
  readonly letter: DeadLetterSummary;
  readonly delivered: boolean;
  readonly detail: string;
}

/** A delivery waiting for its next attempt after failed ones. */
export interface PendingDelivery {
  readonly eventId: string;
  readonly eventType: string;
  readonly subscriptionId: string;
  /** Attempts made so far, all failed. */
  readonly attempts: number;
  /** When the next attempt is due (ms). */
  readonly nextAttemptAt: number;
}

/**
 * Deliveries being retried, as the queue holding them can show them: listed, and hurried (an endpoint that is back
 * need not wait out the retry schedule). Local mode only: SQS neither lists nor hurries messages in flight.
 */
export interface RetryQueue {
  pending(): Awaitable<readonly PendingDelivery[]>;
  /** Makes the subscription's waiting deliveries due now; how many there were. */
  retryNow(subscriptionId: string): Awaitable<number>;
}

/**
 * Where the queue cannot list or hurry the messages it holds back (SQS), the deliveries being retried are noted
 * beside it, each with the handle that makes it due now.
 */
export interface RetryLedger extends RetryQueue {
  /** A failed delivery waits for `pending.nextAttemptAt`; `receiptHandle` is the queue's hold on it. */
  scheduled(pending: PendingDelivery, receiptHandle: string): Promise<void>;
  /** A delivery retried before was delivered, dead-lettered or dropped: no longer pending. */
  settled(subscriptionId: string, eventId: string): Promise<void>;
}
