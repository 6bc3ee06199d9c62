import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { StackOutputName } from '../src/config/deployment.js';
import { IdlehookBridge, type IdlehookBridgeProps } from './idlehook-bridge.js';

/** The ready-made stack: the bridge construct and the outputs the CLI reads. */
export class IdlehookStack extends Stack {
  readonly bridge: IdlehookBridge;

  constructor(
    scope: Construct,
    id: string,
    props: StackProps & { readonly bridge?: IdlehookBridgeProps } = {},
  ) {
    super(scope, id, props);
    this.bridge = new IdlehookBridge(this, 'Bridge', props.bridge);
    const outputs: { readonly [Name in StackOutputName]: string } = {
      TableName: this.bridge.table.tableName,
      IngestQueueUrl: this.bridge.ingest.queue.queueUrl,
      DeliveryQueueUrl: this.bridge.delivery.queue.queueUrl,
      BlobBucket: this.bridge.bucket.bucketName,
      SecretPrefix: this.bridge.secretPrefix,
      CredentialsKeyArn: this.bridge.credentialsKey.keyArn,
      StackName: Stack.of(this).stackName,
      ShardCount: String(this.bridge.shardCount),
      AlarmTopicArn: this.bridge.alarmTopic.topicArn,
      ApiUrl: this.bridge.api.url,
    };
    for (const [name, value] of Object.entries(outputs)) new CfnOutput(this, name, { value });
    new CfnOutput(this, 'DashboardUrl', {
      value: `${this.bridge.api.url}dashboard`,
      description: 'Open with a login link from: idlehook dashboard --stack NAME',
    });
    if (this.bridge.api.iamUrl) new CfnOutput(this, 'ApiIamUrl', { value: this.bridge.api.iamUrl.url });
  }
}
