import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { getRequestListener } from '@hono/node-server';
import { type LocalHttpServer, startLocalHttpServer } from '../../src/adapters/local/local-http-server.js';
import { createHttpApp } from '../../src/app/http-app.js';

/** A raw GET: the path goes out byte for byte and `Host` is whatever the test says (fetch would normalise both). */
function get(url: string, path: string, host?: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers: host ? { host } : {} }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to GET ${path}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('the loopback HTTP server with the HTTP app', () => {
  let server: LocalHttpServer;
  before(async () => {
    const app = createHttpApp(
      {
        status: () => ({ accounts: { support: { host: 'imap.example.com' } } }),
        blobs: { read: async (key) => (key === 'raw/x.eml' ? Buffer.from('mail') : undefined) },
      },
      { debug() {}, info() {}, warn() {}, error() {} },
    );
    server = await startLocalHttpServer(0, getRequestListener(app.fetch));
  });
  after(async () => {
    await server?.close();
  });

  it('answers a malformed percent-encoding with 400 and keeps serving', async () => {
    for (const path of ['/%E0%A4%A', '/blobs/%', '/status%'])
      assert.equal((await get(server.url, path)).status, 400);
    assert.equal((await get(server.url, '/status')).status, 200);
  });

  it('refuses every route to a Host that is not a loopback name (DNS rebinding)', async () => {
    for (const host of [
      'evil.example',
      'evil.example:7465',
      '127.0.0.1.evil.example',
      'localhost.evil.example',
    ]) {
      for (const path of ['/status', '/blobs/raw/x.eml', '/nothing']) {
        const { status, body } = await get(server.url, path, host);
        assert.equal(status, 421, `${host} ${path}`);
        assert.doesNotMatch(body, /imap\.example\.com|mail/);
      }
    }
  });

  it('serves loopback names, with and without a port', async () => {
    const { port } = new URL(server.url);
    for (const host of [
      '127.0.0.1',
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      'LOCALHOST',
      `[::1]:${port}`,
    ]) {
      assert.equal((await get(server.url, '/status', host)).status, 200, host);
    }
    assert.equal((await get(server.url, '/blobs/raw/x.eml', `localhost:${port}`)).body, 'mail');
  });
});
