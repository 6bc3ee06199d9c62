import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { Capture, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DeadLetteredQueue } from '../../infra/dead-lettered-queue.js';
import { IdlehookBridge } from '../../infra/idlehook-bridge.js';
import { defaultMailboxesPerTask } from '../../infra/watcher-service.js';
import { projectApp } from '../support/cdk-app.js';

/** A bare stack: no outputs, no nag checks; asset bundling skipped. */
function bareStack(): Stack {
  return new Stack(projectApp(), 'Bare');
}

describe('DeadLetteredQueue', () => {
  it('redrives to its own dead-letter queue and alarms on that queue and on the age of its own', () => {
    const stack = bareStack();
    const topic = new sns.Topic(stack, 'Topic');
    new DeadLetteredQueue(stack, 'Work', {
      visibilityTimeout: Duration.seconds(42),
      retentionPeriod: Duration.days(2),
      maxReceiveCount: 7,
      alarmTopic: topic,
      deadLetterDescription: 'dead letters',
      ageAlarm: { thresholdSeconds: 123, description: 'too old' },
    });
    const template = Template.fromStack(stack);
    const deadLetters = new Capture();
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 42,
      MessageRetentionPeriod: 2 * 86_400,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] }, maxReceiveCount: 7 },
    });
    const queues = template.findResources('AWS::SQS::Queue');
    const [work] = Object.keys(queues).filter((id) => id !== deadLetters.asString());
    assert.equal(queues[deadLetters.asString()]?.Properties.MessageRetentionPeriod, 14 * 86_400);
    assert.equal(queues[deadLetters.asString()]?.Properties.FifoQueue, undefined, 'standard unless fifo');

    const alarmed = (queue: string | undefined) => ({
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 1,
      AlarmDescription: 'dead letters',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^Topic') }],
      ...alarmed(deadLetters.asString()),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 123,
      AlarmDescription: 'too old',
      ...alarmed(work),
    });
  });
});

describe('IdlehookBridge with non-default props', () => {
  const stack = bareStack();
  const topic = new sns.Topic(stack, 'OpsTopic');
  const caller = new iam.Role(stack, 'HelpdeskRole', { assumedBy: new iam.AccountRootPrincipal() });
  const bridge = new IdlehookBridge(stack, 'Mail', {
    managementApi: {
      iamAccess: true,
      rateLimit: 5,
      burstLimit: 10,
      showMessageDetails: true,
      connect: secretsmanager.Secret.fromSecretNameV2(stack, 'ConnectSettings', 'acme/prod/connect'),
    },
    retryScheduleSeconds: [10, 20],
    deliveryMaxConcurrency: 3,
    blobRetentionDays: 7,
    secretPrefix: 'acme/prod/',
    alarmTopic: topic,
    alarmEmails: ['ops@example.com'],
    allowedNetworks: ['10.1.0.0/16'],
    retainData: false,
    minWatcherTasks: 3,
    maxWatcherTasks: 40,
    mailboxesPerWatcherTask: 8000,
    shardCount: 1024,
    watcherCpu: 1024,
    watcherMemoryMiB: 2048,
  });
  bridge.api.grantIamAccess(caller);
  const template = Template.fromStack(stack);

  it('turns on the connect flow: its settings and a generated signing key, flows in CONNECT# only', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: "HMAC key of idlehook's connect links and OAuth2 state",
      Name: Match.absent(),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          IDLEHOOK_CONNECT_CONFIG_ARN: Match.anyValue(),
          IDLEHOOK_CONNECT_KEY_ARN: { Ref: Match.stringLikeRegexp('ConnectKey') },
        }),
      },
    });
    const apiStatements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes('ApiHandlerServiceRole'))
      .flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Condition?: any }[],
      );
    const connectKeys = apiStatements
      .filter((s) => [s.Action].flat().includes('dynamodb:DeleteItem'))
      .flatMap((s) => s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? []);
    assert.ok(connectKeys.includes('CONNECT#*'), JSON.stringify(connectKeys));
    const reads = JSON.stringify(
      apiStatements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue')),
    );
    assert.match(reads, /acme\/prod\/connect/, 'reads the connect settings');
  });

  it("shows subjects and senders on the dashboard when asked; the API's role reads raw mail (a message read again), never attachments", () => {
    const apiReads = (of: Template) =>
      JSON.stringify(
        Object.values(of.findResources('AWS::IAM::Policy'))
          .filter((p) => JSON.stringify(p.Properties.Roles).includes('ApiHandlerServiceRole'))
          .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[] }[])
          .filter((s) => [s.Action].flat().includes('s3:GetObject')),
      );
    assert.match(apiReads(template), /\/raw\/\*/);
    const plain = bareStack();
    new IdlehookBridge(plain, 'Mail');
    const defaults = Template.fromStack(plain);
    assert.match(apiReads(defaults), /\/dead-letters\/\*/);
    assert.match(apiReads(defaults), /\/raw\/\*/, 'GET /v1/accounts/{id}/messages/{ref} reads the source');
    assert.doesNotMatch(apiReads(defaults), /\/attachments\//);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ IDLEHOOK_DASHBOARD_MESSAGE_DETAILS: 'true' }) },
    });
    assert.doesNotMatch(
      JSON.stringify(defaults.findResources('AWS::Lambda::Function')),
      /IDLEHOOK_DASHBOARD_MESSAGE_DETAILS/,
      'subjects and senders stay off by default',
    );
  });

  it('adds a function URL for IAM (SigV4) callers, which a role is granted, and throttles as asked', () => {
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM' });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^HelpdeskRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'lambda:InvokeFunctionUrl', Effect: 'Allow' }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
    });
  });

  it('passes the retry schedule to every component and sets the delivery age alarm from it', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage',
      Threshold: 10 + 20 + 300, // the first two waits (SQS counts records received fewer than 3 times), 5 min more
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'EventAgeAtAttempt',
      Threshold: 45_000, // (10 + 20) x 1.5 s
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 12 },
    });
    // CDK's own custom-resource handler (restricting the VPC's default security group) has no environment.
    const captured = Object.values(template.findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.Environment?.Variables as Record<string, unknown> | undefined)
      .filter((variables) => variables !== undefined);
    assert.equal(captured.length, 4, 'parse, deliver, blobs and the management API');
    for (const variables of captured) {
      assert.equal(variables.IDLEHOOK_RETRY_SCHEDULE_SECONDS, '10,20');
      assert.equal(variables.IDLEHOOK_ALLOWED_NETWORKS, '10.1.0.0/16');
      assert.equal(variables.IDLEHOOK_SECRET_PREFIX, 'acme/prod/');
    }
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Environment: Match.arrayWith([{ Name: 'IDLEHOOK_RETRY_SCHEDULE_SECONDS', Value: '10,20' }]),
        }),
      ],
    });
  });

  it('limits delivery concurrency, expires blobs, and sends every alarm to the given topic', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 7 })]) },
    });
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const actions = new Capture();
    template.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: actions });
    do assert.match(JSON.stringify(actions.asArray()), /"Ref":"OpsTopic/);
    while (actions.next());
  });

  it('mails the alarms to the addresses given, and alarms when fewer tasks report than the minimum', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: Match.stringLikeRegexp('OpsTopic') },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'WatcherHeartbeat',
      Period: 300,
      Threshold: 14, // three tasks reporting once a minute: 15 in 5 minutes, one may fall into the next period
      ComparisonOperator: 'LessThanThreshold',
    });
  });

  it('runs the watcher tasks asked for, scales them on mailboxes per task, and passes the shard count', () => {
    template.hasResourceProperties('AWS::ECS::Service', { DesiredCount: Match.absent() });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '1024', Memory: '2048' });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 3,
      MaxCapacity: 40,
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 8000 }),
    });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({ Environment: Match.arrayWith([{ Name: 'IDLEHOOK_SHARD_COUNT', Value: '1024' }]) }),
      ],
    });
  });

  it('scopes secrets to the given prefix and deletes data with the stack when asked', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'));
    assert.match(policies, /:secret:acme\/prod\/subscriptions\/\*/);
    assert.doesNotMatch(policies, /idlehook\/Bare\//);
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
  });
});

describe('WatcherService sizing', () => {
  it("aims scaling at what half of a task's memory holds, and keeps S3 and DynamoDB traffic off the NAT gateway", () => {
    const small = Template.fromStack(bridgeStack({}));
    small.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '256', Memory: '512' });
    small.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: defaultMailboxesPerTask(512),
      }),
    });
    const gateways = small.findResources('AWS::EC2::VPCEndpoint', {
      Properties: { VpcEndpointType: 'Gateway' },
    });
    assert.equal(Object.keys(gateways).length, 2);
    const large = Template.fromStack(bridgeStack({ watcherCpu: 512, watcherMemoryMiB: 2048 }));
    large.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        TargetValue: defaultMailboxesPerTask(2048),
      }),
    });
    assert.ok(defaultMailboxesPerTask(2048) >= 4 * defaultMailboxesPerTask(512));
  });

  it('refuses a CPU and memory pair Fargate does not run, naming the prop', () => {
    assert.throws(() => bridgeStack({ watcherCpu: 300 }), /watcherCpu: 300 is not a Fargate size/);
    assert.throws(
      () => bridgeStack({ watcherCpu: 256, watcherMemoryMiB: 4096 }),
      /watcherMemoryMiB: 4096 does not go with watcherCpu 256/,
    );
  });
});

function bridgeStack(props: ConstructorParameters<typeof IdlehookBridge>[2]): Stack {
  const stack = bareStack();
  new IdlehookBridge(stack, 'Mail', props);
  return stack;
}

describe('IdlehookBridge in the small-deployment shape (watcherNetwork: public, watcherSpot)', () => {
  const app = projectApp();
  const stack = new Stack(app, 'Small');
  new IdlehookBridge(stack, 'Mail', { watcherNetwork: 'public', watcherSpot: true });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const template = Template.fromStack(stack);

  it('has no NAT gateway (nor its alarm); tasks get a public IP in public subnets and run on Fargate Spot', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.resourcePropertiesCountIs('AWS::CloudWatch::Alarm', { MetricName: 'ErrorPortAllocation' }, 0);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.allResourcesProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: true });
    template.hasResourceProperties('AWS::ECS::Service', {
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'ENABLED' }) },
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
    });
    // Nothing can connect in: the tasks' security group has no ingress rule.
    const groups = Object.values(template.findResources('AWS::EC2::SecurityGroup')).filter((g) =>
      JSON.stringify(g).includes('Watcher'),
    );
    for (const group of groups) assert.equal(group.Properties.SecurityGroupIngress, undefined);
  });

  it('passes the cdk-nag checks, every finding acknowledged with a reason', () => {
    assert.doesNotThrow(() => app.synth());
  });
});
