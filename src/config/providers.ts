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
