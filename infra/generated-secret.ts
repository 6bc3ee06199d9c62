import { RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';

/**
 * A key the stack generates for itself (link and connect-flow HMAC keys). CloudFormation names it: a fixed name
 * kept after a failed first deploy or a `cdk destroy` would make the next deploy fail with "already exists". Kept
 * on update and delete where the stack keeps its data (links signed with it stay valid), but deleted with a
 * creation that rolls back.
 */
export function generatedKey(
  scope: Construct,
  id: string,
  description: string,
  removalPolicy: RemovalPolicy,
): secretsmanager.Secret {
  return new secretsmanager.Secret(scope, id, {
    description,
    generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
    removalPolicy:
      removalPolicy === RemovalPolicy.RETAIN ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : removalPolicy,
  });
}
