// OAuth2 token requests (the watcher's refresh, the doctor's, the connect flow's code exchange) go through one
// adapter, and a guard keeps them off internal addresses. A local listener stands in for an internal service: it
// must receive nothing. (Redirects: oauth2-redirect.test.ts.)
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DestinationGuard } from '../../src/adapters/http/destination-guard.js';
import { HttpTokenEndpoint } from '../../src/adapters/http/token-endpoint.js';
import type { OAuth2Auth } from '../../src/config/config.js';
import { ImapConnectionError } from '../../src/imap/connection-failure.js';
import { OAuth2Tokens } from '../../src/imap/oauth2-tokens.js';

describe('OAuth2 token requests', () => {
  const received: string[] = [];
  let server: Server;
  let base = '';

  before(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        received.push(`${request.url} ${body}`);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ access_token: 'at-1', expires_in: 3600 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const settings = (tokenUrl: string): OAuth2Auth =>
    ({
      kind: 'oauth2',
      tokenUrl,
      clientId: 'client',
      clientSecret: 'client-secret',
      refreshToken: 'refresh-secret',
      scope: undefined,
    }) as unknown as OAuth2Auth;
  const tokensAt = (tokenUrl: string, guard?: DestinationGuard) =>
    new OAuth2Tokens(
      'a',
      settings(tokenUrl),
      { now: () => Date.now() },
      undefined,
      new HttpTokenEndpoint(guard),
    );

  it('refresh with the form and read the access token, where no guard applies', async () => {
    received.length = 0;
    assert.equal((await tokensAt(`${base}/token`).accessToken()).accessToken, 'at-1');
    assert.equal(received.length, 1);
    assert.match(received[0] ?? '', /grant_type=refresh_token&refresh_token=refresh-secret/);
  });

  it('are refused before any connection to an internal address, by IP and by name', async () => {
    received.length = 0;
    for (const url of [`${base}/token`, `${base.replace('127.0.0.1', 'localhost')}/token`]) {
      const error = await tokensAt(url, new DestinationGuard())
        .accessToken()
        .then(
          () => assert.fail('refreshed through an internal address'),
          (e: unknown) => e,
        );
      assert.ok(error instanceof ImapConnectionError);
      assert.equal(error.code, 'OAUTH2_TOKEN_ENDPOINT_FORBIDDEN', error.message);
      assert.equal(error.kind, 'authentication', 'the long back-off: nothing changes until the config does');
      assert.match(error.message, /internal address/);
    }
    assert.deepEqual(received, [], 'the internal service received nothing');
    // An allowed network is reached.
    assert.equal(
      (await tokensAt(`${base}/token`, new DestinationGuard(['127.0.0.0/8'])).accessToken()).accessToken,
      'at-1',
    );
  });
});
