import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgeProcess, runIdlehook } from '../support/bridge.js';
import { certificateFor } from '../support/dovecot.js';
import { freePort } from '../support/net.js';
import { newWebhookSecret, WebhookReceiver } from '../support/receiver.js';

const { caFile, certFile, keyFile } = certificateFor('ca-signed');

/** An HTTPS request that trusts the test CA, as a client on another machine would (with its own CA store). */
function https(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        headers: options.headers,
        ca: readFileSync(caFile),
        servername: 'localhost',
      },
      (r) => {
        let body = '';
        r.on('data', (d: Buffer) => {
          body += d.toString();
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('the public listener (http.public): the API and the connect flow for other machines, over TLS', () => {
  let bridge: BridgeProcess;
  let base = '';
  let token = '';
  const receiver = new WebhookReceiver(newWebhookSecret());

  before(async () => {
    const [port, loopback] = [await freePort(), await freePort()];
    base = `https://localhost:${port}`;
    bridge = await BridgeProcess.create(
      {
        http: {
          port: loopback,
          public: { url: base, host: '127.0.0.1', port, tls: { cert: certFile, key: keyFile } },
        },
        // The test's receiver is on loopback, which the public listener's SSRF protection otherwise refuses.
        delivery: { allowedNetworks: ['127.0.0.0/8'] },
        subscriptions: [{ id: 'hook', url: await receiver.listen(), secret: { env: 'HOOK_SECRET' } }],
        connect: {
          allowedRedirects: ['https://app.example.com/'],
          providers: {
            gmail: {
              clientId: 'app',
              authorizeUrl: 'https://auth.example/authorize',
              tokenUrl: 'https://auth.example/token',
            },
          },
        },
      },
      { HOOK_SECRET: receiver.secret },
    );
    bridge.url = `http://127.0.0.1:${loopback}`;
    await bridge.start();
    token = /ihk_\S+/.exec((await bridge.cli('tokens', 'create')).stdout)?.[0] ?? '';
    assert.ok(token);
  });
  after(async () => {
    await bridge?.dispose();
    await receiver.close();
  });

  it('puts its own URL in the links of events, and serves those signed links (only those) to other machines', async () => {
    assert.equal((await bridge.cli('trigger', 'message.received')).code, 0);
    await receiver.waitUntil(
      () => receiver.ofType('message.received').length > 0,
      15_000,
      'the sample event',
    );
    const [event] = receiver.ofType('message.received');
    assert.ok(event);
    const raw = (event.body.data as { raw: { url: string } }).raw.url;
    assert.ok(raw.startsWith(`${base}/blobs/raw/`), raw);
    const fetched = await https(raw);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.headers['content-type'], 'message/rfc822');
    assert.match(fetched.body, /^(From|Date|Subject|Message-ID|MIME-Version):/im);
    const unsigned = new URL(raw);
    unsigned.searchParams.set('signature', 'x');
    assert.equal((await https(unsigned.toString())).status, 404);
  });

  it('serves the API with its tokens, and nothing of the loopback-only routes', async () => {
    const status = await https(`${base}/v1/status`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(status.status, 200, status.body);
    assert.deepEqual(JSON.parse(status.body).accounts, { total: 0, failing: 0, failingIds: [] });
    assert.equal((await https(`${base}/v1/status`)).status, 401);
    for (const path of ['/status', '/metrics', '/dashboard', '/blobs/raw/x.eml'])
      assert.equal((await https(`${base}${path}`)).status, 404, path);
    const foreign = await https(`${base}/v1/status`, {
      headers: { host: 'evil.example', authorization: `Bearer ${token}` },
    });
    assert.equal(foreign.status, 421);
  });

  it('makes connect links on its own URL, and the provider sends users back there', async () => {
    const made = await https(`${base}/v1/connect-links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        provider: 'gmail',
        account: 'customer-9',
        redirect: 'https://app.example.com/done',
      }),
    });
    assert.equal(made.status, 201, made.body);
    const { url } = JSON.parse(made.body) as { url: string };
    assert.ok(url.startsWith(`${base}/connect/gmail?`), url);
    const toProvider = await https(url);
    assert.equal(toProvider.status, 302);
    const authorize = new URL(String(toProvider.headers.location));
    assert.equal(authorize.origin, 'https://auth.example');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${base}/connect/callback`);
  });

  it('refuses to start listening beyond loopback without TLS or a stated proxy, naming the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idlehook-public-'));
    const file = join(dir, 'idlehook.config.json');
    for (const [listener, field] of [
      [{ url: 'https://mail.example.com', port: 8443 }, 'http.public.tls'],
      [{ url: 'http://mail.example.com', port: 8080, behindProxy: true }, 'http.public.url'],
    ] as const) {
      writeFileSync(
        file,
        JSON.stringify({ dataDir: join(dir, 'data'), http: { port: 0, public: listener } }),
      );
      const run = await runIdlehook(['run', '--config', file]);
      assert.equal(run.code, 78, run.stderr);
      assert.match(run.stderr, new RegExp(`- ${field.replace(/\./g, '\\.')}: `));
    }
    const taken = Number(new URL(base).port); // the running bridge's public port
    writeFileSync(
      file,
      JSON.stringify({
        dataDir: join(dir, 'data'),
        http: {
          port: 0,
          public: { url: 'https://localhost', host: '127.0.0.1', port: taken, behindProxy: true },
        },
      }),
    );
    const busy = await runIdlehook(['run', '--config', file]);
    assert.equal(busy.code, 78, busy.stderr);
    assert.match(busy.stderr, /- http\.public\.port: \d+ is in use/);
  });
});
