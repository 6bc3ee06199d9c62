import { existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../../config/config.js';
import { ConfigError, loadConfig } from '../../config/load-config.js';
import { errorMessage } from '../../domain/errors.js';
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
 * The signing secret of the config's subscription to this receiver (a loopback URL on `port`), as `idlehook init`
 * writes one: so `listen` needs no `--secret` after `init`.
 */
function configuredSecret(
  file: string,
  port: number,
): { readonly secret: string; readonly subscription: string; readonly file: string } | undefined {
  if (!existsSync(file)) return undefined;
  let config: Config;
  try {
    config = loadConfig(file);
  } catch (error) {
    process.stderr.write(`Not using the secrets in ${file}: ${errorMessage(error)}\n`);
    return undefined;
  }
  const target = config.subscriptions.find((subscription) => {
    const url = new URL(subscription.url);
    return LOOPBACK_HOSTS.has(url.hostname) && Number(url.port || 80) === port;
  });
  const [current] = target?.secrets ?? [];
  return target && current
    ? { secret: `whsec_${current.toString('base64')}`, subscription: target.id, file }
    : undefined;
}

const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);

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
    const port = Number(text(values, 'port'));
    const given = text(values, 'secret');
    const configFile = text(values, 'config') ?? '';
    let configured = given === undefined ? configuredSecret(configFile, port) : undefined;
    const secret = given ?? configured?.secret ?? newWebhookSecret();
    const problems = [];
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      problems.push({ path: '--port', message: 'a port number, 0-65535 (0: any free one)' });
    try {
      decodeWebhookSecret(secret);
    } catch (error) {
      problems.push({ path: '--secret', message: (error as Error).message });
    }
    if (problems.length > 0) throw new ConfigError('the command line', problems);
    let verifier = new Webhook(secret);
    const json = flag(values, 'json');
    // Without --secret, a config written after the start (`idlehook init` in another terminal) is picked up.
    let configSeenAt = configFile && existsSync(configFile) ? statSync(configFile).mtimeMs : 0;
    const followConfig = () => {
      if (given !== undefined || !existsSync(configFile)) return;
      const changedAt = statSync(configFile).mtimeMs;
      if (changedAt === configSeenAt) return;
      configSeenAt = changedAt;
      const found = configuredSecret(configFile, port);
      if (!found || found.secret === configured?.secret) return;
      configured = found;
      verifier = new Webhook(found.secret);
      process.stderr.write(
        `Now verifying with the secret of subscription ${found.subscription} in ${found.file}.\n`,
      );
    };

    const server = createServer(async (request, response) => {
      const body = await readBody(request).catch(() => undefined);
      const id = String(request.headers['webhook-id'] ?? '');
      if (body === undefined) {
        response.writeHead(413).end();
        out(`rejected  ${id || '(no webhook-id)'}: body over ${MAX_BODY_BYTES} bytes`);
        return;
      }
      followConfig();
      let event: unknown;
      try {
        event = verifier.verify(body, {
          'webhook-id': id,
          'webhook-timestamp': String(request.headers['webhook-timestamp'] ?? ''),
          'webhook-signature': String(request.headers['webhook-signature'] ?? ''),
        });
      } catch (error) {
        response.writeHead(400, { 'content-type': 'text/plain' }).end('signature not verified\n');
        const reason = (error as Error).message;
        // A signature that does not match is almost always a different secret: say which one this side used.
        const source =
          given !== undefined
            ? 'the one given with --secret'
            : configured
              ? `subscription ${configured.subscription}'s in ${configured.file}`
              : 'the one this listen made and printed at its start';
        out(
          `rejected  ${id || '(no webhook-id)'}: ${reason}` +
            (/signature/i.test(reason)
              ? `. The sender probably signs with another secret than this listen's (${source}): give the subscription that secret, or start listen with --secret.`
              : ''),
        );
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
        : configured
          ? `Listening on ${url}, verifying with the secret of subscription ${configured.subscription} in ${configured.file}.\n`
          : `Listening on ${url}. Give the subscription this secret: ${secret}\n`,
    );
    const stop = () => server.close(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return -1;
  },
};
