// A stand-in for the blobs function's Lambda function URL (which cannot run here): a loopback HTTP server that
// hands each request to the real handler in the function URL's event shape and sends back its answer.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BlobLinkHandler } from '../../src/compose/aws/blob-link-handler.js';
import type { SecretResolver } from '../../src/ports/services.js';

export const newLinkKey = () => randomBytes(32).toString('base64');

export async function startLinkEndpoint(
  handler: () => BlobLinkHandler,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    handler()({
      rawPath: url.pathname,
      queryStringParameters: Object.fromEntries(url.searchParams),
      requestContext: { http: { method: request.method ?? 'GET' } },
    }).then(
      (answer) => response.writeHead(answer.statusCode, answer.headers).end(answer.body),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The secret holding the link key in the AWS-shape tests (Secrets Manager is stood in by resolvers). */
export const LINK_KEY_ARN =
  'arn:aws:secretsmanager:us-east-1:000000000000:secret:idlehook/test/blob-link-key-AbCdEf';
const TEST_LINK_KEY = Buffer.alloc(32, 42).toString('base64');

/** Link settings for runs that build events but never follow their links. */
export const UNFETCHED_LINKS = {
  IDLEHOOK_BLOB_LINK_URL: 'http://127.0.0.1:9/links',
  IDLEHOOK_BLOB_LINK_KEY_ARN: LINK_KEY_ARN,
} as const;

/** A resolver that also answers the link key's ARN. */
export function withLinkKey(resolver: SecretResolver): SecretResolver {
  return {
    resolve: (arn) => (arn === LINK_KEY_ARN ? Promise.resolve(TEST_LINK_KEY) : resolver.resolve(arn)),
  };
}
