import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { PARTITIONS_BY_COMPONENT } from '../src/adapters/aws/state-table.js';
import type { AwsEnvironmentVariables } from '../src/config/aws-environment.js';
import { WATCHER_HEALTH_CHECK_COMMAND, WATCHER_METRICS } from '../src/config/deployment.js';
import { BLOB_PREFIXES } from '../src/domain/blob-keys.js';
import { notifyingAlarm } from './alarms.js';
import { grantBlobPrefixes, grantSecretKinds, grantSend, grantTablePartitions } from './grants.js';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface WatcherServiceProps {
  /** Where the task runs. Created (2 AZs, one NAT gateway) when not given; never looked up. */
  readonly vpc?: ec2.IVpc;
  /**
   * `private` (default): tasks in private subnets behind a NAT gateway. `public`: tasks in public subnets with a
   * public IP each and no NAT gateway (about $33 a month less; nothing can connect in: the security group allows
   * no inbound traffic). Only where the construct makes the VPC.
   */
  readonly network?: 'private' | 'public';
  /** Run the tasks on Fargate Spot (about 70% cheaper; a task may be stopped with 2 minutes' notice). */
  readonly spot?: boolean;
  readonly table: dynamodb.ITable;
  readonly bucket: s3.IBucket;
  readonly ingestQueue: sqs.IQueue;
  readonly environment: AwsEnvironmentVariables;
  readonly secretPrefix: string;
  readonly alarmTopic: sns.ITopic;
  readonly removalPolicy: RemovalPolicy;
  /** Tasks always running (default 2: one can fail or be replaced while the other watches). */
  readonly minTasks?: number;
  /** The most tasks scaling may add (default 10). */
  readonly maxTasks?: number;
  /** Scaling adds tasks to keep each near this many watched mailboxes (default: what half the memory holds). */
  readonly mailboxesPerTask?: number;
  /** Fargate CPU units of a task (default 256) and its memory (default 512 MiB); a valid Fargate pair. */
  readonly cpu?: number;
  readonly memoryMiB?: number;
}

/**
 * The watcher's memory as bench:density measured it (docs/benchmarks.md, "Density"): a base (the process with one mailbox,
 * plus the 32 MiB of message sources a task may hold in flight) and the resident memory per idle mailbox.
 */
const WATCHER_BASE_MIB = 128;
const WATCHER_KIB_PER_MAILBOX = 140;

/**
 * Mailboxes per task that scaling aims at: what half the task's memory beyond the base holds, so that a task can
 * take over a failed neighbour's mailboxes (with two tasks, all of them) without running out.
 */
export function defaultMailboxesPerTask(memoryMiB: number): number {
  const holds = ((memoryMiB - WATCHER_BASE_MIB) * 1024) / WATCHER_KIB_PER_MAILBOX;
  return Math.max(100, Math.floor(holds / 2 / 100) * 100);
}

/**
 * The most mailboxes a task takes shards for: what 90% of its memory beyond the base holds (the rest is headroom
 * for bursts). The scaling target is half of what the memory holds, so a survivor of a lost neighbour takes
 * nearly all of its mailboxes at once, and never so many that it runs out of memory; scaling adds a task for the
 * rest.
 */
export function maxMailboxesPerTask(memoryMiB: number): number {
  return Math.floor(((memoryMiB * 0.9 - WATCHER_BASE_MIB) * 1024) / WATCHER_KIB_PER_MAILBOX);
}

/** Fargate's CPU units and the memory (MiB) each allows. */
const FARGATE_MEMORY_BY_CPU = new Map<number, { min: number; max: number; step: number }>([
  [256, { min: 512, max: 2048, step: 512 }],
  [512, { min: 1024, max: 4096, step: 1024 }],
  [1024, { min: 2048, max: 8192, step: 1024 }],
  [2048, { min: 4096, max: 16384, step: 1024 }],
  [4096, { min: 8192, max: 30720, step: 1024 }],
]);

function checkFargateSize(cpu: number, memoryMiB: number): void {
  const allowed = FARGATE_MEMORY_BY_CPU.get(cpu);
  if (!allowed)
    throw new Error(
      `watcherCpu: ${cpu} is not a Fargate size; use one of ${[...FARGATE_MEMORY_BY_CPU.keys()].join(', ')}`,
    );
  const fits =
    memoryMiB >= allowed.min &&
    memoryMiB <= allowed.max &&
    (memoryMiB === 512 || memoryMiB % allowed.step === 0);
  if (!fits)
    throw new Error(
      `watcherMemoryMiB: ${memoryMiB} does not go with watcherCpu ${cpu}; Fargate allows ${allowed.min} to ${allowed.max} MiB in steps of ${allowed.step}`,
    );
}

/** The watcher: one Fargate task on ARM64 holding the IMAP connections, its role, and its heartbeat alarm. */
export class WatcherService extends Construct {
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  /** 1 a minute while the watcher loop runs. */
  readonly heartbeat: cloudwatch.Metric;
  readonly watchedMailboxes: cloudwatch.Metric;

  constructor(scope: Construct, id: string, props: WatcherServiceProps) {
    super(scope, id);
    const cpu = props.cpu ?? 256;
    const memoryMiB = props.memoryMiB ?? 512;
    checkFargateSize(cpu, memoryMiB);
    const publicTasks = !props.vpc && props.network === 'public';
    const vpc =
      props.vpc ??
      new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: publicTasks ? 0 : 1,
        ...(publicTasks
          ? { subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 }] }
          : {}),
        flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
        // Raw mail to S3 and state to DynamoDB then bypass the NAT gateway and its per-GB charge (the endpoints
        // themselves are free).
        gatewayEndpoints: {
          S3: { service: ec2.GatewayVpcEndpointAwsService.S3 },
          DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB },
        },
      });
    const cluster = new ecs.Cluster(this, 'Cluster', {
      vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: props.spot === true,
    });
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu,
      memoryLimitMiB: memoryMiB,
      runtimePlatform: {
        cpuArchitecture: ecs.CpuArchitecture.ARM64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    this.taskDefinition.addContainer('watcher', {
      image: ecs.ContainerImage.fromAsset(repositoryRoot, {
        file: 'containers/watcher/Dockerfile',
        platform: Platform.LINUX_ARM64,
        exclude: ['node_modules', 'cdk.out', 'dist', 'dist-watcher', '.idlehook', '.git', 'test', 'bench'],
      }),
      environment: {
        ...props.environment,
        IDLEHOOK_MAX_MAILBOXES_PER_TASK: String(maxMailboxesPerTask(memoryMiB)),
        NODE_OPTIONS: '--enable-source-maps',
      },
      logging: ecs.LogDrivers.awsLogs({
        streamPrefix: 'watcher',
        logGroup: new logs.LogGroup(this, 'logs', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: props.removalPolicy,
        }),
      }),
      healthCheck: {
        command: ['CMD', ...WATCHER_HEALTH_CHECK_COMMAND],
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        startPeriod: Duration.seconds(30),
      },
      // Fargate's maximum: a stop ends IDLE, finishes syncs under way and releases the shard leases; the default
      // 30 s could SIGKILL a task mid-way with many mailboxes.
      stopTimeout: Duration.seconds(120),
    });
    const role = this.taskDefinition.taskRole;
    // The watcher stores raw mail and large ingest records; its only S3 reads are its own large state.
    grantTablePartitions(role, props.table, PARTITIONS_BY_COMPONENT.watcher);
    grantBlobPrefixes(role, props.bucket, {
      read: [BLOB_PREFIXES.state],
      write: [BLOB_PREFIXES.raw, BLOB_PREFIXES.queueOverflow, BLOB_PREFIXES.state],
      delete: [BLOB_PREFIXES.state],
    });
    grantSend(role, props.ingestQueue);
    // Credentials are sealed in the table; these are the secrets of accounts stored before sealing (and operators'
    // given by ARN under the prefix), and OAuth2 tokens saved before: read until the next change seals them.
    grantSecretKinds(this, role, ['secretsmanager:GetSecretValue'], props.secretPrefix, [
      'accounts',
      'oauth2-tokens',
    ]);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': WATCHER_METRICS.namespace } },
      }),
    );
    const minTasks = props.minTasks ?? 2;
    // Tasks share the mailboxes by shard leases: a deploy starts new tasks before it stops old ones, which hand
    // their shards over on SIGTERM, so mail is watched throughout.
    // No desiredCount: in the template it would be re-applied at every deploy, dropping a fleet that scaled out
    // back to the minimum. The scaling target below owns the count (it raises a new service to minTasks).
    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition: this.taskDefinition,
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      circuitBreaker: { rollback: true },
      vpcSubnets: { subnetType: publicTasks ? ec2.SubnetType.PUBLIC : ec2.SubnetType.PRIVATE_WITH_EGRESS },
      // Without a NAT gateway a task reaches IMAP servers, AWS and the image registry through its own public IP.
      assignPublicIp: publicTasks,
      ...(props.spot
        ? { capacityProviderStrategies: [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }] }
        : {}),
    });

    const period = Duration.minutes(1);
    this.heartbeat = new cloudwatch.Metric({
      namespace: WATCHER_METRICS.namespace,
      metricName: WATCHER_METRICS.heartbeat,
      statistic: 'Sum',
      period,
    });
    this.watchedMailboxes = new cloudwatch.Metric({
      namespace: WATCHER_METRICS.namespace,
      metricName: WATCHER_METRICS.watchedMailboxes,
      statistic: 'Maximum',
      period,
    });
    // Each task reports how many mailboxes it watches; the average over tasks is the load per task.
    this.service
      .autoScaleTaskCount({ minCapacity: minTasks, maxCapacity: Math.max(minTasks, props.maxTasks ?? 10) })
      .scaleToTrackCustomMetric('MailboxesPerTask', {
        metric: new cloudwatch.Metric({
          namespace: WATCHER_METRICS.namespace,
          metricName: WATCHER_METRICS.watchedMailboxes,
          statistic: 'Average',
          period: Duration.minutes(5),
        }),
        targetValue: props.mailboxesPerTask ?? defaultMailboxesPerTask(memoryMiB),
      });
    notifyingAlarm(this, 'HeartbeatAlarm', {
      metric: this.heartbeat,
      threshold: 1,
      description: 'The watcher has not reported for 3 minutes: no mail is being watched.',
      topic: props.alarmTopic,
      missingBreaches: true,
    });
    // Each task reports once a minute: over 5 minutes, fewer reports than the minimum of tasks would send (one
    // of its heartbeats may fall into the next period) means a task is missing while others still report, so
    // its shards wait for a lease to lapse or a task to be replaced. The alarm above only sees every task gone.
    notifyingAlarm(this, 'FewerTasksAlarm', {
      metric: this.heartbeat.with({ period: Duration.minutes(5) }),
      threshold: minTasks * 5 - 1,
      description: `Fewer than ${minTasks} watcher tasks have reported over 5 minutes: some mailboxes may be unwatched.`,
      topic: props.alarmTopic,
      missingBreaches: true,
    });
    // ECS reports the service's Maximum as its fullest task's: one task near its limit is about to be killed and
    // take its mailboxes with it.
    notifyingAlarm(this, 'MemoryAlarm', {
      metric: this.service.metricMemoryUtilization({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: 90,
      description:
        'A watcher task uses over 90% of its memory: raise watcherMemoryMiB or lower mailboxesPerWatcherTask.',
      topic: props.alarmTopic,
    });
    // The VPC made here has one NAT gateway for every IMAP connection: when it runs out of source ports toward
    // one server, new connections to that server fail.
    if (!props.vpc)
      for (const subnet of vpc.publicSubnets) {
        const nat = subnet.node.tryFindChild('NATGateway') as ec2.CfnNatGateway | undefined;
        if (!nat) continue;
        notifyingAlarm(this, `NatPortAllocationAlarm${vpc.publicSubnets.indexOf(subnet)}`, {
          metric: new cloudwatch.Metric({
            namespace: 'AWS/NATGateway',
            metricName: 'ErrorPortAllocation',
            dimensionsMap: { NatGatewayId: nat.ref },
            statistic: 'Sum',
            period: Duration.minutes(5),
          }),
          threshold: 1,
          description:
            'The NAT gateway could not allocate a source port: new IMAP connections fail. Spread mailboxes over more servers or add NAT gateways.',
          topic: props.alarmTopic,
        });
      }
  }
}
