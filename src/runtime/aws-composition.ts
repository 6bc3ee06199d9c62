import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbStateStore } from '../adapters/aws/dynamodb-state-store.js';
import { DynamoDbSubscriptionRepository } from '../adapters/aws/dynamodb-subscription-repository.js';
import { S3BlobStore } from '../adapters/aws/s3-blob-store.js';
import { SecretsManagerResolver } from '../adapters/aws/secrets-manager-resolver.js';
import { SqsQueue } from '../adapters/aws/sqs-queue.js';
import { UndiciHttpSender } from '../adapters/http/undici-http-sender.js';
import { createLogger } from '../adapters/powertools-logger.js';
import { systemClock } from '../adapters/system-clock.js';
import type { AwsEnvironment } from '../config/aws-environment.js';
import type { DeliveryRecord, IngestRecord } from '../pipeline/records.js';

/** Every AWS adapter, built once per cold start (or task start) from the environment. */
export function composeAwsAdapters(env: AwsEnvironment) {
  const dynamo = new DynamoDBClient({});
  const blobs = new S3BlobStore(new S3Client({}), env.IDLEHOOK_BLOB_BUCKET);
  const sqs = new SQSClient({});
  const clock = systemClock;
  const state = new DynamoDbStateStore(dynamo, env.IDLEHOOK_TABLE_NAME, clock);
  const secrets = new SecretsManagerResolver(new SecretsManagerClient({}), clock);
  return {
    clock,
    blobs,
    state,
    logger: createLogger(env.IDLEHOOK_LOG_LEVEL),
    http: new UndiciHttpSender(),
    subscriptions: new DynamoDbSubscriptionRepository(dynamo, env.IDLEHOOK_TABLE_NAME, secrets, clock),
    // Ingest is FIFO per mailbox: a mailbox's events stay in order, mailboxes proceed in parallel.
    ingest: new SqsQueue<IngestRecord>(sqs, env.IDLEHOOK_INGEST_QUEUE_URL, {
      overflow: blobs,
      fifo: {
        groupOf: (record) =>
          record.kind === 'message' ? `${record.account}#${record.mailbox}` : record.event.data.account,
      },
    }),
    deliveries: new SqsQueue<DeliveryRecord>(sqs, env.IDLEHOOK_DELIVERY_QUEUE_URL, { overflow: blobs }),
  };
}
