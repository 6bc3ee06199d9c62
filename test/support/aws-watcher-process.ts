// The watcher task as its own process, so a test can SIGKILL, SIGSTOP or SIGTERM it: the container's entry point, with
// the AWS clients pointed at the emulators the test runs. Secrets Manager cannot run here: the account
// passwords come from CHAOS_SECRETS (JSON, ARN -> value) through a resolver with the same contract.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startAwsWatcher } from '../../src/compose/aws/aws-watcher.js';
import { stopOnSignals } from '../../src/compose/stop-on-signals.js';
import { loadAwsEnvironment } from '../../src/config/aws-environment.js';
import { enforceAwsLimits, enforceDynamoDbLimits } from './aws-limits.js';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';
const secrets = JSON.parse(process.env.CHAOS_SECRETS ?? '{}') as Record<string, string>;
const dynamo = new DynamoDBClient({ endpoint: process.env.CHAOS_DYNAMODB_ENDPOINT, region, credentials });
const sqs = new SQSClient({ endpoint: process.env.CHAOS_SQS_ENDPOINT, region, credentials });
const s3 = new S3Client({
  endpoint: process.env.CHAOS_SQS_ENDPOINT,
  region,
  credentials,
  forcePathStyle: true,
});
enforceDynamoDbLimits(
  dynamo,
  new DynamoDBClient({ endpoint: process.env.CHAOS_DYNAMODB_ENDPOINT, region, credentials }),
);
enforceAwsLimits(sqs, 'SQS');
enforceAwsLimits(s3, 'S3');
const started = startAwsWatcher(loadAwsEnvironment(), {
  clients: {
    dynamo,
    sqs,
    s3,
    secrets: {
      resolve: async (arn) => {
        const value = secrets[arn];
        if (value === undefined) throw new Error(`no secret ${arn}`);
        return value;
      },
    },
  },
  healthPort: 0,
  heartbeat: async () => {},
});
// As the container's entry point does: stop cleanly on SIGTERM (sessions closed, shard leases released).
stopOnSignals(started);
const watcher = await started;
process.stdout.write(`HEALTH ${watcher.healthUrl}\n`);
