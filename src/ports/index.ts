import type { AccountConfig, SubscriptionConfig } from '../config/config.js';
import type { MailboxCursor } from '../domain/sync.js';

export interface Clock {
  now(): number;
}

/** Narrow structured logger; fields never carry passwords, tokens or message bodies. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface CursorStore {
  getCursor(account: string, mailbox: string): Promise<MailboxCursor | undefined>;
  /** Moves the cursor forward within the same UIDVALIDITY; never backwards, never across a UIDVALIDITY change. */
  advanceCursor(account: string, mailbox: string, cursor: MailboxCursor): Promise<void>;
  /** Replaces the cursor outright: first sight of a mailbox, or after a UIDVALIDITY change. */
  resetCursor(account: string, mailbox: string, cursor: MailboxCursor): Promise<void>;
}

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

/** Terminal outcomes of deliveries: what was delivered (for deduplication) and what was dead-lettered. */
export interface DeliveryLog {
  isDelivered(eventId: string, subscriptionId: string): Promise<boolean>;
  markDelivered(eventId: string, subscriptionId: string, attempts: number): Promise<void>;
  deadLetter(letter: DeadLetter): Promise<void>;
  listDeadLetters(): Promise<DeadLetter[]>;
}

export interface SubscriptionStatusStore {
  /** Undefined while enabled; otherwise why it was disabled (e.g. the endpoint answered 410 Gone). */
  disabledReason(subscriptionId: string): Promise<string | undefined>;
  disable(subscriptionId: string, reason: string): Promise<void>;
  enable(subscriptionId: string): Promise<void>;
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
}

/** A durable queue: once send() resolves the messages survive a crash. */
export interface EventQueue<Body> {
  send(messages: readonly OutgoingMessage<Body>[]): Promise<void>;
  receive(maxMessages: number): Promise<QueueMessage<Body>[]>;
  acknowledge(messageId: string): Promise<void>;
  /** Hands the message back to be received again after the delay. */
  retryLater(messageId: string, delayMs: number): Promise<void>;
}

export interface BlobStore {
  put(key: string, content: Buffer): Promise<void>;
  get(key: string): Promise<Buffer | undefined>;
  /** Where a receiver can fetch the blob (a signed URL that expires: presigning may need I/O). */
  url(key: string): Promise<string>;
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

/** Resolves a secret reference (e.g. a Secrets Manager ARN) to its value. Values are never logged. */
export interface SecretResolver {
  resolve(reference: string): Promise<string>;
}

/** Where watched accounts come from: the config file in local mode, DynamoDB (+ Secrets Manager) on AWS. */
export interface AccountRepository {
  list(): Promise<readonly AccountConfig[]>;
}

export interface MailboxRef {
  readonly account: string;
  readonly mailbox: string;
}

/**
 * Which mailboxes this process watches. One process owns all of them today; a fleet of watcher tasks will
 * lease shards of mailboxes (DynamoDB leases) behind this same port.
 */
export interface MailboxOwnership {
  owned(mailboxes: readonly MailboxRef[]): Promise<readonly MailboxRef[]>;
}
