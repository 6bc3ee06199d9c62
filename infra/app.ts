import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { IdlehookStack } from './idlehook-stack.js';

const app = new App();
// `cdk deploy -c small=true`: the small-deployment shape (no NAT gateway, Fargate Spot; docs/deploying-to-aws.md).
const small = app.node.tryGetContext('small') === true || app.node.tryGetContext('small') === 'true';
new IdlehookStack(app, app.node.tryGetContext('stackName') ?? 'Idlehook', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  ...(small ? { bridge: { watcherNetwork: 'public', watcherSpot: true } } : {}),
});
// Every AwsSolutions finding fails synth unless acknowledged with a reason (see IdlehookBridge).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
