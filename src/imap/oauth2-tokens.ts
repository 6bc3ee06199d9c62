import { createHash } from 'node:crypto';
import type { OAuth2Auth } from '../config/config.js';
import { errorMessage } from '../domain/errors.js';
import { ForbiddenDestinationError } from '../domain/networks.js';
import type { Clock } from '../ports/services.js';
import type {
  OAuth2TokenStore,
  StoredOAuth2Tokens,
  TokenEndpoint,
  TokenEndpointAnswer,
} from '../ports/watcher.js';
import { ImapConnectionError } from './connection-failure.js';

/** Refresh this long before the access token expires, so a login never presents one that is about to. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;
const TOKEN_REQUEST_TIMEOUT_MS = 15_000;

interface TokenResponse {
  access_token?: unknown;
  expires_in?: unknown;
  refresh_token?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/**
 * Access tokens for one OAuth2 account: refreshed from the refresh token before they expire (RFC 6749 section
 * 6), after the server rejected one, and kept with any rotated refresh token in the token store so a restart
 * does not fall back to a refresh token the provider has already replaced. Token values are never logged.
 */
export class OAuth2Tokens {
  private current: StoredOAuth2Tokens | undefined;
  private readonly configuredTokenHash: string;

  constructor(
    private readonly account: string,
    private readonly settings: OAuth2Auth,
    private readonly clock: Clock,
    private readonly store: OAuth2TokenStore | undefined,
    private readonly endpoint: TokenEndpoint,
  ) {
    this.configuredTokenHash = createHash('sha256').update(settings.refreshToken).digest('hex');
  }

  /** A usable access token; `fresh` when it was refreshed for this call (a rejection then is not staleness). */
  async accessToken(): Promise<{ accessToken: string; fresh: boolean }> {
    if (!this.current) {
      const stored = await this.store?.load(this.account);
      if (stored?.configuredTokenHash === this.configuredTokenHash) this.current = stored;
    }
    if (this.current && this.current.expiresAt - REFRESH_MARGIN_MS > this.clock.now()) {
      return { accessToken: this.current.accessToken, fresh: false };
    }
    this.current = await this.refresh(this.current?.refreshToken ?? this.settings.refreshToken);
    await this.store?.save(this.account, this.current);
    return { accessToken: this.current.accessToken, fresh: true };
  }

  /** The server rejected the access token: the next call refreshes it. */
  invalidate(): void {
    if (this.current) this.current = { ...this.current, expiresAt: 0 };
  }

  private async refresh(refreshToken: string): Promise<StoredOAuth2Tokens> {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: this.settings.clientId,
      ...(this.settings.clientSecret ? { client_secret: this.settings.clientSecret } : {}),
      ...(this.settings.scope ? { scope: this.settings.scope } : {}),
    });
    const endpoint = new URL(this.settings.tokenUrl).host;
    let response: TokenEndpointAnswer;
    try {
      response = await this.endpoint.post(this.settings.tokenUrl, form, TOKEN_REQUEST_TIMEOUT_MS);
    } catch (error) {
      if (error instanceof ForbiddenDestinationError)
        // Like a refused refresh token: nothing changes until the configuration does, so the long back-off.
        throw new ImapConnectionError(
          'authentication',
          'OAUTH2_TOKEN_ENDPOINT_FORBIDDEN',
          `${error.message}: idlehook does not send tokens there. Use the provider's public token endpoint, or allow the network (allowedNetworks) if it is your own.`,
          { cause: error },
        );
      throw new ImapConnectionError(
        'network',
        'OAUTH2_TOKEN_ENDPOINT_UNREACHABLE',
        `cannot reach the OAuth2 token endpoint ${endpoint} (${errorMessage(error)}): check oauth2.tokenUrl and the network.`,
        { cause: error },
      );
    }
    const body = (
      typeof response.body === 'object' && response.body !== null ? response.body : {}
    ) as TokenResponse;
    const ok = response.status >= 200 && response.status < 300;
    if (!ok || typeof body.access_token !== 'string') {
      const error = typeof body.error === 'string' ? body.error : `HTTP ${response.status}`;
      // invalid_grant / invalid_client are answers about the credentials: retrying soon cannot help.
      const rejected = response.status >= 400 && response.status < 500;
      throw new ImapConnectionError(
        rejected ? 'authentication' : 'network',
        rejected ? 'OAUTH2_REFRESH_REJECTED' : 'OAUTH2_TOKEN_ENDPOINT_FAILED',
        rejected
          ? `the OAuth2 token endpoint ${endpoint} refused the refresh token (${error}): it was revoked or expired, or the client id/secret is wrong. Authorize idlehook again and put the new refresh token in oauth2.refreshToken.`
          : `the OAuth2 token endpoint ${endpoint} failed (${error}); idlehook will try again.`,
      );
    }
    const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : Number(body.expires_in ?? 3600);
    return {
      configuredTokenHash: this.configuredTokenHash,
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : refreshToken,
      accessToken: body.access_token,
      expiresAt: this.clock.now() + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000,
    };
  }
}
