import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { SqsHandler } from '../../src/compose/aws/lambda-handlers.js';

/** What the Lambda event source mapping hands a function: SQS messages, reshaped as records. */
export function sqsEvent(messages: readonly Message[]): SQSEvent {
  return {
    Records: messages.map(
      (m): SQSRecord => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? '0',
          SenderId: 'test',
          ApproximateFirstReceiveTimestamp: '0',
          ...(m.Attributes?.MessageGroupId ? { MessageGroupId: m.Attributes.MessageGroupId } : {}),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:queue',
        awsRegion: 'us-east-1',
      }),
    ),
  };
}

/**
 * One poll of a stand-in for the Lambda event source mapping (which cannot run here): receive a batch, invoke
 * the handler, delete what succeeded and leave the reported failures to SQS. Returns how many were received.
 */
export async function pollOnce(sqs: SQSClient, queueUrl: string, handler: SqsHandler): Promise<number> {
  const { Messages = [] } = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  if (Messages.length === 0) return 0;
  const { batchItemFailures } = await handler(sqsEvent(Messages));
  const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
  for (const message of Messages) {
    if (!failed.has(message.MessageId ?? '')) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    }
  }
  return Messages.length;
}
