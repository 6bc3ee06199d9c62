import type { AccountConfig } from '../../src/config/config.js';

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
