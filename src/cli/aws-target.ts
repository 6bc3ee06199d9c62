import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { composeAwsAdapters, fileAfterDelivery } from '../compose/aws/aws-composition.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../config/aws-environment.js';
import { STACK_OUTPUTS } from '../config/deployment.js';
import { ConfigError } from '../config/load-config.js';
import { recordOf } from '../domain/null-prototype.js';
import type { Target } from './targets.js';

// Loaded only for --aws and --stack: local mode never loads the AWS SDK.

/** A stack's outputs name its table, queues and bucket (needs AWS credentials for CloudFormation). */
async function stackEnvironment(
  stackName: string,
): Promise<{ readonly env: AwsEnvironment; readonly dashboardUrl: string | undefined }> {
  const client = new CloudFormationClient({});
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    const env = loadAwsEnvironment(
      recordOf(Object.entries(STACK_OUTPUTS).map(([output, variable]) => [variable, outputs.get(output)])),
    );
    return { env, dashboardUrl: outputs.get('DashboardUrl') };
  } catch (error) {
    if (error instanceof ConfigError) {
      throw new ConfigError(`the outputs of stack ${stackName}`, error.problems);
    }
    throw error;
  } finally {
    client.destroy();
  }
}

/** AWS mode: `--stack NAME` reads the stack's outputs; `--aws` reads IDLEHOOK_* environment variables. */
export async function openAwsTarget(stackName: string | undefined): Promise<Target> {
  const { env, dashboardUrl } = stackName
    ? await stackEnvironment(stackName)
    : { env: loadAwsEnvironment(), dashboardUrl: undefined };
  const aws = composeAwsAdapters(env);
  return {
    log: aws.state,
    attempts: aws.attempts,
    subscriptionStatus: aws.state,
    apiTokens: aws.apiTokens,
    http: aws.http,
    timeoutMs: env.IDLEHOOK_DELIVERY_TIMEOUT_SECONDS * 1000,
    afterDelivery: fileAfterDelivery(aws),
    subscriptions: () => aws.subscriptions.list(),
    dashboardUrl,
    retries: aws.retrying,
    aws,
    close: () => aws.http.close(),
  };
}
