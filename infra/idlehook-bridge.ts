import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, type CfnElement, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  DEAD_LETTER_INDEX,
  PARTITIONS_BY_COMPONENT,
  TABLE_KEY,
  TTL_ATTRIBUTE,
} from '../src/adapters/aws/state-table.js';
import { type AwsEnvironmentVariables, type SecretKind, secretName } from '../src/config/aws-environment.js';
import { WATCHER_HEALTH_CHECK_COMMAND, WATCHER_METRICS } from '../src/config/deployment.js';
import { BLOB_PREFIXES, EXPIRING_BLOB_PREFIXES } from '../src/domain/blob-keys.js';
import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '../src/domain/retry.js';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface IdlehookBridgeProps {
  /** Where the watcher task runs. Created (2 AZs, one NAT gateway) when not given; never looked up. */
  readonly vpc?: ec2.IVpc;
  /** Raw messages and attachments are deleted after this many days; presigned URLs last at most 7. */
  readonly blobRetentionDays?: number;
  /** Alarms notify this topic; one is created when not given. */
  readonly alarmTopic?: sns.ITopic;
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
}

const PARSE_TIMEOUT = Duration.seconds(60);
const DELIVER_TIMEOUT = Duration.seconds(30);

/**
 * idlehook on AWS: a Fargate watcher holding IMAP IDLE connections, a FIFO ingest queue, a parse function, a
 * delivery queue and a deliver function, one DynamoDB table, one S3 bucket; alarms and a dashboard.
 */
export class IdlehookBridge extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  readonly ingestQueue: sqs.Queue;
  readonly deliveryQueue: sqs.Queue;
  readonly ingestDeadLetterQueue: sqs.Queue;
  readonly deliveryDeadLetterQueue: sqs.Queue;
  readonly parseFunction: NodejsFunction;
  readonly deliverFunction: NodejsFunction;
  /** Answers the links in events with fresh presigned URLs, behind `blobsUrl`. */
  readonly blobsFunction: NodejsFunction;
  readonly blobsUrl: lambda.FunctionUrl;
  readonly blobLinkKey: secretsmanager.Secret;
  readonly watcherService: ecs.FargateService;
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

    // --- State: one table, keys as in src/adapters/aws/dynamodb-state-store.ts ---
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
    });

    // --- Blobs ---
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
    this.bucket = new s3.Bucket(this, 'Blobs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'blobs/',
      // Raw mail, attachments and queue overflow expire; a dead letter's body stays until it is replayed (the
      // deliver function deletes it then), and so does the watcher's large state.
      lifecycleRules: EXPIRING_BLOB_PREFIXES.map((prefix) => ({
        prefix,
        expiration: Duration.days(props.blobRetentionDays ?? 30),
      })),
      removalPolicy,
    });

    // --- Queues ---
    const queueDefaults = {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // SQS's maximum since 2025; larger payloads travel by reference through S3.
      maxMessageSizeBytes: 1024 * 1024,
    };
    this.ingestDeadLetterQueue = new sqs.Queue(this, 'IngestDeadLetters', {
      ...queueDefaults,
      fifo: true,
      retentionPeriod: Duration.days(14),
    });
    this.ingestQueue = new sqs.Queue(this, 'Ingest', {
      ...queueDefaults,
      fifo: true,
      // At least 6x the function timeout, as Lambda's SQS integration requires for retries to work.
      visibilityTimeout: Duration.seconds(PARSE_TIMEOUT.toSeconds() * 6),
      deadLetterQueue: { queue: this.ingestDeadLetterQueue, maxReceiveCount: 5 },
    });
    this.deliveryDeadLetterQueue = new sqs.Queue(this, 'DeliveryDeadLetters', {
      ...queueDefaults,
      retentionPeriod: Duration.days(14),
    });
    this.deliveryQueue = new sqs.Queue(this, 'Delivery', {
      ...queueDefaults,
      visibilityTimeout: Duration.seconds(DELIVER_TIMEOUT.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      // Retries are receives: the delivery log dead-letters after the schedule; this only catches crashes.
      deadLetterQueue: {
        queue: this.deliveryDeadLetterQueue,
        maxReceiveCount: retryScheduleSeconds.length + 10,
      },
    });

    // --- Functions ---
    const environment: AwsEnvironmentVariables & { readonly NODE_OPTIONS: string } = {
      IDLEHOOK_TABLE_NAME: this.table.tableName,
      IDLEHOOK_INGEST_QUEUE_URL: this.ingestQueue.queueUrl,
      IDLEHOOK_DELIVERY_QUEUE_URL: this.deliveryQueue.queueUrl,
      IDLEHOOK_BLOB_BUCKET: this.bucket.bucketName,
      IDLEHOOK_SECRET_PREFIX: this.secretPrefix,
      IDLEHOOK_RETRY_SCHEDULE_SECONDS: retryScheduleSeconds.join(','),
      IDLEHOOK_ALLOWED_NETWORKS: (props.allowedNetworks ?? []).join(','),
      NODE_OPTIONS: '--enable-source-maps',
    };
    const functionDefaults = (name: string, timeout: Duration, extra?: AwsEnvironmentVariables) => ({
      entry: join(repositoryRoot, 'functions', name, 'index.ts'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout,
      environment: { ...environment, ...extra },
      logGroup: new logs.LogGroup(this, `${name}-logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy,
      }),
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });

    // Links in events (raw mail, attachments) go to the blobs function, which checks their HMAC and redirects to
    // a URL it presigns then: a URL presigned by the parse function would die with its session, long before the
    // 7 days a link promises. Rotating the key invalidates every outstanding link, so it is not rotated.
    this.blobLinkKey = new secretsmanager.Secret(this, 'BlobLinkKey', {
      secretName: `${this.secretPrefix}blob-link-key`,
      description: 'HMAC key of the links to raw mail and attachments in idlehook events (base64)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      removalPolicy,
    });
    const linkKeyEnvironment: AwsEnvironmentVariables = {
      IDLEHOOK_BLOB_LINK_KEY_ARN: this.blobLinkKey.secretArn,
    };
    this.blobsFunction = new NodejsFunction(
      this,
      'BlobLinks',
      functionDefaults('blobs', Duration.seconds(10), linkKeyEnvironment),
    );
    this.blobsUrl = this.blobsFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.grantBlobs(this.blobsFunction, { read: [BLOB_PREFIXES.raw, BLOB_PREFIXES.attachments], write: [] });
    this.grantLinkKey(this.blobsFunction);

    this.parseFunction = new NodejsFunction(
      this,
      'Parse',
      functionDefaults('parse', PARSE_TIMEOUT, {
        ...linkKeyEnvironment,
        IDLEHOOK_BLOB_LINK_URL: this.blobsUrl.url,
      }),
    );
    // Parse reads raw mail and large ingest records, writes attachments and large delivery records, and signs the
    // links in events with the link key.
    this.grantTable(this.parseFunction, PARTITIONS_BY_COMPONENT.parse);
    this.grantBlobs(this.parseFunction, {
      read: [BLOB_PREFIXES.raw, BLOB_PREFIXES.queueOverflow],
      write: [BLOB_PREFIXES.attachments, BLOB_PREFIXES.queueOverflow],
    });
    this.grantLinkKey(this.parseFunction);
    this.ingestQueue.grantConsumeMessages(this.parseFunction);
    this.grantSend(this.parseFunction, this.deliveryQueue);
    this.parseFunction.addEventSource(
      new SqsEventSource(this.ingestQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    this.deliverFunction = new NodejsFunction(this, 'Deliver', functionDefaults('deliver', DELIVER_TIMEOUT));
    // Deliver faces the internet: webhook signing secrets only, never IMAP passwords or refresh tokens, and only
    // its own table partitions. It keeps large dead-letter bodies (a replay, which runs with the operator's
    // credentials, deletes them) and re-queues held-back records, which may overflow to S3.
    this.grantTable(this.deliverFunction, PARTITIONS_BY_COMPONENT.deliver);
    this.grantBlobs(this.deliverFunction, {
      read: [BLOB_PREFIXES.queueOverflow, BLOB_PREFIXES.deadLetters],
      write: [BLOB_PREFIXES.queueOverflow, BLOB_PREFIXES.deadLetters],
    });
    this.deliveryQueue.grantConsumeMessages(this.deliverFunction);
    this.grantSend(this.deliverFunction, this.deliveryQueue);
    this.grantSecrets(this.deliverFunction, ['secretsmanager:GetSecretValue'], ['subscriptions']);
    this.deliverFunction.addEventSource(
      new SqsEventSource(this.deliveryQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: props.deliveryMaxConcurrency ?? 20,
      }),
    );

    // --- Watcher: Fargate on ARM64 ---
    const vpc =
      props.vpc ??
      new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 1,
        flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
      });
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'WatcherTask', {
      cpu: 256,
      memoryLimitMiB: 512,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    taskDefinition.addContainer('watcher', {
      image: ecs.ContainerImage.fromAsset(repositoryRoot, {
        file: 'containers/watcher/Dockerfile',
        platform: Platform.LINUX_ARM64,
        exclude: ['node_modules', 'cdk.out', 'dist', 'dist-watcher', '.idlehook', '.git', 'test', 'bench'],
      }),
      environment,
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'watcher',
        logGroup: new logs.LogGroup(this, 'watcher-logs', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy,
        }),
      }),
      healthCheck: {
        command: ['CMD', ...WATCHER_HEALTH_CHECK_COMMAND],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        startPeriod: Duration.seconds(30),
      },
      stopTimeout: Duration.seconds(30),
    });
    // The watcher stores raw mail and large ingest records; its only S3 reads are its own large state.
    this.grantTable(taskDefinition.taskRole, PARTITIONS_BY_COMPONENT.watcher);
    this.grantBlobs(taskDefinition.taskRole, {
      read: [BLOB_PREFIXES.state],
      write: [BLOB_PREFIXES.raw, BLOB_PREFIXES.queueOverflow, BLOB_PREFIXES.state],
      delete: [BLOB_PREFIXES.state],
    });
    this.grantSend(taskDefinition.taskRole, this.ingestQueue);
    this.grantSecrets(
      taskDefinition.taskRole,
      ['secretsmanager:GetSecretValue'],
      ['accounts', 'oauth2-tokens'],
    );
    // OAuth2 accounts: the watcher keeps each account's refreshed (possibly rotated) tokens in a secret of its own.
    this.grantSecrets(
      taskDefinition.taskRole,
      ['secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue'],
      ['oauth2-tokens'],
    );
    taskDefinition.taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': WATCHER_METRICS.namespace } },
      }),
    );
    this.watcherService = new ecs.FargateService(this, 'Watcher', {
      cluster,
      taskDefinition,
      desiredCount: 1,
      // One task owns every mailbox (until leases shard them): never run two side by side during a deploy.
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      circuitBreaker: { rollback: true },
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    });

    // --- Alarms and dashboard ---
    this.alarmTopic = props.alarmTopic ?? new sns.Topic(this, 'Alarms', { enforceSSL: true });
    const alarm = (
      name: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      missing?: cloudwatch.TreatMissingData,
    ) => {
      const created = new cloudwatch.Alarm(this, name, {
        metric,
        threshold,
        evaluationPeriods: missing ? 3 : 1,
        comparisonOperator:
          missing === cloudwatch.TreatMissingData.BREACHING
            ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
            : cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: missing ?? cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      return created;
    };
    const period = Duration.minutes(1);
    alarm(
      'IngestDeadLettersAlarm',
      this.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period }),
      1,
      'Messages could not be parsed after 5 tries: inspect the ingest dead-letter queue.',
    );
    alarm(
      'DeliveryDeadLettersAlarm',
      this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period }),
      1,
      'Delivery records crashed the deliver function repeatedly.',
    );
    alarm(
      'IngestAgeAlarm',
      this.ingestQueue.metricApproximateAgeOfOldestMessage({ period }),
      300,
      'New mail has waited over 5 minutes to be parsed.',
    );
    alarm(
      'DeliveryAgeAlarm',
      this.deliveryQueue.metricApproximateAgeOfOldestMessage({ period }),
      // A record on its last retry has waited the whole schedule; half as long again means it is stuck.
      Math.ceil(retryScheduleSeconds.reduce((total, seconds) => total + seconds, 0) * 1.5),
      'A delivery has waited longer than the retry schedule allows.',
    );
    alarm('ParseErrorsAlarm', this.parseFunction.metricErrors({ period }), 1, 'The parse function failed.');
    alarm(
      'DeliverErrorsAlarm',
      this.deliverFunction.metricErrors({ period }),
      1,
      'The deliver function failed (not a failed webhook: a crash).',
    );
    const heartbeat = new cloudwatch.Metric({
      namespace: WATCHER_METRICS.namespace,
      metricName: WATCHER_METRICS.heartbeat,
      statistic: 'Sum',
      period,
    });
    alarm(
      'WatcherHeartbeatAlarm',
      heartbeat,
      1,
      'The watcher has not reported for 3 minutes: no mail is being watched.',
      cloudwatch.TreatMissingData.BREACHING,
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Watcher',
            left: [
              heartbeat,
              new cloudwatch.Metric({
                namespace: WATCHER_METRICS.namespace,
                metricName: WATCHER_METRICS.watchedMailboxes,
                statistic: 'Maximum',
                period,
              }),
            ],
          }),
          new cloudwatch.GraphWidget({
            title: 'Queues: waiting',
            left: [
              this.ingestQueue.metricApproximateNumberOfMessagesVisible(),
              this.deliveryQueue.metricApproximateNumberOfMessagesVisible(),
            ],
            right: [
              this.ingestDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
              this.deliveryDeadLetterQueue.metricApproximateNumberOfMessagesVisible(),
            ],
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Functions',
            left: [this.parseFunction.metricInvocations(), this.deliverFunction.metricInvocations()],
            right: [this.parseFunction.metricErrors(), this.deliverFunction.metricErrors()],
          }),
          new cloudwatch.GraphWidget({
            title: 'Function duration',
            left: [this.parseFunction.metricDuration(), this.deliverFunction.metricDuration()],
          }),
        ],
      ],
    });

    this.acknowledgeFindings(taskDefinition);
  }

  /** Secrets Manager name prefix of this deployment's secrets (the CLI creates secrets under it). */
  get secretPrefix(): string {
    return this.props.secretPrefix ?? `idlehook/${Stack.of(this).stackName}/`;
  }

  /** Reads (and writes) of the state table, limited to the given partitions (`dynamodb:LeadingKeys`). */
  private grantTable(
    grantee: iam.IGrantable,
    partitions: { readonly read: readonly string[]; readonly write: readonly string[] },
  ): void {
    const scoped = (actions: string[], keys: readonly string[]) =>
      new iam.PolicyStatement({
        actions,
        resources: [this.table.tableArn, `${this.table.tableArn}/index/*`],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...keys] } },
      });
    grantee.grantPrincipal.addToPrincipalPolicy(
      scoped(['dynamodb:GetItem', 'dynamodb:Query'], partitions.read),
    );
    if (partitions.write.length > 0)
      grantee.grantPrincipal.addToPrincipalPolicy(
        scoped(['dynamodb:PutItem', 'dynamodb:UpdateItem'], partitions.write),
      );
  }

  private grantLinkKey(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.blobLinkKey.secretArn],
      }),
    );
  }

  /** sqs:SendMessage alone (CDK's send group adds queue reads nobody makes); batches are authorized as it. */
  private grantSend(grantee: iam.IGrantable, queue: sqs.Queue): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
    );
  }

  /** Object access in the blob bucket, per key prefix (see src/domain/blob-keys.ts). */
  private grantBlobs(
    grantee: iam.IGrantable,
    prefixes: {
      readonly read: readonly string[];
      readonly write: readonly string[];
      readonly delete?: readonly string[];
    },
  ): void {
    const objects = (list: readonly string[]) =>
      list.map((prefix) => this.bucket.arnForObjects(`${prefix}*`));
    for (const [actions, list] of [
      [['s3:GetObject'], prefixes.read],
      [['s3:PutObject'], prefixes.write],
      [['s3:DeleteObject'], prefixes.delete ?? []],
    ] as const) {
      if (list.length > 0)
        grantee.grantPrincipal.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: [...actions], resources: objects(list) }),
        );
    }
  }

  /** Secrets Manager actions on this deployment's secrets of the given kinds only. */
  private grantSecrets(grantee: iam.IGrantable, actions: string[], kinds: readonly SecretKind[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: kinds.map((kind) =>
          Stack.of(this).formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: secretName(this.secretPrefix, kind, '*'),
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
      }),
    );
  }

  /** cdk-nag AwsSolutions findings that are deliberate, each with its reason. */
  private acknowledgeFindings(taskDefinition: ecs.FargateTaskDefinition): void {
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
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:${shown(stack.region, 'AWS::Region')}:${shown(stack.account, 'AWS::AccountId')}:secret:${secretName(prefix, kind, '*')}]`,
        `This deployment's ${kind} secrets only: the suffix is random per secret and they are added without a redeploy.`,
      );
    }
    acknowledge(
      'AwsSolutions-IAM5[Resource::*]',
      'cloudwatch:PutMetricData and ecr:GetAuthorizationToken support no resource; PutMetricData is limited to the idlehook namespace by condition.',
    );
    Validations.of(this.blobLinkKey).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The blob link key signs links that must stay valid for 7 days; rotating it would break every outstanding link.',
    });
    acknowledge(
      'AwsSolutions-L1',
      'Node.js 22 is the runtime the project targets and tests (the AWS SDK needs Node 22 from 2027).',
    );
    Validations.of(taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The environment holds resource names only (table, queues, bucket); secrets come from Secrets Manager at run time.',
    });
  }
}

function stringAttribute(name: string): dynamodb.Attribute {
  return { name, type: dynamodb.AttributeType.STRING };
}
