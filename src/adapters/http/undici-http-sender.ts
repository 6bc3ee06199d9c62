import { Agent, request } from 'undici';
import type { HttpSender, WebhookRequest, WebhookResponse } from '../../ports/index.js';
import { DestinationGuard, ForbiddenDestinationError } from './destination-guard.js';

/** Response bodies are read only this far (then the connection is dropped rather than drained). */
const MAX_RESPONSE_BYTES = 64 * 1024;
/** The attempt log keeps this much of a response: enough for a receiver's error message. */
const RESPONSE_EXCERPT_BYTES = 1024;

/** Reads the start of a response body and discards the rest, up to the cap. */
async function excerptOf(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let readBytes = 0;
  for await (const chunk of body) {
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

function isTimeout(error: unknown): boolean {
  const err = error as Error & { code?: string };
  return (
    err.name === 'TimeoutError' ||
    err.name === 'AbortError' ||
    (err.code?.startsWith('UND_ERR_') === true && /TIMEOUT/.test(err.code))
  );
}

function describeError(error: unknown, timeoutMs: number): string {
  const err = error as Error & { code?: string };
  if (isTimeout(error)) return `timed out after ${timeoutMs / 1000} s`;
  if (err.code === 'ECONNREFUSED') return 'connection refused';
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return `DNS lookup failed (${err.code})`;
  return err.code ? `${err.code}: ${err.message}` : err.message;
}

/**
 * Webhook POSTs over undici (the HTTP client inside Node's fetch, used directly: less overhead per request),
 * with keep-alive connection reuse. Redirects are never followed: a 3xx is a failed attempt, as Standard
 * Webhooks specifies.
 */
export class UndiciHttpSender implements HttpSender {
  private readonly dispatcher: Agent;

  /** With a guard, requests to internal addresses are refused, checked on the address actually connected to. */
  constructor(private readonly guard?: DestinationGuard) {
    this.dispatcher = new Agent({
      keepAliveTimeout: 30_000,
      connections: 64,
      ...(guard ? { connect: { lookup: guard.lookup } } : {}),
    });
  }

  async send(webhook: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    try {
      this.guard?.checkUrl(webhook.url);
      const response = await request(webhook.url, {
        method: 'POST',
        headers: webhook.headers,
        body: webhook.body,
        dispatcher: this.dispatcher,
        signal: AbortSignal.timeout(webhook.timeoutMs),
      });
      const responseExcerpt = await excerptOf(response.body);
      const retryAfter = response.headers['retry-after'];
      return {
        status: response.statusCode,
        retryAfter: Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null),
        ...(responseExcerpt ? { responseExcerpt } : {}),
        durationMs: performance.now() - started,
      };
    } catch (error) {
      const refused = forbidden(error);
      if (refused)
        return { error: refused.message, permanent: true, durationMs: performance.now() - started };
      return {
        error: describeError(error, webhook.timeoutMs),
        ...(isTimeout(error) ? { timedOut: true } : {}),
        durationMs: performance.now() - started,
      };
    }
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/** Local mode's sender: SSRF protection only when the config asks for it (local endpoints are the norm). */
export function senderFor(delivery: {
  readonly blockInternalAddresses: boolean;
  readonly allowedNetworks: readonly string[];
}) {
  return new UndiciHttpSender(
    delivery.blockInternalAddresses ? new DestinationGuard(delivery.allowedNetworks) : undefined,
  );
}
