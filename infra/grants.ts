import { ArnFormat, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { wrappingKeyContext } from '../src/adapters/aws/credential-context.js';
import type { TableCalls } from '../src/adapters/aws/state-table.js';
import { type SecretKind, secretName } from '../src/config/aws-environment.js';

/** Least-privilege grants, narrower than CDK's grant groups: each component gets the calls it makes, no more. */

/** The state table calls a component makes, each limited to its partitions (`dynamodb:LeadingKeys`). */
export function grantTablePartitions(
  grantee: iam.IGrantable,
  table: dynamodb.ITable,
  calls: TableCalls,
): void {
  for (const [call, partitions] of Object.entries(calls) as [keyof TableCalls, readonly string[]][]) {
    if (partitions.length === 0) continue;
    const index = call === 'QueryIndex';
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [index ? 'dynamodb:Query' : `dynamodb:${call}`],
        resources: [index ? `${table.tableArn}/index/*` : table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...partitions] } },
      }),
    );
  }
}

/** sqs:SendMessage alone (CDK's send group adds queue reads nobody makes); batches are authorized as it. */
export function grantSend(grantee: iam.IGrantable, queue: sqs.IQueue): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
  );
}

/** Object access in the blob bucket, per key prefix (see src/domain/blob-keys.ts). */
export function grantBlobPrefixes(
  grantee: iam.IGrantable,
  bucket: s3.IBucket,
  prefixes: {
    readonly read: readonly string[];
    readonly write: readonly string[];
    /** Changed in place only (UpdateItem), never written whole. */
    readonly update?: readonly string[];
    readonly delete?: readonly string[];
  },
): void {
  const objects = (list: readonly string[]) => list.map((prefix) => bucket.arnForObjects(`${prefix}*`));
  for (const [actions, list] of [
    [['s3:GetObject'], prefixes.read],
    [['s3:PutObject'], prefixes.write],
    [['s3:DeleteObject'], prefixes.delete ?? []],
  ] as const) {
    if (list.length > 0)
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: [...actions], resources: objects(list) }),
      );
  }
}

/** Secrets Manager actions on this deployment's secrets of the given kinds only. */
export function grantSecretKinds(
  scope: Construct,
  grantee: iam.IGrantable,
  actions: string[],
  secretPrefix: string,
  kinds: readonly SecretKind[],
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions,
      resources: kinds.map((kind) =>
        Stack.of(scope).formatArn({
          service: 'secretsmanager',
          resource: 'secret',
          resourceName: secretName(secretPrefix, kind, '*'),
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    }),
  );
}

/** GetSecretValue on one secret (CDK's grantRead adds DescribeSecret, which nobody calls). */
export function grantSecretValue(grantee: iam.IGrantable, secret: secretsmanager.ISecret): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
  );
}

/**
 * The stack's credential wrapping key, generated and decrypted under the KMS key: only with this stack's
 * encryption context (IAM checks it, as KMS binds it into the ciphertext), so the same KMS key shared with other
 * stacks or uses yields nothing else to these roles.
 */
export function grantCredentialsKey(
  grantee: iam.IGrantable,
  key: kms.IKey,
  stackName: string,
  actions: readonly ('kms:Decrypt' | 'kms:GenerateDataKey')[],
): void {
  const context = Object.entries(wrappingKeyContext(stackName)).map(([name, value]) => [
    `kms:EncryptionContext:${name}`,
    value,
  ]);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...actions],
      resources: [key.keyArn],
      conditions: { StringEquals: Object.fromEntries(context) }, // trusted key: the context keys idlehook names
    }),
  );
}
