import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { queueOverflowKey } from '../../domain/blob-keys.js';
import { IdlehookError } from '../../domain/errors.js';
import type { OutgoingMessage, QueueMessage, TriggeredQueue } from '../../ports/pipeline.js';
import type { BlobStore } from '../../ports/services.js';

/** SQS refused some messages of a batch; the caller must not advance past them. Retryable. */
export class QueueSendError extends IdlehookError {
  override readonly name = 'QueueSendError';
  constructor(failed: readonly { Id?: string; Code?: string; Message?: string }[]) {
    super(
      'QUEUE_SEND_FAILED',
      true,
      `SQS rejected ${failed.length} message(s): ${failed.map((f) => `${f.Code}: ${f.Message}`).join('; ')}`,
    );
  }
}

/**
 * A MessageGroupId SQS accepts for any group: SQS allows 1-128 ASCII letters, digits and punctuation, and a group
 * is often a folder name (`Sent Items`, `[Gmail]/Sent Mail`, non-ASCII). A hash is always valid and stable, so a
 * mailbox keeps its group across restarts and deploys.
 */
export function sqsGroupId(group: string): string {
  return createHash('sha256').update(group).digest('base64url');
}

/** SQS allows 1 MiB per message and per batch; stay below with room for attributes. */
const MAX_BATCH_BYTES = 1000 * 1024;
const MAX_INLINE_BYTES = 900 * 1024;
/** SQS caps a visibility timeout at 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;
/** SQS caps a message's delay at 15 minutes. */
const MAX_DELAY_SECONDS = 900;

export interface SqsQueueOptions<Body> {
  /**
   * Each message's MessageGroupId. A FIFO queue keeps order within a group (e.g. per mailbox); a standard
   * queue uses it as the fair-queue tenant, so one group's backlog does not delay the others.
   */
  readonly groupOf?: (body: Body) => string;
  /** A FIFO queue: it also drops duplicates by key for 5 minutes, and takes no per-message delay. */
  readonly fifo?: boolean;
  /** Where bodies too large for SQS go; the message then carries a reference (never a truncated body). */
  readonly overflow: BlobStore;
  /** ReceiveMessage long-poll wait, seconds. */
  readonly waitSeconds?: number;
}

interface Reference {
  readonly $overflow: string;
}

/** The queue port on SQS (TriggeredQueue: Lambda hands its records over). A message id is its receipt handle. */
export class SqsQueue<Body> implements TriggeredQueue<Body> {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly options: SqsQueueOptions<Body>,
  ) {}

  /** Messages waiting to be received (SQS's approximate count; in-flight and delayed ones are not in it). */
  async depth(): Promise<number> {
    const { Attributes } = await this.client.send(
      new GetQueueAttributesCommand({
        QueueUrl: this.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    return Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  }

  async send(messages: readonly OutgoingMessage<Body>[]): Promise<void> {
    const entries = await Promise.all(messages.map((message, index) => this.entry(message, index)));
    for (const batch of batches(entries)) {
      const result = await this.client.send(
        new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch }),
      );
      if (result.Failed?.length) throw new QueueSendError(result.Failed);
    }
  }

  async receive(maxMessages: number): Promise<QueueMessage<Body>[]> {
    const result = await this.client.send(
      new ReceiveMessageCommand({
        QueueUrl: this.queueUrl,
        MaxNumberOfMessages: Math.min(10, Math.max(1, maxMessages)),
        WaitTimeSeconds: this.options.waitSeconds ?? 0,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    return Promise.all(
      (result.Messages ?? []).map(async (message) => ({
        id: message.ReceiptHandle ?? '',
        body: await this.decode(message.Body ?? 'null'),
        receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 1),
      })),
    );
  }

  async acknowledge(receiptHandle: string): Promise<void> {
    await this.client.send(
      new DeleteMessageCommand({ QueueUrl: this.queueUrl, ReceiptHandle: receiptHandle }),
    );
  }

  /** The message reappears after the delay: its visibility timeout is set to it (SQS's retry-with-delay). */
  async retryLater(receiptHandle: string, delayMs: number): Promise<void> {
    await this.client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: this.queueUrl,
        ReceiptHandle: receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(delayMs / 1000)),
      }),
    );
  }

  /**
   * Makes a message held back by `retryLater` due now; false when the handle no longer holds it (the message was
   * received again since, or deleted), which SQS reports as an invalid handle or a message not in flight.
   */
  async makeDueNow(receiptHandle: string): Promise<boolean> {
    try {
      await this.retryLater(receiptHandle, 0);
      return true;
    } catch (error) {
      const name = (error as Error).name;
      if (/ReceiptHandleIsInvalid|MessageNotInflight|InvalidParameterValue/.test(name)) return false;
      throw error;
    }
  }

  /** Decodes a message body as it arrives from SQS or in a Lambda event record. */
  async decode(text: string): Promise<Body> {
    const parsed = JSON.parse(text) as Body | Reference;
    if (parsed && typeof parsed === 'object' && '$overflow' in parsed) {
      const stored = await this.options.overflow.get(parsed.$overflow);
      if (!stored) throw new Error(`queue overflow blob ${parsed.$overflow} is missing`);
      return JSON.parse(stored.toString('utf8')) as Body;
    }
    return parsed as Body;
  }

  private async entry(message: OutgoingMessage<Body>, index: number): Promise<SendMessageBatchRequestEntry> {
    // Deduplication ids allow 128 characters from a limited set: a hash of the key fits any key.
    const keyHash = createHash('sha256').update(message.deduplicationKey).digest('hex');
    let body = JSON.stringify(message.body);
    if (Buffer.byteLength(body) > MAX_INLINE_BYTES) {
      const key = queueOverflowKey(keyHash);
      await this.options.overflow.put(key, Buffer.from(body));
      body = JSON.stringify({ $overflow: key } satisfies Reference);
    }
    const { groupOf, fifo } = this.options;
    const delaySeconds = Math.min(MAX_DELAY_SECONDS, Math.ceil((message.delayMs ?? 0) / 1000));
    return {
      Id: String(index),
      MessageBody: body,
      ...(groupOf ? { MessageGroupId: sqsGroupId(groupOf(message.body)) } : {}),
      ...(fifo ? { MessageDeduplicationId: keyHash } : {}),
      ...(!fifo && delaySeconds > 0 ? { DelaySeconds: delaySeconds } : {}),
    };
  }
}

function* batches(
  entries: readonly SendMessageBatchRequestEntry[],
): Generator<SendMessageBatchRequestEntry[]> {
  let batch: SendMessageBatchRequestEntry[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = Buffer.byteLength(entry.MessageBody ?? '');
    if (batch.length === 10 || (batch.length > 0 && bytes + size > MAX_BATCH_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
