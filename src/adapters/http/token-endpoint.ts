import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { TokenEndpoint, TokenEndpointAnswer } from '../../ports/watcher.js';
import type { DestinationGuard } from './destination-guard.js';

/** A token endpoint's answer is a small JSON object; anything longer is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;

async function readCapped(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    total += chunk.length;
    if (total > MAX_ANSWER_BYTES) {
      response.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * OAuth2 token requests (the watcher's refresh, the doctor's, the connect flow's code exchange) over node:http(s).
 * Redirects are never followed: one would re-send the refresh token, client secret or code wherever it points.
 * With a guard, internal addresses are refused on the address actually connected to, as for webhooks: a token
 * URL is user input wherever the API is reachable from other machines, and its answer is partly shown back.
 */
export class HttpTokenEndpoint implements TokenEndpoint {
  constructor(private readonly guard?: DestinationGuard) {}

  async post(url: string, form: URLSearchParams, timeoutMs: number): Promise<TokenEndpointAnswer> {
    this.guard?.checkUrl(url);
    const target = new URL(url);
    const body = form.toString();
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            'content-length': Buffer.byteLength(body),
          },
          signal: AbortSignal.timeout(timeoutMs),
          ...(this.guard ? { lookup: this.guard.lookup } : {}),
        },
        resolve,
      );
      request.on('error', reject);
      request.end(body);
    });
    const text = await readCapped(response);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.statusCode ?? 0, body: json };
  }
}
