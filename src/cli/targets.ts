import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { senderFor, type UndiciHttpSender } from '../adapters/http/undici-http-sender.js';
import { openLocalStores } from '../adapters/local/local-stores.js';
import { systemClock } from '../adapters/system-clock.js';
import { type AwsEnvironment, loadAwsEnvironment } from '../config/aws-environment.js';
import type { SubscriptionConfig } from '../config/config.js';
import { STACK_OUTPUTS } from '../config/deployment.js';
import { ConfigError, loadConfig } from '../config/load-config.js';
import { recordOf } from '../domain/null-prototype.js';
import type { AttemptLog, DeliveryLog, SubscriptionStatusStore } from '../ports/index.js';
import { type AwsAdapters, composeAwsAdapters } from '../runtime/aws-composition.js';

/** What the operating commands work on: local mode's SQLite file, or a deployed stack's DynamoDB table. */
export interface Target {
  readonly log: DeliveryLog;
  readonly attempts: AttemptLog;
  readonly subscriptionStatus: SubscriptionStatusStore;
  readonly http: UndiciHttpSender;
  readonly timeoutMs: number;
  subscriptions(): Promise<readonly SubscriptionConfig[]>;
  /** Present in AWS mode only: where accounts and subscriptions are managed. */
  readonly aws?: AwsAdapters;
  close(): Promise<void>;
}

export function openLocalTarget(configFile: string): Target {
  const config = loadConfig(configFile);
  const stores = openLocalStores(config.dataDir, systemClock);
  const http = senderFor(config.delivery);
  return {
    log: stores.state,
    attempts: stores.attempts,
    subscriptionStatus: stores.state,
    http,
    timeoutMs: config.delivery.timeoutSeconds * 1000,
    subscriptions: async () => config.subscriptions,
    close: async () => {
      await http.close();
      stores.close();
    },
  };
}

/** A stack's outputs name its table, queues and bucket (needs AWS credentials for CloudFormation). */
async function stackEnvironment(stackName: string): Promise<AwsEnvironment> {
  const client = new CloudFormationClient({});
  try {
    const { Stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
    return loadAwsEnvironment(
      recordOf(Object.entries(STACK_OUTPUTS).map(([output, variable]) => [variable, outputs.get(output)])),
    );
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
  const env = stackName ? await stackEnvironment(stackName) : loadAwsEnvironment();
  const aws = composeAwsAdapters(env);
  return {
    log: aws.state,
    attempts: aws.attempts,
    subscriptionStatus: aws.state,
    http: aws.http,
    timeoutMs: env.IDLEHOOK_DELIVERY_TIMEOUT_SECONDS * 1000,
    subscriptions: () => aws.subscriptions.list(),
    aws,
    close: () => aws.http.close(),
  };
}
