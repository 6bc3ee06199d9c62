import type { ReconnectPolicy } from '../domain/retry.js';
import type { SubscriptionConfig } from '../domain/subscriptions.js';

/** The validated, fully resolved configuration: paths absolute, secrets read, defaults filled in. */
export interface Config {
  readonly dataDir: string;
  /**
   * Where each account's password (or refresh token) came from, by account id, for messages about a rejected
   * login: an environment variable (the process's, or the config's envFile), a file, or the config itself.
   */
  readonly credentialSources: ReadonlyMap<string, string>;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly http: { readonly port: number; readonly public: PublicListenerConfig | undefined };
  readonly delivery: {
    readonly timeoutSeconds: number;
    readonly retryScheduleSeconds: readonly number[];
    readonly concurrency: number;
    /** Refuse webhooks to loopback, private and link-local addresses (always on in AWS mode). */
    readonly blockInternalAddresses: boolean;
    /** CIDR ranges reachable despite blockInternalAddresses. */
    readonly allowedNetworks: readonly string[];
    /** A subscription whose endpoint failed every attempt for this long is disabled (default 5 days). */
    readonly disableAfterFailingSeconds: number;
    /** The least wait before retrying an endpoint that answered 429 or 503 or timed out (default 60 s). */
    readonly overloadFloorSeconds: number;
    /** Requests in flight at once to one endpoint, so a slow one cannot take every delivery slot. */
    readonly maxInFlightPerEndpoint: number;
  };
  readonly reconnect: ReconnectPolicy;
  readonly imap: {
    readonly checkIntervalSeconds: number;
    readonly maxConcurrentLogins: number;
    readonly loginsPerSecond: number;
  };
  /** Local mode keeps raw messages, attachments and delivery records this long; dead letters stay until replayed. */
  readonly retention: { readonly days: number };
  readonly accounts: readonly AccountConfig[];
  readonly subscriptions: readonly SubscriptionConfig[];
  /** Whether the dashboard shows the subject and sender of the latest messages (off: ids and outcomes only). */
  readonly dashboard: { readonly showMessageDetails: boolean };
  /** The hosted OAuth2 connect flow; undefined when no provider's OAuth client is configured. */
  readonly connect: ConnectConfig | undefined;
}

/** The listener other machines reach (API and connect flow only): TLS here, or behind a stated proxy. */
export interface PublicListenerConfig {
  /** How clients and browsers reach it (https). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** PEM texts; undefined when a reverse proxy ends TLS. */
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
}

/** The hosted OAuth2 connect flow (`/connect/...`): OAuth clients per provider, and where users may return to. */
export interface ConnectConfig {
  /** Where users may be sent back after connecting: an exact origin and path, or a path prefix ending in "/". */
  readonly allowedRedirects: readonly string[];
  readonly linkValidSeconds: number;
  readonly providers: ReadonlyMap<string, ConnectProviderConfig>;
}

export interface ConnectProviderConfig {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly scope: string;
  readonly extraParameters: ReadonlyMap<string, string>;
  /** The IMAP server the connected accounts use, where not the provider's own (a proxy, or a test server). */
  readonly imap:
    | {
        readonly host: string;
        readonly port: number;
        readonly security: 'tls' | 'starttls';
        /** PEM text of an extra CA. */
        readonly ca: string | undefined;
      }
    | undefined;
}

/**
 * Seconds: 1 s growing to 5 min after a lost connection; 5 min growing to an hour after a rejected login. A server
 * that was reachable is reported unreachable (account.error) once it has been so for 2 minutes: a restart or a
 * network blip is only logged.
 */
export const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = {
  minDelaySeconds: 1,
  maxDelaySeconds: 300,
  authFailureDelaySeconds: 300,
  maxAuthFailureDelaySeconds: 3600,
  outageGraceSeconds: 120,
};

export interface LoginLimits {
  /** TLS handshakes and logins in progress at once, across every account of the process. */
  readonly maxConcurrent: number;
  /** Logins started per second, across every account of the process. */
  readonly perSecond: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { maxConcurrent: 16, perSecond: 100 };

export interface AccountConfig {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly security: 'tls' | 'starttls' | 'none';
  readonly user: string;
  readonly auth: PasswordAuth | OAuth2Auth;
  /** Connections the provider allows at once; each watched mailbox holds one. */
  readonly connectionLimit: number | undefined;
  readonly tls: { readonly ca: string | undefined; readonly servername: string | undefined };
  readonly mailboxes: readonly string[];
  readonly initialSync: 'new' | 'all';
}

export interface PasswordAuth {
  readonly kind: 'password';
  readonly password: string;
}

/** XOAUTH2 / OAUTHBEARER with access tokens from a refresh token (RFC 6749 section 6). */
export interface OAuth2Auth {
  readonly kind: 'oauth2';
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly refreshToken: string;
  readonly scope: string | undefined;
}
