import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { Webhook } from 'standardwebhooks';

/** The published JSON Schemas (schemas/*.schema.json), checked by ajv: code idlehook did not write. */
const schemaValidators = (() => {
  const ajv = new Ajv2020({ allErrors: true });
  addFormats.default(ajv);
  const dir = join(import.meta.dirname, '../../schemas');
  return new Map(
    readdirSync(dir)
      .filter((file) => file.endsWith('.schema.json'))
      .map((file) => {
        const schema = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { title: string };
        return [schema.title, ajv.compile(schema)] as const;
      }),
  );
})();

export interface ReceivedWebhook {
  readonly id: string;
  readonly timestamp: number;
  readonly type: string;
  readonly body: { type: string; timestamp: string; data: Record<string, unknown> & { [key: string]: any } };
  readonly receivedAt: number;
  /** Exactly what arrived, to verify again with another library or secret. */
  readonly raw: { readonly body: string; readonly headers: Record<string, string> };
}

/**
 * A loopback webhook receiver that verifies every request with the `standardwebhooks` package (code that
 * idlehook did not write). Requests that fail verification are counted and answered 400, never recorded.
 */
export class WebhookReceiver {
  readonly accepted: ReceivedWebhook[] = [];
  readonly attempts: { id: string; status: number }[] = [];
  /** Requests per webhook-id so far: a Map, so counting an attempt stays O(1) in a 10,000-webhook benchmark. */
  private readonly attemptsById = new Map<string, number>();
  invalidSignatures = 0;
  /** Accepted deliveries whose body does not match the published schema of its type. */
  readonly schemaViolations: { type: string; errors: unknown }[] = [];
  /** Decides each response; default 200. */
  respond: (id: string, attempt: number) => number = () => 200;
  /** While true, every connection is reset before an answer: the endpoint is down. */
  refuseConnections = false;
  /** How long each response takes (a slow receiver). */
  responseDelayMs = 0;
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** When each request arrived (ms since the epoch), in order. */
  readonly arrivals: number[] = [];
  private verifier: Webhook;
  private readonly listeners = new Set<() => void>();
  private server = createServer((request, response) => {
    if (this.refuseConnections) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    this.arrivals.push(Date.now());
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    response.on('close', () => {
      this.inFlight -= 1;
    });
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', async () => {
      if (this.responseDelayMs > 0) await new Promise((r) => setTimeout(r, this.responseDelayMs));
      const raw = Buffer.concat(chunks).toString('utf8');
      const id = String(request.headers['webhook-id'] ?? '');
      try {
        this.verifier.verify(raw, headersOf(request.headers));
      } catch {
        this.invalidSignatures += 1;
        response.writeHead(400).end('bad signature');
        return;
      }
      const attempt = (this.attemptsById.get(id) ?? 0) + 1;
      this.attemptsById.set(id, attempt);
      const status = this.respond(id, attempt);
      this.attempts.push({ id, status });
      if (status >= 200 && status < 300) {
        const body = JSON.parse(raw) as ReceivedWebhook['body'];
        const type = body.type;
        const validate = schemaValidators.get(type);
        if (!validate) this.schemaViolations.push({ type, errors: 'no published schema' });
        else if (!validate(body as unknown)) this.schemaViolations.push({ type, errors: validate.errors });
        this.accepted.push({
          id,
          timestamp: Number(request.headers['webhook-timestamp']),
          type: body.type,
          body,
          receivedAt: performance.now(),
          raw: { body: raw, headers: headersOf(request.headers) },
        });
        for (const listener of this.listeners) listener();
      }
      response
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status >= 200 && status < 300 ? 'ok' : `refused with ${status}`);
    });
  });

  constructor(public secret: string) {
    this.verifier = new Webhook(secret);
  }

  /** Verifies with `secret` from now on: one idlehook made when the subscription was created, say. */
  useSecret(secret: string): void {
    this.secret = secret;
    this.verifier = new Webhook(secret);
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  ofType(type: string): ReceivedWebhook[] {
    return this.accepted.filter((w) => w.type === type);
  }

  /** Resolves once `predicate` holds, re-checked on every accepted webhook and every 100 ms. */
  async waitUntil(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        cleanup();
        resolve();
      };
      const interval = setInterval(check, 100);
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearInterval(interval);
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function headersOf(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
  );
}

export function newWebhookSecret(): string {
  return `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}
