import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IdlehookStack } from './idlehook-stack.js';

const app = new App();
new IdlehookStack(app, app.node.tryGetContext('stackName') ?? 'Idlehook', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// Every AwsSolutions finding fails synth unless acknowledged with a reason (see IdlehookBridge).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
