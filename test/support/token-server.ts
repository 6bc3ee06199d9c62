import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small OAuth2 authorization server for the tests: an authorize endpoint that consents at once (the user is
 * `consentingUser`), the authorization-code grant with PKCE (RFC 7636, S256 only) and an ID token naming the
 * user, the refresh-token grant (RFC 6749 section 6), and token introspection (RFC 7662) that Dovecot's oauth2
 * passdb asks about every bearer token.
 */
export class TokenServer {
  /** Seconds an access token lives. */
  accessTokenSeconds = 3600;
  /** Issue a new refresh token with every refresh and retire the one used (as Microsoft does). */
  rotateRefreshTokens = false;
  refreshes = 0;
  introspections = 0;
  /** Who signs in at the authorize endpoint; undefined: the user declines (error=access_denied). */
  consentingUser: string | undefined = 'support';
  private readonly codes = new Map<string, { challenge: string; redirectUri: string; user: string }>();
  private readonly refreshTokens = new Set<string>();
  private readonly accessTokens = new Map<string, { user: string; expiresAt: number }>();
  private readonly server = createServer((request, response) => {
    if (request.url?.startsWith('/authorize?')) {
      response
        .writeHead(302, { location: this.authorize(new URL(request.url, 'http://x').searchParams) })
        .end();
      return;
    }
    void this.handle(request).then(({ status, body }) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
    );
  });

  /** Where the user's browser goes next: back to the client, with a code or an error. */
  private authorize(query: URLSearchParams): string {
    const back = new URL(query.get('redirect_uri') ?? '');
    back.searchParams.set('state', query.get('state') ?? '');
    const valid =
      query.get('response_type') === 'code' &&
      query.get('client_id') === 'idlehook-test' &&
      query.get('code_challenge_method') === 'S256';
    if (!valid || this.consentingUser === undefined) {
      back.searchParams.set('error', valid ? 'access_denied' : 'invalid_request');
      return back.toString();
    }
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, {
      challenge: query.get('code_challenge') ?? '',
      redirectUri: query.get('redirect_uri') ?? '',
      user: this.consentingUser,
    });
    back.searchParams.set('code', code);
    return back.toString();
  }

  private grantCode(form: URLSearchParams): { status: number; body: unknown } {
    const code = this.codes.get(form.get('code') ?? '');
    this.codes.delete(form.get('code') ?? '');
    const verifier = form.get('code_verifier') ?? '';
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (!code || code.redirectUri !== form.get('redirect_uri') || code.challenge !== challenge)
      return { status: 400, body: { error: 'invalid_grant' } };
    const accessToken = randomBytes(16).toString('hex');
    this.accessTokens.set(accessToken, {
      user: code.user,
      expiresAt: Date.now() + this.accessTokenSeconds * 1000,
    });
    const claims = Buffer.from(JSON.stringify({ preferred_username: code.user })).toString('base64url');
    return {
      status: 200,
      body: {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.accessTokenSeconds,
        refresh_token: this.issueRefreshToken(),
        id_token: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${claims}.`,
      },
    };
  }

  private async handle(request: IncomingMessage): Promise<{ status: number; body: unknown }> {
    const form = new URLSearchParams(await bodyOf(request));
    const reply = (status: number, body: unknown) => ({ status, body });
    if (request.url === '/token' && form.get('grant_type') === 'authorization_code') {
      if (form.get('client_id') !== 'idlehook-test') return reply(400, { error: 'invalid_client' });
      return this.grantCode(form);
    }
    if (request.url === '/token') {
      const token = form.get('refresh_token') ?? '';
      if (form.get('grant_type') !== 'refresh_token' || form.get('client_id') !== 'idlehook-test')
        return reply(400, { error: 'invalid_request' });
      if (!this.refreshTokens.has(token)) return reply(400, { error: 'invalid_grant' });
      this.refreshes += 1;
      const accessToken = randomBytes(16).toString('hex');
      this.accessTokens.set(accessToken, {
        user: 'support',
        expiresAt: Date.now() + this.accessTokenSeconds * 1000,
      });
      let refreshToken: string | undefined;
      if (this.rotateRefreshTokens) {
        this.refreshTokens.delete(token);
        refreshToken = this.issueRefreshToken();
      }
      return reply(200, {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: this.accessTokenSeconds,
        ...(refreshToken ? { refresh_token: refreshToken } : {}),
      });
    }
    if (request.url === '/introspect') {
      this.introspections += 1;
      const known = this.accessTokens.get(form.get('token') ?? '');
      const active = known !== undefined && known.expiresAt > Date.now();
      return reply(200, active ? { active: 'true', username: known.user } : { active: 'false' });
    }
    return reply(404, {});
  }

  issueRefreshToken(): string {
    const token = randomBytes(16).toString('hex');
    this.refreshTokens.add(token);
    return token;
  }

  /** Access tokens stop working; refresh tokens still work (a server-side session reset). */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** The user withdrew the grant: nothing works any more. */
  revokeEverything(): void {
    this.refreshTokens.clear();
    this.accessTokens.clear();
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
