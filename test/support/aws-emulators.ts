import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { buildApp } from 'fauxqs';
import { STATE_TABLE_DEFINITION } from '../../src/adapters/aws/state-table.js';
import { enforceAwsLimits, enforceDynamoDbLimits } from './aws-limits.js';
import { enforcePartitionLimits, PartitionMeter } from './dynamodb-partitions.js';

/** Emulators need credentials to sign with; they are never real and never leave loopback. */
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const region = 'us-east-1';

/** dynalite: a DynamoDB-API server on loopback, in process. */
export async function startDynamoDb(): Promise<{
  client: DynamoDBClient;
  endpoint: string;
  /** For more clients of the same server (e.g. one per component). */
  clientConfig: { endpoint: string; region: string; credentials: typeof credentials };
  /** Units per partition and second, across the clients metered on it (DynamoDB's partition throughput). */
  partitions: PartitionMeter;
  createTable(): Promise<string>;
  stop(): Promise<void>;
}> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  const client = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region, credentials });
  enforceDynamoDbLimits(
    client,
    new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region, credentials }),
  );
  const partitions = new PartitionMeter();
  enforcePartitionLimits(client, partitions);
  let tables = 0;
  return {
    client,
    endpoint: `http://127.0.0.1:${port}`,
    clientConfig: { endpoint: `http://127.0.0.1:${port}`, region, credentials },
    partitions,
    createTable: async () => {
      const TableName = `idlehook-${++tables}`;
      await client.send(new CreateTableCommand({ TableName, ...STATE_TABLE_DEFINITION }));
      return TableName;
    },
    stop: async () => {
      // The server first: requests under way are answered before the database closes. Destroying the client
      // first cut their sockets, and dynalite then closed the database under them and threw 'Database is closed'.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.destroy();
    },
  };
}

/** fauxqs: SQS- and S3-API server on loopback, in process. */
export async function startSqsAndS3(): Promise<{
  sqs: SQSClient;
  endpoint: string;
  /** For more clients of the same server (e.g. one per component). */
  clientConfig: { endpoint: string; region: string; credentials: typeof credentials };
  s3: S3Client;
  createQueue(name: string, attributes?: Record<string, string>): Promise<string>;
  createBucket(name: string): Promise<string>;
  stop(): Promise<void>;
}> {
  const app = buildApp({ logger: false, host: '127.0.0.1' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const sqs = new SQSClient({ endpoint, region, credentials });
  const s3 = new S3Client({ endpoint, region, credentials, forcePathStyle: true });
  enforceAwsLimits(sqs, 'SQS');
  enforceAwsLimits(s3, 'S3');
  return {
    sqs,
    endpoint,
    clientConfig: { endpoint, region, credentials },
    s3,
    createQueue: async (name, attributes) =>
      (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl ?? '',
    createBucket: async (name) => {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    stop: async () => {
      sqs.destroy();
      s3.destroy();
      await app.close();
    },
  };
}

/**
 * The environment an `idlehook ... --aws` process needs to reach the emulators and stand-ins of a test: fake
 * credentials, and each service's endpoint.
 */
export async function cliAwsEnvironment(services: {
  readonly dynamo: {
    readonly client: { readonly config: { endpoint?: () => Promise<{ hostname: string; port?: number }> } };
  };
  readonly secretsManager: { readonly endpoint: string };
  readonly kms: { readonly endpoint: string };
}): Promise<NodeJS.ProcessEnv> {
  const endpoint = await services.dynamo.client.config.endpoint?.();
  return {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: `http://${endpoint?.hostname}:${endpoint?.port}`,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: services.secretsManager.endpoint,
    AWS_ENDPOINT_URL_KMS: services.kms.endpoint,
  };
}
