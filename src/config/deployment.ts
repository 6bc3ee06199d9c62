import type { AwsEnvironmentVariable } from './aws-environment.js';

/**
 * Names that the construct, the runtimes, the CLI and the container image must agree on, defined once here.
 * Environment variable names are typed from the AWS environment's schema (aws-environment.ts), so that a name
 * set by the construct and not read by the runtimes fails to compile.
 */

/** The watcher's CloudWatch metrics: it sends them, the construct alarms and graphs them. */
export const WATCHER_METRICS = {
  namespace: 'idlehook',
  heartbeat: 'WatcherHeartbeat',
  watchedMailboxes: 'WatchedMailboxes',
} as const;

/**
 * The functions' CloudWatch metrics (Powertools Metrics, as EMF log lines): the deliver and parse functions publish
 * them under their `service` dimension, the construct graphs them and alarms on them.
 */
export const PIPELINE_METRICS = {
  namespace: 'idlehook',
  parseService: 'idlehook-parse',
  deliverService: 'idlehook-deliver',
  eventsQueued: 'EventsQueued',
  /** Events a subscription's filter let through, and those it kept back. */
  filterMatched: 'FilterMatched',
  filteredOut: 'FilteredOut',
  delivered: 'WebhooksDelivered',
  retried: 'WebhookRetries',
  deadLettered: 'WebhooksDeadLettered',
  /** Followed by the status class: WebhookAttempts2xx, ...4xx, ...5xx, ...NoResponse. */
  attemptsByStatusClass: 'WebhookAttempts',
  deliveryLatency: 'DeliveryLatency',
  /** The event's age at every attempt, failed ones included: SQS's own age metric leaves out retried records. */
  eventAgeAtAttempt: 'EventAgeAtAttempt',
  endToEndLatency: 'EndToEndLatency',
} as const;

/** The stack's outputs the CLI turns into its AWS environment (`--stack NAME`), by output name. */
export const STACK_OUTPUTS = {
  TableName: 'IDLEHOOK_TABLE_NAME',
  IngestQueueUrl: 'IDLEHOOK_INGEST_QUEUE_URL',
  DeliveryQueueUrl: 'IDLEHOOK_DELIVERY_QUEUE_URL',
  BlobBucket: 'IDLEHOOK_BLOB_BUCKET',
  SecretPrefix: 'IDLEHOOK_SECRET_PREFIX',
  CredentialsKeyArn: 'IDLEHOOK_CREDENTIALS_KEY_ID',
  StackName: 'IDLEHOOK_STACK_NAME',
  ShardCount: 'IDLEHOOK_SHARD_COUNT',
} as const satisfies Readonly<Record<string, AwsEnvironmentVariable>>;
export type StackOutputName = keyof typeof STACK_OUTPUTS | 'AlarmTopicArn' | 'ApiUrl';

/** The container health check: a second bundle in the image, so the port stays in one place. */
export const WATCHER_HEALTH_CHECK_COMMAND = ['node', 'healthcheck.mjs'] as const;
