import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { HttpTokenEndpoint } from '../../src/adapters/http/token-endpoint.js';
import { OAuth2Tokens } from '../../src/imap/oauth2-tokens.js';

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('OAuth2 token requests and redirects', () => {
  const servers: Server[] = [];
  after(() => {
    for (const server of servers) server.close();
  });

  it('never follows a redirect: the refresh token and client secret go to the configured endpoint only', async () => {
    const elsewhere: string[] = [];
    const collector = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on('end', () => {
        elsewhere.push(body);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x"}');
      });
    });
    const collectorUrl = await listen(collector);
    // A token endpoint that answers 307: fetch would re-send the POST body, secrets and all, to the new place.
    const redirecting = createServer((_request, response) => {
      response.writeHead(307, { location: `${collectorUrl}/token` }).end();
    });
    const tokenUrl = `${await listen(redirecting)}/token`;
    servers.push(collector, redirecting);

    const tokens = new OAuth2Tokens(
      'support',
      {
        kind: 'oauth2',
        tokenUrl,
        clientId: 'idlehook',
        clientSecret: 'client-secret-value',
        refreshToken: 'refresh-token-value',
        scope: undefined,
      },
      { now: () => Date.now() },
      undefined,
      new HttpTokenEndpoint(),
    );
    await assert.rejects(tokens.accessToken(), /OAUTH2|token endpoint/i);
    assert.deepEqual(elsewhere, [], 'nothing reached the redirect target');
  });
});
