import { Duration } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { notifyingAlarm } from './alarms.js';

export interface DeadLetteredQueueProps {
  /**
   * A FIFO queue in high-throughput mode: order and deduplication per message group (a mailbox), so throughput
   * grows with the number of groups instead of stopping at 300 sends a second for the whole queue.
   */
  readonly fifo?: boolean;
  /** At least 6x the consuming function's timeout, as Lambda's SQS integration requires for retries. */
  readonly visibilityTimeout: Duration;
  readonly retentionPeriod?: Duration;
  /** Receives before a message moves to the dead-letter queue. */
  readonly maxReceiveCount: number;
  readonly alarmTopic: sns.ITopic;
  /** What a message in the dead-letter queue means, for the alarm. */
  readonly deadLetterDescription: string;
  /** The oldest message's age (seconds) that means the consumer is behind, and what that means. */
  readonly ageAlarm: { readonly thresholdSeconds: number; readonly description: string };
}

/** A queue, its dead-letter queue (kept 14 days) and their two alarms: anything dead-lettered, and a backlog. */
export class DeadLetteredQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeadLetteredQueueProps) {
    super(scope, id);
    const defaults = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // SQS's maximum since 2025; larger payloads travel by reference through S3.
      maxMessageSizeBytes: 1024 * 1024,
      ...(props.fifo
        ? {
            fifo: true,
            fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
          }
        : {}),
    };
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      ...defaults,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...defaults,
      visibilityTimeout: props.visibilityTimeout,
      ...(props.retentionPeriod ? { retentionPeriod: props.retentionPeriod } : {}),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    const period = Duration.minutes(1);
    notifyingAlarm(this, 'DeadLettersAlarm', {
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period }),
      threshold: 1,
      description: props.deadLetterDescription,
      topic: props.alarmTopic,
    });
    notifyingAlarm(this, 'AgeAlarm', {
      metric: this.queue.metricApproximateAgeOfOldestMessage({ period }),
      threshold: props.ageAlarm.thresholdSeconds,
      description: props.ageAlarm.description,
      topic: props.alarmTopic,
    });
  }
}
