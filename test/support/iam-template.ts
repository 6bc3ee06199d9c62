// The IAM side of a synthesized stack, made concrete: each role's policy statements with CloudFormation's
// intrinsic functions resolved to the names and ARNs the resources would get in one made-up account.
export const ACCOUNT_ID = '123456789012';
export const REGION = 'us-east-1';

export interface CfnTemplate {
  readonly Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Names given to resources in this made-up deployment, by logical id. */
export function resourceName(template: CfnTemplate, logicalId: string): string {
  const type = template.Resources[logicalId]?.Type;
  if (type === 'AWS::S3::Bucket') return logicalId.toLowerCase();
  if (type === 'AWS::SQS::Queue') return `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${logicalId}`;
  // Ref of a secret is its ARN, which ends in a random suffix; a secret without a Name is named by CloudFormation
  // after its logical id.
  if (type === 'AWS::SecretsManager::Secret') {
    const name = template.Resources[logicalId]?.Properties?.Name;
    return `arn:aws:secretsmanager:${REGION}:${ACCOUNT_ID}:secret:${typeof name === 'string' ? name : logicalId}-AbCdEf`;
  }
  return logicalId;
}

export function resourceArn(template: CfnTemplate, logicalId: string): string {
  const type = template.Resources[logicalId]?.Type;
  if (type === 'AWS::DynamoDB::Table') return `arn:aws:dynamodb:${REGION}:${ACCOUNT_ID}:table/${logicalId}`;
  if (type === 'AWS::SQS::Queue') return `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${logicalId}`;
  if (type === 'AWS::S3::Bucket') return `arn:aws:s3:::${logicalId.toLowerCase()}`;
  if (type === 'AWS::IAM::Role') return `arn:aws:iam::${ACCOUNT_ID}:role/${logicalId}`;
  if (type === 'AWS::KMS::Key') return `arn:aws:kms:${REGION}:${ACCOUNT_ID}:key/${logicalId}`;
  return `arn:aws:unknown:${REGION}:${ACCOUNT_ID}:${logicalId}`;
}

function resolve(value: unknown, template: CfnTemplate, stackName: string): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, template, stackName));
  if (value === null || typeof value !== 'object') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) {
    const ref = String(object.Ref);
    const pseudo = new Map([
      ['AWS::Partition', 'aws'],
      ['AWS::Region', REGION],
      ['AWS::AccountId', ACCOUNT_ID],
      ['AWS::StackName', stackName],
      ['AWS::URLSuffix', 'amazonaws.com'],
    ]);
    return pseudo.get(ref) ?? resourceName(template, ref);
  }
  if ('Fn::GetAtt' in object) {
    const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
    if (attribute !== 'Arn') throw new Error(`unresolved Fn::GetAtt ${logicalId}.${attribute}`);
    return resourceArn(template, logicalId);
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolve(part, template, stackName)).join(separator);
  }
  return Object.fromEntries(Object.entries(object).map(([k, v]) => [k, resolve(v, template, stackName)]));
}

/** The inline policy statements attached to the role whose logical id contains `role`, resolved. */
export function roleStatements(template: CfnTemplate, role: string, stackName: string): Statement[] {
  return Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties?.Roles).includes(role))
    .flatMap(
      (r) =>
        (resolve(r.Properties?.PolicyDocument, template, stackName) as { Statement: Statement[] }).Statement,
    );
}

/** The logical id of the one resource of `type` whose id contains `part` (and not `except`). */
export function logicalIdOf(template: CfnTemplate, type: string, part: string, except?: string): string {
  const ids = Object.entries(template.Resources)
    .filter(([id, r]) => r.Type === type && id.includes(part) && (!except || !id.includes(except)))
    .map(([id]) => id);
  if (ids.length !== 1)
    throw new Error(`expected one ${type} with ${part}, found ${ids.join(', ') || 'none'}`);
  return ids[0] as string;
}

/** A KMS key's key policy, resolved: KMS authorizes a call only if the key policy allows it or trusts IAM. */
export function keyPolicy(template: CfnTemplate, logicalId: string, stackName: string): unknown {
  return resolve(template.Resources[logicalId]?.Properties?.KeyPolicy, template, stackName);
}
