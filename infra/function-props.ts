import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LogLevel, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { AwsEnvironmentVariables } from '../src/config/aws-environment.js';

/** What the bridge's functions work on, handed to each construct that makes some. */
export interface FunctionResources {
  readonly table: dynamodb.ITable;
  readonly bucket: s3.IBucket;
  readonly ingestQueue: sqs.IQueue;
  readonly deliveryQueue: sqs.IQueue;
  /** What every function reads from its environment (table, queues, bucket, secret prefix, retry schedule). */
  readonly environment: AwsEnvironmentVariables;
  readonly secretPrefix: string;
  readonly alarmTopic: sns.ITopic;
  readonly removalPolicy: RemovalPolicy;
}

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Every idlehook function: `functions/<name>/index.ts` bundled by esbuild for Node 22 on ARM, a month of logs. */
export function bundledFunctionProps(
  scope: Construct,
  name: string,
  timeout: Duration,
  environment: AwsEnvironmentVariables,
  removalPolicy: RemovalPolicy,
): NodejsFunctionProps {
  return {
    entry: join(repositoryRoot, 'functions', name, 'index.ts'),
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout,
    environment: { ...environment, NODE_OPTIONS: '--enable-source-maps' },
    logGroup: new logs.LogGroup(scope, `${name}-logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy,
    }),
    bundling: {
      forceDockerBundling: false,
      format: OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: true,
      // The SDK the tests ran, not the runtime's pinned copy: options such as throwOnRequestTimeout behave as
      // tested only in the version the lock file names.
      bundleAwsSDK: true,
      mainFields: ['module', 'main'],
      // esbuild's size summary flags every bundle over 1 MB: the SDK clients make these 2-3 MB, by choice (above).
      logLevel: LogLevel.WARNING,
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  };
}
