/**
 * The KMS encryption context of the stack's wrapping key (see kms-credential-sealer.ts): the roles' grants
 * require it, so the key's holders can decrypt this stack's wrapping key and nothing else under the same KMS key.
 * Apart from the sealer so that the CDK app can import it without the Encryption SDK.
 */
export function wrappingKeyContext(stack: string): Record<string, string> {
  return { 'idlehook:stack': stack, 'idlehook:purpose': 'credential-wrapping-key' };
}
