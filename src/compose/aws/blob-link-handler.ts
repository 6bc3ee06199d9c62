import { BLOB_PREFIXES } from '../../domain/blob-keys.js';
import { checkBlobLink } from '../../domain/blob-links.js';
import type { Clock } from '../../ports/services.js';

/** The parts of a Lambda function URL request (payload format 2.0) a link needs. */
export interface LinkRequest {
  readonly rawPath: string;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>>;
  readonly requestContext?: { readonly http?: { readonly method?: string } };
}

export interface LinkResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export type BlobLinkHandler = (request: LinkRequest) => Promise<LinkResponse>;

/** Links serve what events link to, nothing else in the bucket (dead letters, overflow, state). */
const LINKABLE = [BLOB_PREFIXES.raw, BLOB_PREFIXES.attachments];

const answer = (
  statusCode: number,
  body: string,
  extra?: { allow?: string; location?: string },
): LinkResponse => ({
  statusCode,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra },
  body: `${body}\n`,
});

/**
 * The link endpoint: a valid, unexpired link is answered with a redirect to a presigned URL made now, with the
 * function's own credentials, so a link lives its documented 7 days whatever signed the event.
 */
export function createBlobLinkHandler(deps: {
  readonly key: () => Promise<Buffer>;
  readonly presign: (key: string) => Promise<string>;
  readonly clock: Clock;
}): BlobLinkHandler {
  return async (request) => {
    const method = request.requestContext?.http?.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') return answer(405, 'only GET', { allow: 'GET, HEAD' });
    const query = request.queryStringParameters ?? {};
    const check = checkBlobLink(request.rawPath, query, deps.clock.now(), await deps.key());
    if (check.kind === 'forged') return answer(403, 'this link is not valid');
    if (check.kind === 'expired') return answer(410, 'this link has expired (links last 7 days)');
    if (!LINKABLE.some((prefix) => check.key.startsWith(prefix)))
      return answer(403, 'this link is not valid');
    return answer(302, 'found', { location: await deps.presign(check.key) });
  };
}
