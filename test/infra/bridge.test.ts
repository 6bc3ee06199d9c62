import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IdlehookStack } from '../../infra/idlehook-stack.js';
import { defaultMailboxesPerTask, maxMailboxesPerTask } from '../../infra/watcher-service.js';
import { STATE_TABLE_DEFINITION } from '../../src/adapters/aws/state-table.js';
import { PIPELINE_METRICS, STACK_OUTPUTS, WATCHER_METRICS } from '../../src/config/deployment.js';
import { projectApp, projectContext } from '../support/cdk-app.js';

const root = resolve(import.meta.dirname, '../..');

function synthesize(): Template {
  const app = projectApp();
  return Template.fromStack(new IdlehookStack(app, 'Test'));
}

describe('IdlehookBridge infrastructure', () => {
  const template = synthesize();

  it('is built with every feature flag this CDK version recommends, as cdk.json sets them', () => {
    const context = projectContext();
    for (const [flag, recommended] of Object.entries(CURRENTLY_RECOMMENDED_FLAGS))
      assert.deepEqual(context[flag], recommended, flag);
    // Two of their effects: the access-log bucket takes S3's log delivery by bucket policy, not by ACL, and
    // the VPC's default security group allows nothing.
    const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
    assert.ok(buckets.length > 0);
    for (const bucket of buckets) assert.equal(bucket.Properties.AccessControl, undefined);
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Principal: { Service: 'logging.s3.amazonaws.com' }, Action: 's3:PutObject' }),
        ]),
      },
    });
    template.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  it('lets the deliver function re-queue held-back records to itself: recursive-loop detection off there only', () => {
    // A long rate-limited backlog chains re-sends; after ~16 hops Lambda would drop the record into the SQS
    // dead-letter queue instead of idlehook's dead-letter store.
    const loops = Object.entries(template.findResources('AWS::Lambda::Function'))
      .filter(([, fn]) => fn.Properties.RecursiveLoop === 'Allow')
      .map(([id]) => id);
    assert.equal(loops.length, 1, loops.join());
    assert.match(loops[0] ?? '', /Deliver/);
  });

  it('runs the four functions on ARM64 Node.js 22, two fed by SQS with per-record failure reporting', () => {
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Function',
      { Runtime: 'nodejs22.x', Architectures: ['arm64'] },
      4,
    );
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.allResourcesProperties('AWS::Lambda::EventSourceMapping', {
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 20 },
    });
  });

  it('gives every queue a dead-letter queue, encryption, TLS-only access and the 1 MiB limit', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    assert.equal(Object.keys(queues).length, 4);
    for (const [id, queue] of Object.entries(queues)) {
      assert.equal(queue.Properties.SqsManagedSseEnabled, true, `${id} encrypted`);
      assert.equal(queue.Properties.MaximumMessageSize, 1048576, `${id} 1 MiB`);
    }
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      // High-throughput FIFO: a limit per mailbox (message group), not 300 sends a second for the whole stack.
      FifoThroughputLimit: 'perMessageGroupId',
      DeduplicationScope: 'messageGroup',
      VisibilityTimeout: 360,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 180,
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 17 },
    });
    template.resourceCountIs('AWS::SQS::QueuePolicy', 4);
    template.allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('keeps state in an on-demand table with point-in-time recovery, TTL and the dead-letter index', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'gsi1' }),
        Match.objectLike({ IndexName: 'gsi2' }),
      ],
    });
  });

  it('outputs every name the CLI reads with --stack, the alarm topic, the API URL and the dashboard', () => {
    const outputs = Object.keys(template.findOutputs('*')).sort();
    assert.deepEqual(
      outputs,
      [...Object.keys(STACK_OUTPUTS), 'AlarmTopicArn', 'ApiUrl', 'DashboardUrl'].sort(),
    );
  });

  it('serves the management API through an HTTP API with throttling and access logs, tokens checked inside', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: '$default',
      AuthorizationType: 'NONE',
    });
    // Without iamAccess there is no IAM entry: the only function URL is the blob links' (public, HMAC-checked).
    template.resourceCountIs('AWS::Lambda::Url', 1);
  });

  it('graphs and alarms on the metrics the watcher and the functions send', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) => alarm.Properties.Namespace === WATCHER_METRICS.namespace,
    );
    assert.deepEqual(alarms.map((alarm) => alarm.Properties.MetricName).sort(), [
      PIPELINE_METRICS.endToEndLatency,
      PIPELINE_METRICS.eventAgeAtAttempt,
      WATCHER_METRICS.heartbeat, // every task silent
      WATCHER_METRICS.heartbeat, // fewer tasks than the minimum
      PIPELINE_METRICS.deadLettered,
    ]);
    // The functions' figures carry Powertools' service dimension: an alarm without it would watch nothing.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: PIPELINE_METRICS.deadLettered,
      Dimensions: [{ Name: 'service', Value: PIPELINE_METRICS.deliverService }],
      Statistic: 'Sum',
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: PIPELINE_METRICS.endToEndLatency,
      Dimensions: [{ Name: 'service', Value: PIPELINE_METRICS.deliverService }],
      ExtendedStatistic: 'p99',
      Threshold: 60_000,
    });
    // Retried deliveries are out of SQS's age metric: the event's age at each attempt catches the late ones,
    // past the default schedule (5 + 300 + 1800 + 7200 + 18000 + 36000 + 36000 s) by half again.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: PIPELINE_METRICS.eventAgeAtAttempt,
      Dimensions: [{ Name: 'service', Value: PIPELINE_METRICS.deliverService }],
      Statistic: 'Maximum',
      Threshold: 148_958_000,
    });
    const dashboard = JSON.stringify(Object.values(template.findResources('AWS::CloudWatch::Dashboard')));
    for (const name of [
      PIPELINE_METRICS.delivered,
      PIPELINE_METRICS.retried,
      PIPELINE_METRICS.deadLettered,
      PIPELINE_METRICS.eventsQueued,
      PIPELINE_METRICS.deliveryLatency,
      PIPELINE_METRICS.endToEndLatency,
    ])
      assert.ok(dashboard.includes(name), `the dashboard graphs ${name}`);
  });

  it('creates the same table the emulator tests create from STATE_TABLE_DEFINITION', () => {
    const [table] = Object.values(template.findResources('AWS::DynamoDB::Table'));
    const sortedByName = (attributes: readonly { AttributeName?: string }[] = []) =>
      [...attributes].sort((a, b) => String(a.AttributeName).localeCompare(String(b.AttributeName)));
    const expected = STATE_TABLE_DEFINITION;
    assert.deepEqual(table?.Properties.KeySchema, expected.KeySchema);
    assert.deepEqual(
      sortedByName(table?.Properties.AttributeDefinitions),
      sortedByName(expected.AttributeDefinitions),
    );
    assert.deepEqual(
      table?.Properties.GlobalSecondaryIndexes.map(
        ({ IndexName, KeySchema, Projection }: Record<string, unknown>) => ({
          IndexName,
          KeySchema,
          Projection,
        }),
      ),
      expected.GlobalSecondaryIndexes,
    );
    assert.equal(table?.Properties.BillingMode, expected.BillingMode);
  });

  it('lets CloudFormation name the keys it generates, kept on update and delete but not after a failed create', () => {
    // A fixed name kept after a rolled-back first deploy (or cdk destroy) fails the next deploy: "already exists".
    const keys = Object.values(
      template.findResources('AWS::SecretsManager::Secret', {
        Properties: { GenerateSecretString: Match.anyValue() },
      }),
    );
    assert.ok(keys.length >= 1);
    for (const key of keys) {
      assert.equal(key.Properties.Name, undefined, 'no fixed name');
      assert.equal(key.DeletionPolicy, 'RetainExceptOnCreate');
      assert.equal(key.UpdateReplacePolicy, 'Retain');
    }
  });

  it('stores blobs encrypted, private, TLS-only and expiring', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: ['raw/', 'attachments/', 'queue-overflow/'].map((Prefix) =>
          Match.objectLike({ Prefix, ExpirationInDays: 30, Status: 'Enabled' }),
        ),
      },
      LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'blobs/' }),
    });
    template.allResourcesProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it("scopes each role's secrets, table partitions and object prefixes to what it needs", () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
    /** The statements of the role whose logical id contains `role`. */
    const of = (role: string) =>
      Object.values(policies)
        .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as any[]);
    const granting = (list: any[], action: string) => list.filter((s) => [s.Action].flat().includes(action));
    const leadingKeysOf = (list: any[], action: string) =>
      granting(list, action).flatMap(
        (s) => s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? ['UNCONDITIONED'],
      );
    const resources = (list: any[]) => JSON.stringify(list.map((s) => s.Resource));
    const parse = of('ParseServiceRole');
    const deliver = of('DeliverServiceRole');
    const watcher = of('WatcherTaskTaskRole');

    // The API updates a token's lastUsedAt; with PutItem there a compromised API function could mint tokens.
    const api = of('ApiHandlerServiceRole');
    assert.ok(!leadingKeysOf(api, 'dynamodb:PutItem').includes('API_TOKENS'), 'no PutItem on API_TOKENS');
    assert.ok(leadingKeysOf(api, 'dynamodb:UpdateItem').includes('API_TOKENS'));
    assert.ok(
      !granting(api, 'secretsmanager:RestoreSecret').length,
      'nothing the API runs restores a secret',
    );

    const parseReads = resources(granting(parse, 'secretsmanager:GetSecretValue'));
    assert.match(parseReads, /^\[\{"Ref":"Bridge\w*BlobLinkKey\w+"\}\]$/, 'parse reads the link key only');
    assert.equal(
      resources(granting(deliver, 'secretsmanager:GetSecretValue')),
      JSON.stringify([
        {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':secretsmanager:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':secret:idlehook/Test/subscriptions/*',
            ],
          ],
        },
      ]),
      'deliver reads webhook secrets of this stack only',
    );
    const watcherReads = resources(granting(watcher, 'secretsmanager:GetSecretValue'));
    assert.match(watcherReads, /secret:idlehook\/Test\/accounts\/\*/);
    assert.match(watcherReads, /secret:idlehook\/Test\/oauth2-tokens\/\*/);
    assert.doesNotMatch(watcherReads, /subscriptions/);
    template.hasOutput('SecretPrefix', { Value: 'idlehook/Test/' });
    for (const role of [parse, deliver, of('BlobLinksServiceRole')])
      assert.equal(
        granting(role, 'secretsmanager:PutSecretValue').length,
        0,
        "only the API writes (subscriptions' signing secrets)",
      );
    assert.doesNotMatch(
      resources(granting(api, 'secretsmanager:DeleteSecret')),
      /oauth2-tokens/,
      'nothing the API runs deletes a rotated OAuth2 token',
    );
    // Rotated OAuth2 tokens and account credentials are sealed in the table: the watcher writes no secret.
    assert.equal(granting(watcher, 'secretsmanager:PutSecretValue').length, 0);
    assert.equal(granting(watcher, 'secretsmanager:CreateSecret').length, 0);
    assert.deepEqual(leadingKeysOf(api, 'dynamodb:DeleteItem'), [
      'ACCOUNTS',
      'SUBSCRIPTIONS',
      'SUBSCRIPTION#*',
    ]);
    assert.deepEqual(
      leadingKeysOf(deliver, 'dynamodb:DeleteItem'),
      ['RETRYING#*'],
      'deliver deletes nothing but its notes of deliveries being retried',
    );
    // A message read again (GET /v1/accounts/{id}/messages/{ref}, full tokens only) is built from its source;
    // attachments are reached through links, never by the API itself.
    assert.match(resources(granting(api, 's3:GetObject')), /\/raw\/\*/);
    assert.doesNotMatch(
      resources(granting(api, 's3:GetObject')),
      /attachments/,
      'the API reads no attachment',
    );

    const leadingKeys = leadingKeysOf;
    // A subscription's afterDelivery actions are filed as a command for the watcher task holding the account.
    assert.deepEqual(leadingKeys(deliver, 'dynamodb:PutItem'), ['ATTEMPTS#*', 'RETRYING#*', 'COMMANDS#*']);
    assert.deepEqual(leadingKeys(parse, 'dynamodb:PutItem'), []);
    assert.deepEqual(leadingKeys(parse, 'dynamodb:GetItem'), []);
    assert.deepEqual(leadingKeys(parse, 'dynamodb:Query'), ['SUBSCRIPTIONS']);
    // The watcher claims action commands and stores their results.
    assert.deepEqual(leadingKeys(watcher, 'dynamodb:UpdateItem'), ['MAILBOX#*', 'LEASES', 'COMMANDS#*']);
    // Indexes are queried only in their own partitions: the watcher its shards of accounts, the API dead letters.
    const indexQueries = statements.filter((s) => JSON.stringify(s.Resource).includes('/index/'));
    assert.deepEqual(
      indexQueries
        .map((s) => [s.Action, s.Condition['ForAllValues:StringLike']['dynamodb:LeadingKeys']])
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      [
        ['dynamodb:Query', ['ACCOUNTS#*']],
        ['dynamodb:Query', ['DEADLETTER*']],
      ],
    );

    assert.match(resources(granting(deliver, 's3:PutObject')), /dead-letters\/\*/);
    assert.equal(granting(deliver, 's3:DeleteObject').length, 0, 'deliver deletes nothing');
    assert.equal(granting(parse, 's3:DeleteObject').length, 0, 'parse deletes nothing');
    assert.doesNotMatch(resources(granting(watcher, 's3:DeleteObject')), /raw|attachments/);
    assert.equal(granting(deliver, 'sqs:SendMessage').length, 1, 'deliver re-queues held-back records');
    for (const statement of statements) {
      const actions = [statement.Action].flat();
      assert.ok(!actions.includes('*'), `no Action "*": ${JSON.stringify(statement)}`);
      if (statement.Resource === '*') {
        const allowed = ['cloudwatch:PutMetricData', 'ecr:GetAuthorizationToken'];
        assert.ok(
          actions.every((a: string) => allowed.includes(a)),
          `Resource "*" only where no resource exists: ${actions}`,
        );
        if (actions.includes('cloudwatch:PutMetricData')) {
          assert.deepEqual(statement.Condition, { StringEquals: { 'cloudwatch:namespace': 'idlehook' } });
        }
      }
    }
  });

  it('runs two watcher tasks on Fargate ARM64, rolls deploys without a gap, and scales on mailboxes per task', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [
        Match.objectLike({
          HealthCheck: Match.objectLike({ Command: Match.arrayWith(['CMD']) }),
          StopTimeout: 120,
        }),
      ],
    });
    // Two tasks share the mailboxes by leases; deploys start new tasks before stopping old ones. The scaling
    // target owns the count: a DesiredCount in the template would shrink a scaled-out fleet at every deploy.
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: Match.absent(),
      LaunchType: 'FARGATE',
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, MaximumPercent: 200 }),
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 2,
      MaxCapacity: 10,
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        // Half of what a 512 MiB task holds at the measured memory per mailbox.
        TargetValue: defaultMailboxesPerTask(512),
        CustomizedMetricSpecification: Match.objectLike({
          MetricName: 'WatchedMailboxes',
          Statistic: 'Average',
        }),
      }),
    });
    // A task takes no more mailboxes than its memory holds: losing one of two at the scaling target leaves the
    // survivor under its memory, and scaling adds a task for what it could not take.
    const cap = maxMailboxesPerTask(512);
    assert.ok(cap >= 1.5 * defaultMailboxesPerTask(512) && cap < 2 * defaultMailboxesPerTask(512) * 1.2);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([{ Name: 'IDLEHOOK_MAX_MAILBOXES_PER_TASK', Value: String(cap) }]),
        }),
      ],
    });
  });

  it('alarms on dead letters, queue age, function errors, slow mail, a silent watcher and a missing task', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 15);
    // The delivery queue's age (records received fewer than three times) passes the first two waits by 5 minutes.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 5 + 300 + 300,
      AlarmDescription: Match.stringLikeRegexp('not being picked up'),
    });
    // Partial outages: a task near its memory limit, a throttled table, a NAT gateway out of ports.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ECS',
      MetricName: 'MemoryUtilization',
      Statistic: 'Maximum',
      Threshold: 90,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'ReadThrottleEvents' }) }),
        }),
        Match.objectLike({
          MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'WriteThrottleEvents' }) }),
        }),
      ]),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/NATGateway',
      MetricName: 'ErrorPortAllocation',
      Dimensions: [{ Name: 'NatGatewayId', Value: { Ref: Match.stringLikeRegexp('NATGateway') } }],
    });
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'WatcherHeartbeat' }, 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'idlehook',
      MetricName: 'WatcherHeartbeat',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateNumberOfMessagesVisible' },
      2,
    );
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'ApproximateAgeOfOldestMessage' },
      2,
    );
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'Errors' }, 3);
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [Match.anyValue()] });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('cdk-nag AwsSolutions checks', () => {
  it('pass with every finding acknowledged with a reason', () => {
    const app = projectApp();
    new IdlehookStack(app, 'Nag');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    assert.doesNotThrow(() => app.synth());
  });

  it('fail synth on an unacknowledged finding (the check is live)', () => {
    const app = projectApp();
    const stack = new Stack(app, 'Bad');
    new sqs.Queue(stack, 'NoDeadLetterQueue');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    // The deliberately bad queue's findings are this test's expected output, not CI noise: kept, then checked.
    const printed: string[] = [];
    const { write } = process.stderr;
    const { log, error } = console;
    process.stderr.write = ((chunk: string | Uint8Array) => printed.push(String(chunk)) > 0) as typeof write;
    console.log = console.error = (...parts: unknown[]) => void printed.push(parts.map(String).join(' '));
    try {
      assert.throws(() => app.synth());
    } finally {
      process.stderr.write = write;
      Object.assign(console, { log, error });
    }
    assert.match(printed.join('\n'), /AwsSolutions-SQS3/, 'the finding that failed it');
  });
});

describe('bundling and the cdk CLI, offline', () => {
  it('bundles the four functions with local esbuild (no Docker)', () => {
    const app = projectApp({ bundle: true, outdir: mkdtempSync(join(tmpdir(), 'idlehook-bundling-')) });
    new IdlehookStack(app, 'Bundled');
    const assembly = app.synth();
    const handlers = readdirSync(assembly.directory).filter((d) =>
      existsSync(join(assembly.directory, d, 'index.mjs')),
    );
    assert.equal(handlers.length, 4, 'four function bundles with index.mjs');
    for (const handler of handlers) {
      const code = readFileSync(join(assembly.directory, handler, 'index.mjs'), 'utf8');
      assert.doesNotMatch(
        code,
        /from\s*["']@aws-sdk\//,
        'the SDK is bundled, not imported from the runtime’s',
      );
    }
  });

  it('`npx cdk synth` works without credentials', () => {
    const result = spawnSync(
      'npx',
      ['cdk', 'synth', '--quiet', '--output', join(root, 'cdk.out', 'test-cli')],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_PROFILE: '' },
      },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /feature flags? (is|are) not configured/, 'cdk.json sets them');
    assert.doesNotMatch(result.stderr, /⚠️|\[WARNING\]/, "esbuild's size summary and other warnings: none");
  });
});
