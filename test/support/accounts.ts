import { readFileSync } from 'node:fs';
import type { StoredAccount } from '../../src/adapters/aws/stored-account.js';
import type { AccountConfig } from '../../src/config/config.js';
import type { DovecotServer } from './dovecot.js';

/** A password account as the config loader would produce it; tests override what they exercise. */
export function accountConfig(overrides: Partial<AccountConfig> = {}): AccountConfig {
  return {
    id: 'support',
    host: 'imap.example.com',
    port: 993,
    security: 'tls',
    user: 'u',
    auth: { kind: 'password', password: 'p' },
    connectionLimit: undefined,
    tls: { ca: undefined, servername: undefined },
    mailboxes: ['INBOX'],
    initialSync: 'new',
    ...overrides,
  };
}

/**
 * An account as the AWS account table stores it, for a user of the test Dovecot over implicit TLS with its own
 * CA; tests override what they exercise (the port of a relay, several mailboxes).
 */
export function storedDovecotAccount(
  dovecot: Pick<DovecotServer, 'tlsPort' | 'caFile'>,
  id: string,
  overrides: Partial<StoredAccount> = {},
): StoredAccount {
  return {
    id,
    host: '127.0.0.1',
    port: dovecot.tlsPort,
    security: 'tls',
    user: id,
    tlsCa: readFileSync(dovecot.caFile, 'utf8'),
    tlsServername: 'localhost',
    mailboxes: ['INBOX'],
    initialSync: 'new',
    ...overrides,
  };
}
