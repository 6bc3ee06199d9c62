// The parse Lambda: SQS (FIFO ingest queue) -> parsed event -> one delivery record per subscription.
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { composeAwsAdapters } from '../../src/runtime/aws-composition.js';
import { createParseHandler } from '../../src/runtime/lambda-handlers.js';

const aws = composeAwsAdapters(loadAwsEnvironment());

export const handler = createParseHandler({
  blobs: aws.blobs,
  ingest: aws.ingest,
  deliveries: aws.deliveries,
  subscriptions: aws.subscriptions,
});
