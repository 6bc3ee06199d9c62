import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { ConfigError } from '../../config/load-config.js';
import { decodeWebhookSecret, newWebhookSecret } from '../../domain/signing.js';
import { type Command, flag, text } from '../command.js';

/** Requests larger than this are refused: events are small, their mail content is behind links. */
const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** One line for an event: what it is about, without its content (a subject, not a body). */
function summaryOf(body: unknown): string {
  const event = (body ?? {}) as { type?: unknown; data?: Record<string, unknown> };
  const data = event.data ?? {};
  const parts = [String(event.type ?? '?')];
  for (const field of ['account', 'mailbox', 'subscriptionId', 'code'])
    if (typeof data[field] === 'string') parts.push(`${field}=${data[field]}`); // trusted key: names in code
  if (typeof data.uid === 'number') parts.push(`uid=${data.uid}`);
  if (typeof data.subject === 'string') parts.push(`subject=${JSON.stringify(data.subject)}`);
  return parts.join(' ');
}

function readBody(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) resolve(undefined);
      else chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

/**
 * A webhook receiver on this machine, in the manner of `stripe listen`: it checks each request's signature with
 * the Standard Webhooks library (not idlehook's own signing code) and prints a line per event.
 */
export const listenCommand: Command = {
  name: 'listen',
  synopsis: '[--port N] [--secret whsec_...] [--json]',
  summary:
    'receive webhooks on 127.0.0.1, verify each signature and print the events\n' +
    '(without --secret, makes one to configure the subscription with)',
  scope: 'local',
  options: {
    port: { type: 'string', default: '7466' },
    secret: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run({ values, out }) {
    const given = text(values, 'secret');
    const secret = given ?? newWebhookSecret();
    const port = Number(text(values, 'port'));
    const problems = [];
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      problems.push({ path: '--port', message: 'a port number, 0-65535 (0: any free one)' });
    try {
      decodeWebhookSecret(secret);
    } catch (error) {
      problems.push({ path: '--secret', message: (error as Error).message });
    }
    if (problems.length > 0) throw new ConfigError('the command line', problems);
    const verifier = new Webhook(secret);
    const json = flag(values, 'json');

    const server = createServer(async (request, response) => {
      const body = await readBody(request).catch(() => undefined);
      const id = String(request.headers['webhook-id'] ?? '');
      if (body === undefined) {
        response.writeHead(413).end();
        out(`rejected  ${id || '(no webhook-id)'}: body over ${MAX_BODY_BYTES} bytes`);
        return;
      }
      let event: unknown;
      try {
        event = verifier.verify(body, {
          'webhook-id': id,
          'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
          'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
        });
      } catch (error) {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('signature not verified\n');
        out(`rejected  ${id || '(no webhook-id)'}: ${(error as Error).message}`);
        return;
      }
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      out(
        json
          ? JSON.stringify({ id, ...(event as object) })
          : `${new Date().toISOString()}  ${id}  ${summaryOf(event)}`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', resolve);
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    process.stderr.write(
      given
        ? `Listening on ${url}, verifying with the secret given.\n`
        : `Listening on ${url}. Give the subscription this secret: ${secret}\n`,
    );
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return -1;
  },
};
