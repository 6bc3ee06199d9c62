// AWS's own request limits, enforced in front of the emulators: dynalite and fauxqs accept requests that AWS
// rejects (ids with spaces, 400 KB+ items, 11-entry batches), so without this layer an AWS-shape test can pass on
// what would fail in production. Limits as AWS publishes them (SQS, DynamoDB, S3 and Secrets Manager quotas).
import { type AttributeValue, type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';

/** What AWS answers a request over its limits with: a client error, never retried by the SDK. */
export class AwsLimitError extends Error {
  readonly $fault = 'client';
  constructor(service: string, operation: string, problem: string) {
    super(`${service} ${operation} would be rejected by AWS: ${problem}`);
    this.name = 'ValidationException';
  }
}

const MiB = 1024 * 1024;
/** SQS message and batch payloads; DynamoDB items; S3 keys; SQS ids (RFC: alphanumeric and punctuation). */
export const AWS_LIMITS = {
  sqsMessageBytes: MiB,
  sqsBatchBytes: MiB,
  sqsBatchEntries: 10,
  sqsDelaySeconds: 900,
  sqsVisibilitySeconds: 43_200,
  sqsIdLength: 128,
  dynamoItemBytes: 400 * 1024,
  dynamoPartitionKeyBytes: 2048,
  dynamoSortKeyBytes: 1024,
  dynamoBatchWriteItems: 25,
  dynamoBatchGetItems: 100,
  s3KeyBytes: 1024,
  secretNameLength: 512,
} as const;

const SQS_ID = /^[\x21-\x7e]+$/;
const SQS_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** Characters SQS accepts in a message body (#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF). */
const SQS_BODY_FORBIDDEN = /[^\t\n\r\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/u;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/** DynamoDB's item size: attribute names plus values, as AWS counts them (numbers approximated by length). */
export function dynamoItemSize(item: Record<string, AttributeValue>): number {
  const valueSize = (value: AttributeValue): number => {
    if (value.S !== undefined) return bytes(value.S);
    if (value.N !== undefined) return Math.ceil(value.N.length / 2) + 1;
    if (value.B !== undefined) return value.B.length;
    if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
    if (value.SS) return value.SS.reduce((n, s) => n + bytes(s), 0);
    if (value.NS) return value.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
    if (value.BS) return value.BS.reduce((n, b) => n + b.length, 0);
    if (value.L) return 3 + value.L.reduce((n, v) => n + 1 + valueSize(v), 0);
    if (value.M) return 3 + dynamoItemSize(value.M) + Object.keys(value.M).length;
    return 0;
  };
  return Object.entries(item).reduce((n, [name, value]) => n + bytes(name) + valueSize(value), 0);
}

type Input = Record<string, unknown>;
type Check = (input: Input) => string | undefined;

function sqsEntryProblems(entry: Input, where: string): string[] {
  const problems: string[] = [];
  const body = String(entry.MessageBody ?? '');
  if (bytes(body) > AWS_LIMITS.sqsMessageBytes) problems.push(`${where}: body over 1 MiB`);
  if (SQS_BODY_FORBIDDEN.test(body)) problems.push(`${where}: body has characters SQS does not allow`);
  for (const name of ['MessageGroupId', 'MessageDeduplicationId'] as const) {
    const id = entry[name];
    if (id === undefined) continue;
    if (typeof id !== 'string' || id.length > AWS_LIMITS.sqsIdLength || !SQS_ID.test(id))
      problems.push(
        `${where}: ${name} ${JSON.stringify(id)} is not 1-128 ASCII letters, digits or punctuation`,
      );
  }
  const delay = entry.DelaySeconds;
  if (typeof delay === 'number' && (delay < 0 || delay > AWS_LIMITS.sqsDelaySeconds))
    problems.push(`${where}: DelaySeconds ${delay} is outside 0-900`);
  return problems;
}

const SQS_CHECKS: Record<string, Check> = {
  SendMessageBatchCommand: (input) => {
    const entries = (input.Entries as Input[] | undefined) ?? [];
    const problems: string[] = [];
    if (entries.length === 0 || entries.length > AWS_LIMITS.sqsBatchEntries)
      problems.push(`${entries.length} entries (1-10 allowed)`);
    const total = entries.reduce((n, e) => n + bytes(String(e.MessageBody ?? '')), 0);
    if (total > AWS_LIMITS.sqsBatchBytes) problems.push(`batch of ${total} bytes (1 MiB allowed)`);
    entries.forEach((entry, i) => {
      if (!SQS_ENTRY_ID.test(String(entry.Id))) problems.push(`entry ${i}: Id ${JSON.stringify(entry.Id)}`);
      problems.push(...sqsEntryProblems(entry, `entry ${i}`));
    });
    return problems.join('; ') || undefined;
  },
  SendMessageCommand: (input) => sqsEntryProblems(input, 'message').join('; ') || undefined,
  ChangeMessageVisibilityCommand: (input) => {
    const timeout = Number(input.VisibilityTimeout);
    return timeout < 0 || timeout > AWS_LIMITS.sqsVisibilitySeconds
      ? `VisibilityTimeout ${timeout} is outside 0-43200`
      : undefined;
  },
  ReceiveMessageCommand: (input) => {
    const max = Number(input.MaxNumberOfMessages ?? 1);
    const wait = Number(input.WaitTimeSeconds ?? 0);
    if (max < 1 || max > 10) return `MaxNumberOfMessages ${max} is outside 1-10`;
    return wait < 0 || wait > 20 ? `WaitTimeSeconds ${wait} is outside 0-20` : undefined;
  },
  DeleteMessageBatchCommand: (input) =>
    ((input.Entries as unknown[] | undefined)?.length ?? 0) > 10 ? 'more than 10 entries' : undefined,
};

function keyProblems(key: Record<string, AttributeValue> | undefined): string | undefined {
  if (!key) return undefined;
  const size = (name: string) => {
    const value = key[name];
    return value ? dynamoItemSize({ '': value }) : 0;
  };
  for (const [hash, range] of [
    ['pk', 'sk'],
    ['gsi1pk', 'gsi1sk'],
    ['gsi2pk', 'gsi2sk'],
  ] as const) {
    if (size(hash) > AWS_LIMITS.dynamoPartitionKeyBytes) return `${hash} over 2048 bytes`;
    if (size(range) > AWS_LIMITS.dynamoSortKeyBytes) return `${range} over 1024 bytes`;
  }
  return undefined;
}

const itemProblems = (item: Record<string, AttributeValue> | undefined) => {
  if (!item) return undefined;
  const size = dynamoItemSize(item);
  return size > AWS_LIMITS.dynamoItemBytes ? `item of ${size} bytes (400 KB allowed)` : keyProblems(item);
};

const DYNAMO_CHECKS: Record<string, Check> = {
  PutItemCommand: (input) => itemProblems(input.Item as Record<string, AttributeValue>),
  UpdateItemCommand: (input) => keyProblems(input.Key as Record<string, AttributeValue>),
  DeleteItemCommand: (input) => keyProblems(input.Key as Record<string, AttributeValue>),
  GetItemCommand: (input) => keyProblems(input.Key as Record<string, AttributeValue>),
  BatchWriteItemCommand: (input) => {
    const requests = Object.values((input.RequestItems as Record<string, Input[]>) ?? {}).flat();
    if (requests.length > AWS_LIMITS.dynamoBatchWriteItems) return `${requests.length} writes (25 allowed)`;
    for (const request of requests) {
      const put = (request.PutRequest as { Item?: Record<string, AttributeValue> } | undefined)?.Item;
      const problem = itemProblems(put);
      if (problem) return problem;
    }
    return undefined;
  },
  BatchGetItemCommand: (input) => {
    const keys = Object.values((input.RequestItems as Record<string, { Keys?: unknown[] }>) ?? {}).flatMap(
      (r) => r.Keys ?? [],
    );
    return keys.length > AWS_LIMITS.dynamoBatchGetItems ? `${keys.length} keys (100 allowed)` : undefined;
  },
  TransactWriteItemsCommand: () => undefined,
};

const S3_CHECKS: Record<string, Check> = {
  PutObjectCommand: (input) =>
    bytes(String(input.Key ?? '')) > AWS_LIMITS.s3KeyBytes ? 'object key over 1,024 bytes' : undefined,
};

const SECRET_NAME_CHECK: Check = (input) => {
  const name = String(input.Name ?? input.SecretId ?? '');
  if (name.startsWith('arn:')) return undefined;
  return name.length > AWS_LIMITS.secretNameLength || !SECRET_NAME.test(name)
    ? `secret name ${JSON.stringify(name)} is not 1-512 of A-Z a-z 0-9 / _ + = . @ -`
    : undefined;
};
const SECRETS_CHECKS: Record<string, Check> = {
  CreateSecretCommand: SECRET_NAME_CHECK,
  GetSecretValueCommand: SECRET_NAME_CHECK,
  PutSecretValueCommand: SECRET_NAME_CHECK,
};

type AnyClient = DynamoDBClient | SQSClient | S3Client | SecretsManagerClient;

function install(
  client: AnyClient,
  service: string,
  checks: Record<string, Check>,
  readBack: DynamoDBClient | undefined,
): void {
  const stack = client.middlewareStack as unknown as {
    add(
      middleware: (
        next: (args: { input: Input }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: Input }) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ): void;
  };
  stack.add(
    (next, context) => async (args) => {
      const operation = context.commandName ?? '';
      const check = Object.hasOwn(checks, operation) ? checks[operation] : undefined;
      const problem = check?.(args.input);
      if (problem) throw new AwsLimitError(service, operation.replace(/Command$/, ''), problem);
      const result = await next(args);
      // An update's resulting size is only known afterwards: read the item back, as AWS would have refused it.
      if (readBack && operation === 'UpdateItemCommand') {
        const { Item } = await readBack.send(
          new GetItemCommand({ TableName: String(args.input.TableName), Key: args.input.Key as never }),
        );
        const tooLarge = Item && itemProblems(Item);
        if (tooLarge) throw new AwsLimitError(service, 'UpdateItem', tooLarge);
      }
      return result;
    },
    { step: 'build', name: 'awsLimits' },
  );
}

/** Makes a client pointed at an emulator refuse what AWS refuses. */
export function enforceAwsLimits(
  client: SQSClient | S3Client | SecretsManagerClient,
  service: 'SQS' | 'S3' | 'SecretsManager',
): void {
  install(
    client,
    service,
    { SQS: SQS_CHECKS, S3: S3_CHECKS, SecretsManager: SECRETS_CHECKS }[service],
    undefined,
  );
}

/**
 * The same for DynamoDB. An update's resulting item size is known only afterwards: `readBack`, a second client
 * of the same server, reads the item back, so the check neither shows in the client's own request counts nor
 * in what its component is recorded calling.
 */
export function enforceDynamoDbLimits(client: DynamoDBClient, readBack: DynamoDBClient): void {
  install(client, 'DynamoDB', DYNAMO_CHECKS, readBack);
}
