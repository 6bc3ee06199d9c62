// Records every AWS call a component makes, as the request AWS would authorize: the IAM action, the resource
// and the condition keys IAM sees (dynamodb:LeadingKeys). The IAM test replays these against the roles in the
// synthesized template.
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { SecretResolver, SecretWriter } from '../../src/ports/services.js';

export type Component = 'watcher' | 'parse' | 'deliver' | 'blobs' | 'api';

export interface RecordedCall {
  readonly component: Component;
  /** e.g. dynamodb:UpdateItem, s3:PutObject */
  readonly action: string;
  /** What the call touched, in the emulators' names: table, queue URL, bucket/key, secret ARN. */
  readonly target:
    | { readonly kind: 'table'; readonly index?: string; readonly leadingKeys: readonly string[] }
    | { readonly kind: 'queue'; readonly url: string }
    | { readonly kind: 'object'; readonly key: string }
    | { readonly kind: 'secret'; readonly arn: string }
    | { readonly kind: 'key'; readonly arn: string; readonly context: Readonly<Record<string, string>> };
}

type Input = Record<string, unknown>;

/** IAM's action for an SDK operation (batch operations are authorized as their single-message action). */
const SQS_ACTIONS: Record<string, string> = {
  SendMessageBatch: 'sqs:SendMessage',
  DeleteMessageBatch: 'sqs:DeleteMessage',
  ChangeMessageVisibilityBatch: 'sqs:ChangeMessageVisibility',
};

/** The partition key values a DynamoDB request names (IAM's dynamodb:LeadingKeys). */
function leadingKeys(operation: string, input: Input): string[] {
  const s = (value: unknown) => (value as AttributeValue | undefined)?.S;
  if (operation === 'Query') {
    const values = (input.ExpressionAttributeValues ?? {}) as Record<string, AttributeValue>;
    const condition = String(input.KeyConditionExpression ?? '');
    const placeholder = /(?:pk|gsi1pk|gsi2pk)\s*=\s*(:\w+)/.exec(condition)?.[1];
    const value = placeholder ? s(values[placeholder]) : undefined;
    return value ? [value] : [];
  }
  if (operation === 'BatchGetItem') {
    return Object.values(
      (input.RequestItems ?? {}) as Record<string, { Keys?: Record<string, AttributeValue>[] }>,
    )
      .flatMap((request) => request.Keys ?? [])
      .map((key) => s(key.pk) ?? '');
  }
  if (operation === 'BatchWriteItem') {
    return Object.values((input.RequestItems ?? {}) as Record<string, Input[]>)
      .flat()
      .map((request) => {
        const put = request.PutRequest as { Item?: Record<string, AttributeValue> } | undefined;
        const del = request.DeleteRequest as { Key?: Record<string, AttributeValue> } | undefined;
        return s((put?.Item ?? del?.Key)?.pk) ?? '';
      });
  }
  const key = (input.Key ?? input.Item) as Record<string, AttributeValue> | undefined;
  const pk = s(key?.pk);
  return pk ? [pk] : [];
}

function describe(
  service: string,
  operation: string,
  input: Input,
): Omit<RecordedCall, 'component'> | undefined {
  if (service === 'DynamoDBClient') {
    return {
      action: `dynamodb:${operation}`,
      target: {
        kind: 'table',
        ...(input.IndexName ? { index: String(input.IndexName) } : {}),
        leadingKeys: leadingKeys(operation, input),
      },
    };
  }
  if (service === 'SQSClient') {
    return {
      action: Object.hasOwn(SQS_ACTIONS, operation) ? (SQS_ACTIONS[operation] as string) : `sqs:${operation}`,
      target: { kind: 'queue', url: String(input.QueueUrl) },
    };
  }
  if (service === 'KMSClient')
    return {
      action: `kms:${operation}`,
      target: {
        kind: 'key',
        arn: String(input.KeyId),
        context: (input.EncryptionContext ?? {}) as Record<string, string>,
      },
    };
  if (service === 'S3Client') {
    if (operation === 'CreateBucket') return undefined;
    return { action: `s3:${operation}`, target: { kind: 'object', key: String(input.Key) } };
  }
  return undefined;
}

type AnyClient = { middlewareStack: unknown };

/** Records the calls made through `client` as `component`'s. */
export function recordCalls(client: AnyClient, component: Component, log: RecordedCall[]): void {
  const stack = client.middlewareStack as {
    add(
      middleware: (
        next: (args: { input: Input }) => Promise<unknown>,
        context: { clientName?: string; commandName?: string },
      ) => (args: { input: Input }) => Promise<unknown>,
      options: { step: 'build'; name: string },
    ): void;
  };
  stack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      const call = describe(context.clientName ?? '', operation, args.input);
      if (call) log.push({ component, ...call });
      return next(args);
    },
    { step: 'build', name: 'recordCalls' },
  );
}

/** A SecretResolver that records each read as `component`'s GetSecretValue. */
export function recordingResolver(
  inner: SecretResolver,
  component: Component,
  log: RecordedCall[],
): SecretResolver {
  return {
    resolve: (arn) => {
      log.push({ component, action: 'secretsmanager:GetSecretValue', target: { kind: 'secret', arn } });
      return inner.resolve(arn);
    },
  };
}

/**
 * A SecretWriter over a map of ARN to value, recording each call as Secrets Manager's adapter makes it:
 * PutSecretValue, and CreateSecret when the secret did not exist yet; DeleteSecret for a removal, and
 * RestoreSecret before storing a removed one again.
 */
export function recordingWriter(
  secrets: Map<string, string>,
  arnOf: (name: string) => string,
  component: Component,
  log: RecordedCall[],
): SecretWriter {
  /** Removed secrets wait out their recovery window: storing one again restores it. */
  const scheduledForDeletion = new Set<string>();
  const record = (action: string, arn: string) =>
    log.push({ component, action: `secretsmanager:${action}`, target: { kind: 'secret', arn } });
  return {
    store: async (name, value) => {
      const arn = arnOf(name);
      if (scheduledForDeletion.delete(arn)) record('RestoreSecret', arn);
      record('PutSecretValue', arn);
      if (!secrets.has(arn)) record('CreateSecret', arn);
      secrets.set(arn, value);
      return arn;
    },
    remove: async (arn) => {
      record('DeleteSecret', arn);
      scheduledForDeletion.add(arn);
    },
  };
}
