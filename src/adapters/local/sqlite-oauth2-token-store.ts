import type { OAuth2TokenStore, StoredOAuth2Tokens } from '../../ports/watcher.js';
import type { LocalDatabase } from './database.js';

interface TokenRow {
  configured_token_hash: string;
  refresh_token: string;
  access_token: string;
  expires_at: number;
}

/**
 * Local mode's OAuth2 tokens, in the SQLite file in dataDir (which holds the other local secrets' derivatives
 * too, such as the blob URL key): keep that directory readable only by the user running idlehook.
 */
export class SqliteOAuth2TokenStore implements OAuth2TokenStore {
  private readonly statements;

  constructor(db: LocalDatabase) {
    this.statements = {
      load: db.prepare('SELECT * FROM oauth2_tokens WHERE account = ?'),
      save: db.prepare(
        `INSERT INTO oauth2_tokens (account, configured_token_hash, refresh_token, access_token, expires_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account) DO UPDATE SET configured_token_hash = excluded.configured_token_hash,
           refresh_token = excluded.refresh_token, access_token = excluded.access_token,
           expires_at = excluded.expires_at`,
      ),
    };
  }

  async load(account: string): Promise<StoredOAuth2Tokens | undefined> {
    const row = this.statements.load.get(account) as TokenRow | undefined;
    return (
      row && {
        configuredTokenHash: row.configured_token_hash,
        refreshToken: row.refresh_token,
        accessToken: row.access_token,
        expiresAt: row.expires_at,
      }
    );
  }

  // Written at once, not batched: a rotated refresh token must be durable before the old one stops working.
  async save(account: string, tokens: StoredOAuth2Tokens): Promise<void> {
    this.statements.save.run(
      account,
      tokens.configuredTokenHash,
      tokens.refreshToken,
      tokens.accessToken,
      tokens.expiresAt,
    );
  }
}
