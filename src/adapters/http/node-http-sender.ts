import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { ForbiddenDestinationError } from '../../domain/networks.js';
import type { HttpSender, WebhookRequest, WebhookResponse } from '../../ports/pipeline.js';
import type { DestinationGuard } from './destination-guard.js';

/** Response bodies are read only this far (then the connection is dropped rather than drained). */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** The attempt log keeps this much of a response: enough for a receiver's error message. */
const RESPONSE_EXCERPT_BYTES = 1024;
/** An idle keep-alive connection is closed after this long (sooner when the server's Keep-Alive says so). */
const KEEP_ALIVE_MS = 30_000;
/** Connections per endpoint origin (as undici's pool had); deliveries beyond them wait for a free one. */
const CONNECTIONS_PER_ORIGIN = 64;

/** Reads the start of a response body and discards the rest, up to the cap. */
async function excerptOf(body: IncomingMessage): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (keptBytes < RESPONSE_EXCERPT_BYTES) {
      const part = chunk.subarray(0, RESPONSE_EXCERPT_BYTES - keptBytes);
      kept.push(part);
      keptBytes += part.length;
    }
    readBytes += chunk.length;
    if (readBytes >= MAX_RESPONSE_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(kept).toString('utf8');
}

function forbidden(error: unknown): ForbiddenDestinationError | undefined {
  const err = error as Error & { cause?: unknown };
  if (err instanceof ForbiddenDestinationError) return err;
  return err.cause instanceof ForbiddenDestinationError ? err.cause : undefined;
}

function describeError(error: unknown): string {
  const err = error as Error & { code?: string };
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `DNS lookup failed (${err.code})`;
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

/**
 * Webhook POSTs over Node's own HTTP client, with keep-alive connection reuse. The undici client this replaced
 * cost an idle bridge 5-7 MiB and a burst about 20 MiB more, for no gain per request (docs/benchmarks.md).
 * Redirects are never followed: a 3xx is a failed attempt, as Standard Webhooks specifies.
 */
export class NodeHttpSender implements HttpSender {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;

  /** With a guard, requests to internal addresses are refused, checked on the address actually connected to. */
  constructor(private readonly guard?: DestinationGuard) {
    const options = {
      keepAlive: true,
      timeout: KEEP_ALIVE_MS,
      maxSockets: CONNECTIONS_PER_ORIGIN,
      ...(guard ? { lookup: guard.lookup } : {}),
    };
    this.http = new HttpAgent(options);
    this.https = new HttpsAgent(options);
  }

  async send(webhook: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    // One deadline for connecting, sending and reading the response; whatever error its abort surfaces as
    // (an AbortError, or a reset while the body was being read), it was the timeout.
    const deadline = AbortSignal.timeout(webhook.timeoutMs);
    try {
      this.guard?.checkUrl(webhook.url);
      const response = await this.post(webhook, deadline);
      const responseExcerpt = await excerptOf(response);
      const retryAfter = response.headers['retry-after'];
      return {
        status: response.statusCode ?? 0,
        retryAfter: retryAfter ?? null,
        ...(responseExcerpt ? { responseExcerpt } : {}),
        durationMs: performance.now() - started,
      };
    } catch (error) {
      const refused = forbidden(error);
      if (refused)
        return { error: refused.message, permanent: true, durationMs: performance.now() - started };
      if (deadline.aborted)
        return {
          error: `timed out after ${webhook.timeoutMs / 1000} s`,
          timedOut: true,
          durationMs: performance.now() - started,
        };
      return {
        error: describeError(error),
        ...((error as NodeJS.ErrnoException).code === 'ECONNREFUSED' ? { refused: true } : {}),
        durationMs: performance.now() - started,
      };
    }
  }

  /** Resolves with the response once its head has arrived; `deadline` also bounds reading its body. */
  private post(webhook: WebhookRequest, deadline: AbortSignal): Promise<IncomingMessage> {
    const url = new URL(webhook.url);
    const secure = url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const request = (secure ? httpsRequest : httpRequest)(
        url,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          headers: { ...webhook.headers, 'content-length': Buffer.byteLength(webhook.body) },
          signal: deadline,
        },
        resolve,
      );
      request.on('error', reject);
      request.end(webhook.body);
    });
  }

  async close(): Promise<void> {
    this.http.destroy();
    this.https.destroy();
  }
}
