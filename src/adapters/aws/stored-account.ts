import type { AccountSettings } from '../../config/account-settings.js';
import type { AccountListing } from '../../ports/management.js';

/**
 * An account as stored: its settings, and its credentials either sealed in the item (written by the API and the
 * CLI) or in a Secrets Manager secret the item names (an operator's, given by ARN, or one stored before sealing).
 */
export interface StoredAccount {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly security: 'tls' | 'starttls' | 'none';
  readonly user: string;
  /** Password accounts: the password, sealed (CredentialSealer)... */
  readonly sealedPassword?: string;
  /** ...or the secret holding it. */
  readonly passwordSecretArn?: string;
  /** OAuth2 accounts: JSON { "refreshToken", "clientSecret"? }, sealed or in the secret named. */
  readonly oauth2?: {
    readonly tokenUrl: string;
    readonly clientId: string;
    readonly scope?: string;
    readonly sealedSecret?: string;
    readonly secretArn?: string;
  };
  readonly connectionLimit?: number;
  /** PEM of an extra CA to trust, inline. */
  readonly tlsCa?: string;
  readonly tlsServername?: string;
  readonly mailboxes: readonly string[];
  readonly initialSync: 'new' | 'all';
}

/** The credential fields of a stored account. */
export type StoredCredentials = Pick<StoredAccount, 'sealedPassword' | 'passwordSecretArn' | 'oauth2'>;

/** What is stored of an account: its settings, flattened, and its credentials or where they are. */
export function storedAccountOf(settings: AccountSettings, credentials: StoredCredentials): StoredAccount {
  const { tls, connectionLimit, ...rest } = settings;
  return {
    ...rest,
    ...credentials,
    ...(connectionLimit ? { connectionLimit } : {}),
    tlsCa: tls.ca,
    tlsServername: tls.servername,
  };
}

export function settingsOfStored(account: StoredAccount): AccountSettings {
  return {
    id: account.id,
    host: account.host,
    port: account.port,
    security: account.security,
    user: account.user,
    connectionLimit: account.connectionLimit,
    tls: { ca: account.tlsCa, servername: account.tlsServername },
    mailboxes: account.mailboxes,
    initialSync: account.initialSync,
  };
}

/** An account as listed: its settings and how it logs in, without opening its credentials. */
export function listingOf(account: StoredAccount): AccountListing {
  return { ...settingsOfStored(account), auth: { kind: account.oauth2 ? 'oauth2' : 'password' } };
}
