import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbAccountRepository } from '../../adapters/aws/dynamodb-account-repository.js';
import { DynamoDbAccountStatusReports } from '../../adapters/aws/dynamodb-account-status-reports.js';
import { DynamoDbActionCommands } from '../../adapters/aws/dynamodb-action-commands.js';
import { DynamoDbApiTokenStore } from '../../adapters/aws/dynamodb-api-token-store.js';
import { DynamoDbAttemptLog } from '../../adapters/aws/dynamodb-attempt-log.js';
import { DynamoDbConnectFlows } from '../../adapters/aws/dynamodb-connect-flows.js';
import { stateTable } from '../../adapters/aws/dynamodb-documents.js';
import { DynamoDbEndpointThrottle } from '../../adapters/aws/dynamodb-endpoint-throttle.js';
import { DynamoDbLeaseStore } from '../../adapters/aws/dynamodb-lease-store.js';
import { DynamoDbRetryLedger } from '../../adapters/aws/dynamodb-retry-ledger.js';
import { DynamoDbStateStore } from '../../adapters/aws/dynamodb-state-store.js';
import { DynamoDbSubscriptionRepository } from '../../adapters/aws/dynamodb-subscription-repository.js';
import { KmsCredentialSealer } from '../../adapters/aws/kms-credential-sealer.js';
import { S3BlobStore } from '../../adapters/aws/s3-blob-store.js';
import { SealedOAuth2TokenStore } from '../../adapters/aws/sealed-oauth2-token-store.js';
import { SecretsManagerResolver } from '../../adapters/aws/secrets-manager-resolver.js';
import { SecretsManagerOAuth2TokenStore } from '../../adapters/aws/secrets-manager-token-store.js';
import { SecretsManagerWriter } from '../../adapters/aws/secrets-manager-writer.js';
import { SqsQueue } from '../../adapters/aws/sqs-queue.js';
import { DestinationGuard } from '../../adapters/http/destination-guard.js';
import { NodeHttpSender } from '../../adapters/http/node-http-sender.js';
import { HttpTokenEndpoint } from '../../adapters/http/token-endpoint.js';
import { EmfMetrics } from '../../adapters/metrics/emf-metrics.js';
import { createLogger } from '../../adapters/powertools-logger.js';
import { systemClock } from '../../adapters/system-clock.js';
import type { AwsEnvironment } from '../../config/aws-environment.js';
import { PIPELINE_METRICS } from '../../config/deployment.js';
import { signBlobLink } from '../../domain/blob-links.js';
import { errorMessage } from '../../domain/errors.js';
import { eventScope } from '../../domain/events.js';
import { runAfterDelivery } from '../../pipeline/after-delivery.js';
import type { DeliveredHook } from '../../pipeline/handle-delivery.js';
import type { DeliveryRecord, IngestRecord } from '../../pipeline/records.js';
import type { CredentialSealer, SecretResolver, SecretWriter } from '../../ports/services.js';
import type { OAuth2TokenStore } from '../../ports/watcher.js';
import { type BlobLinkHandler, createBlobLinkHandler } from './blob-link-handler.js';
import {
  createDeliverHandler,
  createParseHandler,
  type InvocationMetrics,
  type SqsHandler,
} from './lambda-handlers.js';

export interface AwsClients {
  readonly dynamo: DynamoDBClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly secrets: SecretResolver;
  readonly secretWriter: SecretWriter;
  readonly oauth2Tokens: OAuth2TokenStore;
  /** The KMS client the credential sealer asks for the stack's wrapping key. */
  readonly kms: KMSClient;
  /** Secrets Manager, where `secrets`, `secretWriter` or the OAuth2 tokens saved before sealing are not given. */
  readonly secretsManager: SecretsManagerClient;
}

/**
 * The SDK waits forever by default: one DynamoDB request stuck on a silent connection would stall the watcher's
 * lease cycle and every later one, and a stuck Secrets Manager or SQS request would hold up every later account
 * reconcile or that mailbox's sync. These services get small JSON requests (no long polling here), so a few
 * seconds is ample; a request that times out drops its connection, and the SDK's retry takes another. S3 is left
 * without: raw messages can be many megabytes. (`throwOnRequestTimeout`: without it the SDK only logs.)
 */
export const AWS_REQUEST_TIMEOUTS = {
  connectionTimeout: 3_000,
  requestTimeout: 5_000,
  throwOnRequestTimeout: true,
} as const;

/**
 * Every AWS adapter, built once per cold start (or task start) from the environment. Tests pass clients
 * pointed at local API servers; everything else is the same wiring the functions and the watcher use.
 */
export function composeAwsAdapters(env: AwsEnvironment, clients: Partial<AwsClients> = {}) {
  const clock = systemClock;
  const logger = createLogger(env.IDLEHOOK_LOG_LEVEL);
  const dynamo = clients.dynamo ?? new DynamoDBClient({ requestHandler: AWS_REQUEST_TIMEOUTS });
  const secretsManager =
    clients.secretsManager ?? new SecretsManagerClient({ requestHandler: AWS_REQUEST_TIMEOUTS });
  const secrets = clients.secrets ?? new SecretsManagerResolver(secretsManager, clock);
  const linkKey = blobLinkKey(env, secrets);
  const linkUrl = env.IDLEHOOK_BLOB_LINK_URL;
  const links =
    linkKey && linkUrl
      ? { link: async (key: string) => signBlobLink(linkUrl, key, clock.now(), await linkKey()) }
      : undefined;
  const blobs = new S3BlobStore(clients.s3 ?? new S3Client({}), env.IDLEHOOK_BLOB_BUCKET, links);
  const sqs = clients.sqs ?? new SQSClient({ requestHandler: AWS_REQUEST_TIMEOUTS });
  // One handle on the state table for every adapter on it.
  const table = stateTable(dynamo, env.IDLEHOOK_TABLE_NAME);
  const state = new DynamoDbStateStore(table, clock, blobs);
  // SSRF protection is always on here: webhook URLs, token URLs and the API's accounts are user input, and
  // everything runs inside AWS.
  const guard = new DestinationGuard(env.IDLEHOOK_ALLOWED_NETWORKS);
  const keyId = env.IDLEHOOK_CREDENTIALS_KEY_ID;
  const sealer: CredentialSealer | undefined =
    keyId === undefined
      ? undefined
      : new KmsCredentialSealer({
          kms: clients.kms ?? new KMSClient({ requestHandler: AWS_REQUEST_TIMEOUTS }),
          keyId,
          stack: env.IDLEHOOK_STACK_NAME,
          table,
          clock,
        });
  // Deliveries are grouped by subscription: SQS fair queues keep a slow endpoint's backlog from delaying the rest.
  const deliveries = new SqsQueue<DeliveryRecord>(sqs, env.IDLEHOOK_DELIVERY_QUEUE_URL, {
    overflow: blobs,
    groupOf: (record) => record.subscriptionId,
  });
  // Fan-out needs who wants which events, never the signing secrets: the parse function may not read them.
  const routing = new DynamoDbSubscriptionRepository(table, undefined, clock);
  return {
    guard,
    tokenEndpoint: new HttpTokenEndpoint(guard),
    linkKey,
    clock,
    blobs,
    state,
    secrets,
    sealer,
    oauth2Tokens:
      clients.oauth2Tokens ??
      new SealedOAuth2TokenStore(
        table,
        sealer,
        new SecretsManagerOAuth2TokenStore(secretsManager, env.IDLEHOOK_SECRET_PREFIX),
      ),
    secretPrefix: env.IDLEHOOK_SECRET_PREFIX,
    secretWriter: clients.secretWriter ?? new SecretsManagerWriter(secretsManager),
    apiTokens: new DynamoDbApiTokenStore(table, clock),
    connectFlows: new DynamoDbConnectFlows(table),
    accountStatusReports: new DynamoDbAccountStatusReports(table),
    attempts: new DynamoDbAttemptLog(table),
    throttle: new DynamoDbEndpointThrottle(table, clock),
    logger,
    accounts: new DynamoDbAccountRepository(table, { secrets, sealer }, logger, {
      shardCount: env.IDLEHOOK_SHARD_COUNT,
      clock,
    }),
    actionCommands: new DynamoDbActionCommands(table, env.IDLEHOOK_SHARD_COUNT, clock),
    leases: new DynamoDbLeaseStore(table, clock),
    http: new NodeHttpSender(guard),
    subscriptions: new DynamoDbSubscriptionRepository(table, secrets, clock),
    routing,
    // Ingest is FIFO per mailbox: a mailbox's events stay in order, mailboxes proceed in parallel.
    ingest: new SqsQueue<IngestRecord>(sqs, env.IDLEHOOK_INGEST_QUEUE_URL, {
      overflow: blobs,
      fifo: true,
      groupOf: (record) => {
        const { account, mailbox } = record.kind === 'message' ? record : eventScope(record.event);
        return mailbox ? `${account}#${mailbox}` : (account ?? 'idlehook');
      },
    }),
    deliveries,
    retrying: new DynamoDbRetryLedger(
      table,
      deliveries,
      async () => (await routing.list()).map((subscription) => subscription.id),
      clock,
    ),
  };
}

export type AwsAdapters = ReturnType<typeof composeAwsAdapters>;

/** The blob links' HMAC key (base64 in its secret), where one is configured. */
function blobLinkKey(env: AwsEnvironment, secrets: SecretResolver): (() => Promise<Buffer>) | undefined {
  const arn = env.IDLEHOOK_BLOB_LINK_KEY_ARN;
  if (!arn) return undefined;
  return async () => {
    const key = Buffer.from((await secrets.resolve(arn)).trim(), 'base64');
    if (key.length < 32) throw new Error(`the blob link key in ${arn} must be at least 32 bytes, base64`);
    return key;
  };
}

/** The blobs function's handler: checks a link, answers with a fresh presigned URL (functions/blobs). */
export function blobLinkFunction(aws: AwsAdapters): BlobLinkHandler {
  if (!aws.linkKey) throw new Error('IDLEHOOK_BLOB_LINK_KEY_ARN must be set');
  return createBlobLinkHandler({
    key: aws.linkKey,
    presign: (key) => aws.blobs.presign(key),
    clock: aws.clock,
  });
}

/** The parse Lambda's handler over the composed adapters (functions/parse exports this). */
export function parseFunction(
  aws: AwsAdapters,
  metrics: InvocationMetrics = new EmfMetrics(PIPELINE_METRICS.parseService),
): SqsHandler {
  return createParseHandler({
    blobs: aws.blobs,
    ingest: aws.ingest,
    deliveries: aws.deliveries,
    subscriptions: aws.routing,
    metrics,
  });
}

/**
 * A subscription's actions after a 2xx (a delivery's or a replay's): filed for the watcher task holding the
 * account, which runs them.
 */
export function fileAfterDelivery(aws: AwsAdapters): DeliveredHook {
  return (record, subscription, routedAmong) =>
    runAfterDelivery(record, subscription, routedAmong.values(), {
      log: aws.state,
      perform: (command) => aws.actionCommands.file(command),
      clock: aws.clock,
      logger: aws.logger,
    }).catch((error: unknown) =>
      aws.logger.error('after-delivery actions not filed', {
        eventId: record.eventId,
        error: errorMessage(error),
      }),
    );
}

/** The deliver Lambda's handler over the composed adapters (functions/deliver exports this). */
export function deliverFunction(
  aws: AwsAdapters,
  env: AwsEnvironment,
  metrics: InvocationMetrics = new EmfMetrics(PIPELINE_METRICS.deliverService),
): SqsHandler {
  return createDeliverHandler({
    metrics,
    deliveries: aws.deliveries,
    retrying: aws.retrying,
    subscriptionRepository: aws.subscriptions,
    log: aws.state,
    attempts: aws.attempts,
    subscriptionStatus: aws.state,
    throttle: aws.throttle,
    http: aws.http,
    clock: aws.clock,
    logger: aws.logger,
    delivered: fileAfterDelivery(aws),
    policy: {
      retryScheduleSeconds: env.IDLEHOOK_RETRY_SCHEDULE_SECONDS,
      timeoutMs: env.IDLEHOOK_DELIVERY_TIMEOUT_SECONDS * 1000,
      overloadFloorSeconds: env.IDLEHOOK_OVERLOAD_FLOOR_SECONDS,
      disableAfterMs: env.IDLEHOOK_DISABLE_AFTER_FAILING_SECONDS * 1000,
    },
  });
}
