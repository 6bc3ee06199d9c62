// The deliver Lambda: SQS (delivery queue) -> one signed webhook attempt per record.
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { composeAwsAdapters } from '../../src/runtime/aws-composition.js';
import { createDeliverHandler } from '../../src/runtime/lambda-handlers.js';

const env = loadAwsEnvironment();
const aws = composeAwsAdapters(env);

export const handler = createDeliverHandler({
  deliveries: aws.deliveries,
  subscriptionRepository: aws.subscriptions,
  log: aws.state,
  subscriptionStatus: aws.state,
  http: aws.http,
  clock: aws.clock,
  logger: aws.logger,
  retryScheduleSeconds: env.IDLEHOOK_RETRY_SCHEDULE_SECONDS,
  timeoutMs: env.IDLEHOOK_DELIVERY_TIMEOUT_SECONDS * 1000,
});
