import type { HttpSender, WebhookRequest, WebhookResponse } from '../../ports/index.js';

function describeFetchError(error: unknown, timeoutMs: number): string {
  const err = error as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError')
    return `timed out after ${timeoutMs / 1000} s`;
  const code = err.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `DNS lookup failed (${code})`;
  if (code) return `${code}: ${err.cause?.message ?? err.message}`;
  return err.cause?.message ?? err.message;
}

const MAX_DRAINED_BYTES = 64 * 1024;

/** Reads a small response to its end so the keep-alive connection is reused; gives up on a large one. */
async function drain(response: Response): Promise<void> {
  if (!response.body) return;
  const reader = response.body.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    bytes += value.byteLength;
    if (bytes > MAX_DRAINED_BYTES) {
      await reader.cancel();
      return;
    }
  }
}

/**
 * Node's fetch: keep-alive connection reuse, no redirects followed (a 3xx counts as a failed attempt, as
 * Standard Webhooks specifies), and the response body drained but never kept.
 */
export class FetchHttpSender implements HttpSender {
  async send(request: WebhookRequest): Promise<WebhookResponse> {
    const started = performance.now();
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(request.timeoutMs),
      });
      await drain(response);
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        durationMs: performance.now() - started,
      };
    } catch (error) {
      return { error: describeFetchError(error, request.timeoutMs), durationMs: performance.now() - started };
    }
  }
}
