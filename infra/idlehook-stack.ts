import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
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
    new CfnOutput(this, 'TableName', { value: this.bridge.table.tableName });
    new CfnOutput(this, 'IngestQueueUrl', { value: this.bridge.ingestQueue.queueUrl });
    new CfnOutput(this, 'DeliveryQueueUrl', { value: this.bridge.deliveryQueue.queueUrl });
    new CfnOutput(this, 'BlobBucket', { value: this.bridge.bucket.bucketName });
    new CfnOutput(this, 'SecretPrefix', { value: this.bridge.secretPrefix });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.bridge.alarmTopic.topicArn });
  }
}
