/** What a provider preset fills in: connection settings people otherwise look up. */
export interface ProviderPreset {
  readonly host: string;
  readonly port: number;
  readonly security: 'tls';
  /** Simultaneous IMAP connections the provider allows per account, where it documents one. */
  readonly connectionLimit?: number;
  /** Its OAuth2 token endpoint, for accounts that use OAuth2 rather than an app password. */
  readonly tokenUrl?: string;
}

export const PROVIDER_NAMES = ['gmail', 'outlook', 'icloud', 'yahoo', 'fastmail'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export const PROVIDERS: Readonly<Record<ProviderName, ProviderPreset>> = {
  gmail: {
    host: 'imap.gmail.com',
    port: 993,
    security: 'tls',
    connectionLimit: 15,
    tokenUrl: 'https://oauth2.googleapis.com/token',
  },
  outlook: {
    host: 'outlook.office365.com',
    port: 993,
    security: 'tls',
    connectionLimit: 20,
    tokenUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
  },
  icloud: { host: 'imap.mail.me.com', port: 993, security: 'tls' },
  yahoo: { host: 'imap.mail.yahoo.com', port: 993, security: 'tls' },
  fastmail: { host: 'imap.fastmail.com', port: 993, security: 'tls' },
};

/** Where a provider asks its user for consent (the hosted connect flow), and what idlehook asks for. */
export interface ConnectPreset {
  readonly authorizeUrl: string;
  /** IMAP access, a refresh token, and the address (OpenID Connect's `email` claim) to log in as. */
  readonly scope: string;
  /** Parameters the provider needs to issue a refresh token every time. */
  readonly extraParameters: ReadonlyMap<string, string>;
}

export const CONNECT_PROVIDER_NAMES = ['gmail', 'outlook'] as const;
export type ConnectProviderName = (typeof CONNECT_PROVIDER_NAMES)[number];

export const CONNECT_PRESETS: ReadonlyMap<ConnectProviderName, ConnectPreset> = new Map([
  [
    'gmail',
    {
      authorizeUrl: 'https://accounts.google.com/o/oauth2/v2/auth',
      scope: 'https://mail.google.com/ openid email',
      extraParameters: new Map([
        ['access_type', 'offline'],
        ['prompt', 'consent'],
      ]),
    },
  ],
  [
    'outlook',
    {
      authorizeUrl: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
      scope: 'https://outlook.office.com/IMAP.AccessAsUser.All offline_access openid email',
      extraParameters: new Map(),
    },
  ],
]);
