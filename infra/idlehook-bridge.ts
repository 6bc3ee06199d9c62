import { type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import {
  ACCOUNT_SHARD_INDEX,
  DEAD_LETTER_INDEX,
  TABLE_KEY,
  TTL_ATTRIBUTE,
} from '../src/adapters/aws/state-table.js';
import {
  type AwsEnvironmentVariables,
  DEFAULT_SHARD_COUNT,
  secretName,
} from '../src/config/aws-environment.js';
import { BLOB_PREFIXES, EXPIRING_BLOB_PREFIXES } from '../src/domain/blob-keys.js';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../src/domain/retry.js';
import { notifyingAlarm } from './alarms.js';
import { DeadLetteredQueue } from './dead-lettered-queue.js';
import { grantCredentialsKey } from './grants.js';
import { ManagementApi } from './management-api.js';
import { DELIVER_TIMEOUT, PARSE_TIMEOUT, PipelineFunctions } from './pipeline-functions.js';
import { WatcherService } from './watcher-service.js';

export interface IdlehookBridgeProps {
  /** Where the watcher task runs. Created (2 AZs, one NAT gateway) when not given; never looked up. */
  readonly vpc?: ec2.IVpc;
  /** Raw messages and attachments are deleted after this many days; presigned URLs last at most 7. */
  readonly blobRetentionDays?: number;
  /** Alarms notify this topic; one is created when not given. */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Where the alarm topic sends e-mail (each address confirms the subscription once). Without it, or a topic of
   * your own with subscribers, an alarm reaches nobody.
   */
  readonly alarmEmails?: readonly string[];
  /** Waits between delivery attempts, seconds (default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h). */
  readonly retryScheduleSeconds?: readonly number[];
  /** Most deliver functions running at once, so one slow endpoint cannot exhaust account concurrency. */
  readonly deliveryMaxConcurrency?: number;
  /** Internal CIDR ranges webhooks may reach; everything internal is refused otherwise (SSRF protection). */
  readonly allowedNetworks?: readonly string[];
  /** Keep data when the stack is deleted (default true: mailbox state and dead letters are worth keeping). */
  readonly retainData?: boolean;
  /**
   * Secrets Manager name prefix of this deployment's secrets (default `idlehook/<stack name>/`): the CLI creates
   * secrets under it and each component may read only its own kind there, so other stacks' secrets stay apart.
   */
  readonly secretPrefix?: string;
  /** Watcher tasks always running (default 2) and the most scaling may add (default 10). */
  readonly minWatcherTasks?: number;
  readonly maxWatcherTasks?: number;
  /**
   * Scaling keeps each watcher task near this many mailboxes (default: what half a task's memory holds, as
   * measured by bench:density: 1,400 at 512 MiB, 7,000 at 2 GiB).
   */
  readonly mailboxesPerWatcherTask?: number;
  /**
   * A watcher task's Fargate size: CPU units (default 256) and memory (default 512 MiB). Memory sets how many
   * mailboxes a task holds (105-142 KiB each, measured); 1,024 / 2,048 holds 10,000 mailboxes per task.
   */
  readonly watcherCpu?: number;
  readonly watcherMemoryMiB?: number;
  /**
   * The small-deployment shape: watcher tasks in public subnets (a public IP each, no inbound traffic) instead of
   * behind a NAT gateway, which is most of a small deployment's bill. Default `private`.
   */
  readonly watcherNetwork?: 'private' | 'public';
  /** Watcher tasks on Fargate Spot: cheaper, and a task may be stopped with 2 minutes' notice (its shards move). */
  readonly watcherSpot?: boolean;
  /**
   * The KMS key that protects the stack's credential wrapping key (account passwords and refresh tokens are
   * sealed in the table under it). Default: a customer-managed key the construct creates, with yearly rotation.
   */
  readonly credentialsKey?: kms.IKey;
  /**
   * Mailboxes are spread over this many shards, whose leases the watcher tasks share (default 256). Fixed for a
   * deployment's life: changing it moves every mailbox.
   */
  readonly shardCount?: number;
  /**
   * The management API (always deployed; nobody gets in before `idlehook tokens create --stack NAME` makes a
   * token). `iamAccess` adds a function URL for callers inside AWS that sign with SigV4 (see `grantIamAccess`);
   * the HTTP API lets `rateLimit` requests per second through (default 20, bursts of 40).
   */
  readonly managementApi?: {
    readonly iamAccess?: boolean;
    readonly rateLimit?: number;
    readonly burstLimit?: number;
    /**
     * The dashboard (`<ApiUrl>dashboard`, opened with an API token) shows each message's subject and sender. Off
     * by default: they are personal data, shown to read tokens too. (The API's role reads raw mail either way, to
     * answer a message read again, which needs a full token.)
     */
    readonly showMessageDetails?: boolean;
    /**
     * Turns on the hosted OAuth2 connect flow: a secret holding the config file's `connect` section as JSON
     * (`allowedRedirects`, `providers.gmail|outlook` with `clientId` and `clientSecret` inline, ...).
     */
    readonly connect?: secretsmanager.ISecret;
  };
}

/**
 * idlehook on AWS: a Fargate watcher holding IMAP IDLE connections, a FIFO ingest queue, a parse function, a
 * delivery queue and a deliver function, one DynamoDB table, one S3 bucket; alarms and a dashboard.
 */
export class IdlehookBridge extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  /** Protects the key that seals account credentials (see `credentialsKey` in the props). */
  readonly credentialsKey: kms.IKey;
  readonly ingest: DeadLetteredQueue;
  readonly delivery: DeadLetteredQueue;
  readonly functions: PipelineFunctions;
  readonly watcher: WatcherService;
  readonly api: ManagementApi;
  readonly alarmTopic: sns.ITopic;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: IdlehookBridgeProps = {},
  ) {
    super(scope, id);
    const retain = props.retainData ?? true;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    const retryScheduleSeconds = props.retryScheduleSeconds ?? DEFAULT_RETRY_SCHEDULE_SECONDS;
    this.alarmTopic = props.alarmTopic ?? new sns.Topic(this, 'Alarms', { enforceSSL: true });
    for (const address of props.alarmEmails ?? [])
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(address));

    // --- State: one table, as src/adapters/aws/state-table.ts defines it ---
    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: stringAttribute(TABLE_KEY.partition),
      sortKey: stringAttribute(TABLE_KEY.sort),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: DEAD_LETTER_INDEX.name,
      partitionKey: stringAttribute(DEAD_LETTER_INDEX.partitionKey),
      sortKey: stringAttribute(DEAD_LETTER_INDEX.sortKey),
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...DEAD_LETTER_INDEX.listedAttributes],
    });
    this.table.addGlobalSecondaryIndex({
      indexName: ACCOUNT_SHARD_INDEX.name,
      partitionKey: stringAttribute(ACCOUNT_SHARD_INDEX.partitionKey),
      sortKey: stringAttribute(ACCOUNT_SHARD_INDEX.sortKey),
    });
    // On-demand tables throttle a partition pushed past its limits (a hot account, a burst of leases).
    notifyingAlarm(this, 'TableThrottleAlarm', {
      metric: new cloudwatch.MathExpression({
        expression: 'reads + writes',
        usingMetrics: {
          reads: this.table.metric('ReadThrottleEvents', { statistic: 'Sum' }),
          writes: this.table.metric('WriteThrottleEvents', { statistic: 'Sum' }),
        },
        period: Duration.minutes(5),
      }),
      threshold: 1,
      description:
        'DynamoDB throttled requests to the state table: cursors, leases or deliveries are being delayed.',
      topic: this.alarmTopic,
    });
    this.bucket = this.blobBucket(removalPolicy);

    // --- Queues ---
    this.ingest = new DeadLetteredQueue(this, 'Ingest', {
      fifo: true,
      visibilityTimeout: Duration.seconds(PARSE_TIMEOUT.toSeconds() * 6),
      maxReceiveCount: 5,
      alarmTopic: this.alarmTopic,
      deadLetterDescription:
        'Messages could not be parsed after 5 tries: inspect the ingest dead-letter queue.',
      ageAlarm: { thresholdSeconds: 300, description: 'New mail has waited over 5 minutes to be parsed.' },
    });
    this.delivery = new DeadLetteredQueue(this, 'Delivery', {
      visibilityTimeout: Duration.seconds(DELIVER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      // Retries are receives: the delivery log dead-letters after the schedule; this only catches crashes.
      maxReceiveCount: retryScheduleSeconds.length + 10,
      alarmTopic: this.alarmTopic,
      deadLetterDescription: 'Delivery records crashed the deliver function repeatedly.',
      ageAlarm: {
        // SQS's age counts only records received fewer than three times: new ones, and those on their first two
        // retries. Older than those two waits and 5 minutes more, they are not being picked up. Late retries
        // alarm through the deliver function's own figure (DeliveryAgeAlarm).
        thresholdSeconds: (retryScheduleSeconds[0] ?? 0) + (retryScheduleSeconds[1] ?? 0) + 300,
        description:
          'Delivery records are not being picked up: the deliver function is not consuming its queue.',
      },
    });

    this.credentialsKey =
      props.credentialsKey ??
      new kms.Key(this, 'CredentialsKey', {
        description: `idlehook ${Stack.of(this).stackName}: protects the key that seals account credentials`,
        enableKeyRotation: true,
        removalPolicy,
      });

    // --- Compute ---
    const environment: AwsEnvironmentVariables = {
      IDLEHOOK_CREDENTIALS_KEY_ID: this.credentialsKey.keyArn,
      IDLEHOOK_STACK_NAME: Stack.of(this).stackName,
      IDLEHOOK_TABLE_NAME: this.table.tableName,
      IDLEHOOK_INGEST_QUEUE_URL: this.ingest.queue.queueUrl,
      IDLEHOOK_DELIVERY_QUEUE_URL: this.delivery.queue.queueUrl,
      IDLEHOOK_BLOB_BUCKET: this.bucket.bucketName,
      IDLEHOOK_SECRET_PREFIX: this.secretPrefix,
      IDLEHOOK_RETRY_SCHEDULE_SECONDS: retryScheduleSeconds.join(','),
      IDLEHOOK_ALLOWED_NETWORKS: (props.allowedNetworks ?? []).join(','),
      IDLEHOOK_SHARD_COUNT: String(this.shardCount),
    };
    const shared = {
      table: this.table,
      bucket: this.bucket,
      ingestQueue: this.ingest.queue,
      environment,
      secretPrefix: this.secretPrefix,
      alarmTopic: this.alarmTopic,
      removalPolicy,
    };
    this.functions = new PipelineFunctions(this, 'Functions', {
      ...shared,
      deliveryQueue: this.delivery.queue,
      deliveryMaxConcurrency: props.deliveryMaxConcurrency ?? 20,
      retryScheduleSeconds,
    });
    this.watcher = new WatcherService(this, 'Watcher', {
      ...shared,
      ...(props.vpc ? { vpc: props.vpc } : {}),
      ...(props.minWatcherTasks ? { minTasks: props.minWatcherTasks } : {}),
      ...(props.maxWatcherTasks ? { maxTasks: props.maxWatcherTasks } : {}),
      ...(props.mailboxesPerWatcherTask ? { mailboxesPerTask: props.mailboxesPerWatcherTask } : {}),
      ...(props.watcherCpu ? { cpu: props.watcherCpu } : {}),
      ...(props.watcherMemoryMiB ? { memoryMiB: props.watcherMemoryMiB } : {}),
      ...(props.watcherNetwork ? { network: props.watcherNetwork } : {}),
      ...(props.watcherSpot ? { spot: true } : {}),
    });
    const api = props.managementApi ?? {};
    this.api = new ManagementApi(this, 'Api', {
      ...shared,
      deliveryQueue: this.delivery.queue,
      iamAccess: api.iamAccess ?? false,
      connect: api.connect,
      showMessageDetails: api.showMessageDetails ?? false,
      blobLinks: { url: this.functions.blobsUrl.url, key: this.functions.blobLinkKey },
      throttle: { rateLimit: api.rateLimit ?? 20, burstLimit: api.burstLimit ?? 40 },
    });

    // The API seals what it is given, the watcher rotated OAuth2 tokens; whichever seals first makes the stack's
    // wrapping key (GenerateDataKey), the others decrypt it.
    for (const role of [this.api.handler, this.watcher.taskDefinition.taskRole])
      grantCredentialsKey(role, this.credentialsKey, Stack.of(this).stackName, [
        'kms:GenerateDataKey',
        'kms:Decrypt',
      ]);

    this.dashboard = this.createDashboard();
    this.acknowledgeFindings();
  }

  /** Secrets Manager name prefix of this deployment's secrets (the CLI creates secrets under it). */
  /** Shards of mailboxes (the `shardCount` prop, default 256); the CLI reads it from the stack's outputs. */
  get shardCount(): number {
    return this.props.shardCount ?? DEFAULT_SHARD_COUNT;
  }

  get secretPrefix(): string {
    return this.props.secretPrefix ?? `idlehook/${Stack.of(this).stackName}/`;
  }

  /** Raw mail, attachments and queue overflow expire; a dead letter's body and the watcher's large state stay. */
  private blobBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    const accessLogs = new s3.Bucket(this, 'BlobAccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
    });
    Validations.of(accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket holds the access logs of the blob bucket; logging it would log the logs.',
    });
    return new s3.Bucket(this, 'Blobs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'blobs/',
      lifecycleRules: EXPIRING_BLOB_PREFIXES.map((prefix) => ({
        prefix,
        expiration: Duration.days(this.props.blobRetentionDays ?? 30),
      })),
      removalPolicy,
    });
  }

  private createDashboard(): cloudwatch.Dashboard {
    const { parseFunction, deliverFunction, figures } = this.functions;
    return new cloudwatch.Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Watcher',
            left: [this.watcher.heartbeat, this.watcher.watchedMailboxes],
          }),
          new cloudwatch.GraphWidget({
            title: 'Queues: waiting',
            left: [
              this.ingest.queue.metricApproximateNumberOfMessagesVisible(),
              this.delivery.queue.metricApproximateNumberOfMessagesVisible(),
            ],
            right: [
              this.ingest.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
              this.delivery.deadLetterQueue.metricApproximateNumberOfMessagesVisible(),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Functions',
            left: [parseFunction.metricInvocations(), deliverFunction.metricInvocations()],
            right: [parseFunction.metricErrors(), deliverFunction.metricErrors()],
          }),
          new cloudwatch.GraphWidget({
            title: 'Function duration',
            left: [parseFunction.metricDuration(), deliverFunction.metricDuration()],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Webhooks',
            left: [figures.delivered, figures.retried, figures.deadLettered],
            right: [figures.eventsQueued],
          }),
          new cloudwatch.GraphWidget({
            title: 'Latency (ms): detection and arrival to delivery',
            left: [
              figures.deliveryLatency.with({ statistic: 'p50', label: 'delivery p50' }),
              figures.deliveryLatency.with({ label: 'delivery p99' }),
              figures.endToEndLatency.with({ statistic: 'p50', label: 'end to end p50' }),
              figures.endToEndLatency.with({ label: 'end to end p99' }),
            ],
          }),
        ],
      ],
    });
  }

  /** cdk-nag AwsSolutions findings that are deliberate, each with its reason. */
  private acknowledgeFindings(): void {
    const stack = Stack.of(this);
    const logicalId = (construct: Construct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
    const shown = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
    const acknowledge = (id: string, reason: string) => Validations.of(this).acknowledge({ id, reason });

    acknowledge(
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      'Lets the functions write their own logs and nothing else; the AWS-maintained minimum for Lambda.',
    );
    for (const prefix of Object.values(BLOB_PREFIXES)) {
      acknowledge(
        `AwsSolutions-IAM5[Resource::<${logicalId(this.bucket)}.Arn>/${prefix}*]`,
        `Objects under ${prefix} in the one blob bucket: keys are per event or record, granted per component and prefix.`,
      );
    }
    acknowledge(
      `AwsSolutions-IAM5[Resource::<${logicalId(this.table)}.Arn>/index/*]`,
      'The indexes of the one state table (dead letters are listed through gsi1), limited by dynamodb:LeadingKeys.',
    );
    const prefix = this.secretPrefix;
    for (const kind of ['accounts', 'subscriptions', 'oauth2-tokens'] as const) {
      acknowledge(
        `AwsSolutions-IAM5[Resource::arn:${shown(stack.partition, 'AWS::Partition')}:secretsmanager:${shown(stack.region, 'AWS::Region')}:${shown(stack.account, 'AWS::AccountId')}:secret:${secretName(prefix, kind, '*')}]`,
        `This deployment's ${kind} secrets only: the suffix is random per secret and they are added without a redeploy.`,
      );
    }
    acknowledge(
      'AwsSolutions-IAM5[Resource::*]',
      'cloudwatch:PutMetricData and ecr:GetAuthorizationToken support no resource; PutMetricData is limited to the idlehook namespace by condition.',
    );
    Validations.of(this.functions.blobLinkKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The blob link key signs links that must stay valid for 7 days; rotating it would break every outstanding link.',
    });
    acknowledge(
      'AwsSolutions-L1',
      'Node.js 22 is the runtime the project targets and tests (the AWS SDK needs Node 22 from 2027).',
    );
    if (this.api.connectKey)
      Validations.of(this.api.connectKey).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Rotating the connect key would only void links and sign-ins under way; it is replaced by redeploying.',
      });
    Validations.of(this.api.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Every route checks a bearer token inside the function (hashes in the state table); IAM callers use the function URL.',
    });
    Validations.of(this.watcher.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds resource names only (table, queues, bucket); secrets come from Secrets Manager at run time.',
    });
  }
}

function stringAttribute(name: string): dynamodb.Attribute {
  return { name, type: dynamodb.AttributeType.STRING };
}
