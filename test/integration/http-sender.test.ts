import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NodeHttpSender } from '../../src/adapters/http/node-http-sender.js';
import { certificateFor } from '../support/dovecot.js';
import { freePort } from '../support/net.js';

/** What the webhook sender promises the delivery stage, against real HTTP servers on loopback. */
describe('the webhook HTTP sender', () => {
  const connections: string[] = [];
  const requests: { path: string; method: string; body: string; length: string | undefined }[] = [];
  const handlers = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>([
    ['/ok', (_req, res) => res.end('accepted')],
    ['/retry', (_req, res) => res.writeHead(503, { 'retry-after': '120' }).end('busy, come back later')],
    ['/redirect', (_req, res) => res.writeHead(302, { location: '/ok' }).end()],
    ['/silent', () => undefined],
    ['/stalls-body', (_req, res) => res.writeHead(200).write('started')],
    ['/huge', (_req, res) => res.writeHead(500).end('x'.repeat(8 * 1024 * 1024))],
  ]);
  let server: Server;
  let base = '';
  const sender = new NodeHttpSender();
  const post = (path: string, timeoutMs = 2_000) =>
    sender.send({
      url: `${base}${path}`,
      headers: { 'content-type': 'application/json' },
      body: '{"text":"caf\u00e9"}',
      timeoutMs,
    });

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        const path = req.url ?? '';
        requests.push({ path, method: req.method ?? '', body, length: req.headers['content-length'] });
        handlers.get(path)?.(req, res);
      });
    });
    server.on('connection', (socket) => connections.push(`${socket.remotePort}`));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await sender.close();
    server.closeAllConnections();
    server.close();
  });

  it('posts the body as given, with its length in bytes, and returns status and response excerpt', async () => {
    const response = await post('/ok');
    assert.equal(response.status, 200);
    assert.equal(response.responseExcerpt, 'accepted');
    assert.equal(response.error, undefined);
    assert.ok((response.durationMs ?? -1) >= 0);
    const received = requests.at(-1);
    assert.deepEqual(received, {
      path: '/ok',
      method: 'POST',
      body: '{"text":"caf\u00e9"}',
      length: String(Buffer.byteLength('{"text":"caf\u00e9"}')),
    });
  });

  it('keeps the connection alive between deliveries to the same endpoint', async () => {
    const before = connections.length;
    for (let i = 0; i < 5; i++) assert.equal((await post('/ok')).status, 200);
    assert.ok(connections.length - before <= 1, `${connections.length - before} new connections for 5 posts`);
  });

  it('passes Retry-After on and never follows a redirect', async () => {
    const retry = await post('/retry');
    assert.equal(retry.status, 503);
    assert.equal(retry.retryAfter, '120');
    assert.equal(retry.responseExcerpt, 'busy, come back later');
    const posted = requests.length;
    const redirect = await post('/redirect');
    assert.equal(redirect.status, 302);
    assert.equal(requests.length, posted + 1, 'the Location was not requested');
  });

  it('reads at most 1 KiB of a huge response and stops reading it', async () => {
    const response = await post('/huge', 10_000);
    assert.equal(response.status, 500);
    assert.equal(response.responseExcerpt, 'x'.repeat(1024));
  });

  it('times out a server that never answers, and one that stops sending its body', async () => {
    for (const path of ['/silent', '/stalls-body']) {
      const response = await post(path, 300);
      assert.equal(response.status, undefined, path);
      assert.equal(response.timedOut, true, path);
      assert.equal(response.error, 'timed out after 0.3 s', path);
      assert.ok((response.durationMs ?? 0) >= 250, `${path} took ${response.durationMs} ms`);
    }
    const after = await post('/ok');
    assert.equal(after.status, 200, 'the sender still delivers after timeouts');
  });

  it('reports a refused connection and an unknown host as errors, not statuses', async () => {
    const closed = await freePort();
    const refused = await sender.send({
      url: `http://127.0.0.1:${closed}/hook`,
      headers: {},
      body: '{}',
      timeoutMs: 2_000,
    });
    assert.equal(refused.status, undefined);
    assert.equal(refused.error, 'connection refused');
    const unknown = await sender.send({
      url: 'http://no-such-host.invalid/hook',
      headers: {},
      body: '{}',
      // Long enough for a resolver that answers slowly (EAI_AGAIN) to answer before the deadline.
      timeoutMs: 30_000,
    });
    assert.equal(unknown.status, undefined);
    assert.match(unknown.error ?? '', /^DNS lookup failed \((ENOTFOUND|EAI_AGAIN)\)$/);
  });

  it('verifies HTTPS certificates: one from an unknown CA is refused before anything is sent', async () => {
    const { certFile, keyFile } = certificateFor('ca-signed');
    let reached = false;
    const tls = createTlsServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, (_req, res) => {
      reached = true;
      res.end('ok');
    });
    tls.listen(0, '127.0.0.1');
    await once(tls, 'listening');
    try {
      const response = await sender.send({
        url: `https://localhost:${(tls.address() as AddressInfo).port}/hook`,
        headers: {},
        body: '{}',
        timeoutMs: 2_000,
      });
      assert.equal(response.status, undefined);
      assert.match(
        response.error ?? '',
        /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|unable to verify/,
      );
      assert.equal(reached, false);
    } finally {
      tls.close();
    }
  });
});
