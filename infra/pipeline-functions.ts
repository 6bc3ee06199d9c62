import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PARTITIONS_BY_COMPONENT } from '../src/adapters/aws/state-table.js';
import type { AwsEnvironmentVariables } from '../src/config/aws-environment.js';
import { PIPELINE_METRICS } from '../src/config/deployment.js';
import { BLOB_PREFIXES } from '../src/domain/blob-keys.js';
import { notifyingAlarm } from './alarms.js';
import { bundledFunctionProps, type FunctionResources } from './function-props.js';
import { generatedKey } from './generated-secret.js';
import {
  grantBlobPrefixes,
  grantSecretKinds,
  grantSecretValue,
  grantSend,
  grantTablePartitions,
} from './grants.js';

export const PARSE_TIMEOUT = Duration.seconds(60);
export const DELIVER_TIMEOUT = Duration.seconds(30);

export interface PipelineFunctionsProps extends FunctionResources {
  readonly deliveryMaxConcurrency: number;
  /** The waits between delivery attempts: an event older than they allow at an attempt is late. */
  readonly retryScheduleSeconds: readonly number[];
}

/**
 * The three functions: parse (ingest queue -> delivery queue), deliver (delivery queue -> webhooks), and blobs
 * (answers the links in events), each with its own least-privilege role and an alarm on its errors.
 */
export class PipelineFunctions extends Construct {
  readonly parseFunction: NodejsFunction;
  readonly deliverFunction: NodejsFunction;
  /** Answers the links in events with fresh presigned URLs, behind `blobsUrl`. */
  readonly blobsFunction: NodejsFunction;
  readonly blobsUrl: lambda.FunctionUrl;
  readonly blobLinkKey: secretsmanager.Secret;
  /** The functions' own figures (Powertools Metrics, EMF), for the dashboard and the alarms. */
  readonly figures: {
    readonly eventsQueued: cloudwatch.Metric;
    readonly delivered: cloudwatch.Metric;
    readonly retried: cloudwatch.Metric;
    readonly deadLettered: cloudwatch.Metric;
    readonly deliveryLatency: cloudwatch.Metric;
    readonly endToEndLatency: cloudwatch.Metric;
    readonly eventAgeAtAttempt: cloudwatch.Metric;
  };

  constructor(scope: Construct, id: string, props: PipelineFunctionsProps) {
    super(scope, id);
    const functionProps = (name: string, timeout: Duration, extra: AwsEnvironmentVariables = {}) =>
      bundledFunctionProps(this, name, timeout, { ...props.environment, ...extra }, props.removalPolicy);

    // Links in events (raw mail, attachments) go to the blobs function, which checks their HMAC and redirects to
    // a URL it presigns then: a URL presigned by the parse function would die with its session, long before the
    // 7 days a link promises. Rotating the key invalidates every outstanding link, so it is not rotated.
    this.blobLinkKey = generatedKey(
      this,
      'BlobLinkKey',
      'HMAC key of the links to raw mail and attachments in idlehook events (base64)',
      props.removalPolicy,
    );
    const linkKey: AwsEnvironmentVariables = { IDLEHOOK_BLOB_LINK_KEY_ARN: this.blobLinkKey.secretArn };
    this.blobsFunction = new NodejsFunction(
      this,
      'BlobLinks',
      functionProps('blobs', Duration.seconds(10), linkKey),
    );
    this.blobsUrl = this.blobsFunction.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    grantBlobPrefixes(this.blobsFunction, props.bucket, {
      read: [BLOB_PREFIXES.raw, BLOB_PREFIXES.attachments],
      write: [],
    });
    grantSecretValue(this.blobsFunction, this.blobLinkKey);

    this.parseFunction = new NodejsFunction(
      this,
      'Parse',
      functionProps('parse', PARSE_TIMEOUT, { ...linkKey, IDLEHOOK_BLOB_LINK_URL: this.blobsUrl.url }),
    );
    // Parse reads raw mail and large ingest records, writes attachments and large delivery records, and signs the
    // links in events with the link key.
    grantTablePartitions(this.parseFunction, props.table, PARTITIONS_BY_COMPONENT.parse);
    grantBlobPrefixes(this.parseFunction, props.bucket, {
      read: [BLOB_PREFIXES.raw, BLOB_PREFIXES.queueOverflow],
      write: [BLOB_PREFIXES.attachments, BLOB_PREFIXES.queueOverflow],
    });
    grantSecretValue(this.parseFunction, this.blobLinkKey);
    props.ingestQueue.grantConsumeMessages(this.parseFunction);
    grantSend(this.parseFunction, props.deliveryQueue);
    this.parseFunction.addEventSource(
      new SqsEventSource(props.ingestQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    this.deliverFunction = new NodejsFunction(this, 'Deliver', {
      ...functionProps('deliver', DELIVER_TIMEOUT),
      // A record held back by a rate limit is sent again to this function's own queue, with a delay. Lambda's
      // recursive-loop detection would stop such a chain after about 16 hops and drop the record into the SQS
      // dead-letter queue, out of reach of idlehook's dead-letter store and replay. Each hop waits its deferral
      // (up to a minute) and every hold-back is followed by an admitted delivery, so the chain always ends.
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
    });
    // Deliver faces the internet: webhook signing secrets only, never IMAP passwords or refresh tokens, and only
    // its own table partitions. It keeps large dead-letter bodies (a replay, which runs with the operator's
    // credentials, deletes them) and re-queues held-back records, which may overflow to S3.
    grantTablePartitions(this.deliverFunction, props.table, PARTITIONS_BY_COMPONENT.deliver);
    grantBlobPrefixes(this.deliverFunction, props.bucket, {
      read: [BLOB_PREFIXES.queueOverflow],
      write: [BLOB_PREFIXES.queueOverflow, BLOB_PREFIXES.deadLetters],
    });
    props.deliveryQueue.grantConsumeMessages(this.deliverFunction);
    grantSend(this.deliverFunction, props.deliveryQueue);
    grantSecretKinds(this, this.deliverFunction, ['secretsmanager:GetSecretValue'], props.secretPrefix, [
      'subscriptions',
    ]);
    this.deliverFunction.addEventSource(
      new SqsEventSource(props.deliveryQueue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        maxConcurrency: props.deliveryMaxConcurrency,
      }),
    );

    const figure = (service: string, metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: PIPELINE_METRICS.namespace,
        metricName,
        dimensionsMap: { service },
        statistic,
        period: Duration.minutes(1),
      });
    const { parseService, deliverService } = PIPELINE_METRICS;
    this.figures = {
      eventsQueued: figure(parseService, PIPELINE_METRICS.eventsQueued, 'Sum'),
      delivered: figure(deliverService, PIPELINE_METRICS.delivered, 'Sum'),
      retried: figure(deliverService, PIPELINE_METRICS.retried, 'Sum'),
      deadLettered: figure(deliverService, PIPELINE_METRICS.deadLettered, 'Sum'),
      deliveryLatency: figure(deliverService, PIPELINE_METRICS.deliveryLatency, 'p99'),
      endToEndLatency: figure(deliverService, PIPELINE_METRICS.endToEndLatency, 'p99'),
      eventAgeAtAttempt: figure(deliverService, PIPELINE_METRICS.eventAgeAtAttempt, 'Maximum'),
    };
    // SQS leaves records received three or more times out of its age metric, and every retry is a receive: the
    // age of each event at each attempt, which the deliver function reports itself, sees the late ones.
    const scheduleSeconds = props.retryScheduleSeconds.reduce((total, seconds) => total + seconds, 0);
    notifyingAlarm(this, 'DeliveryAgeAlarm', {
      metric: this.figures.eventAgeAtAttempt.with({ period: Duration.minutes(5) }),
      threshold: Math.ceil(scheduleSeconds * 1.5) * 1000,
      description:
        'A delivery attempt was made for an event older than the retry schedule allows (by half again): deliveries are late.',
      topic: props.alarmTopic,
    });
    notifyingAlarm(this, 'DeadLetteredAlarm', {
      metric: this.figures.deadLettered.with({ period: Duration.minutes(5) }),
      threshold: 1,
      description:
        'A webhook was dead-lettered: its endpoint failed every retry. See `idlehook deliveries`, then `idlehook replay`.',
      topic: props.alarmTopic,
    });
    notifyingAlarm(this, 'EndToEndLatencyAlarm', {
      metric: this.figures.endToEndLatency.with({ period: Duration.minutes(5) }),
      threshold: 60_000,
      description: 'Mail takes more than a minute (p99 over 5 minutes) from arrival to a delivered webhook.',
      topic: props.alarmTopic,
    });

    const period = Duration.minutes(1);
    notifyingAlarm(this, 'ParseErrorsAlarm', {
      metric: this.parseFunction.metricErrors({ period }),
      threshold: 1,
      description: 'The parse function failed.',
      topic: props.alarmTopic,
    });
    notifyingAlarm(this, 'DeliverErrorsAlarm', {
      metric: this.deliverFunction.metricErrors({ period }),
      threshold: 1,
      description: 'The deliver function failed (not a failed webhook: a crash).',
      topic: props.alarmTopic,
    });
  }
}
