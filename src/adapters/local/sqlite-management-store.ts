import {
  apiTokenHash,
  isTokenScope,
  newApiToken,
  newLoginCode,
  type TokenScope,
} from '../../domain/api-tokens.js';
import type { ApiTokenInfo, ApiTokenStore } from '../../ports/management.js';
import type { Clock } from '../../ports/services.js';
import type { LocalDatabase } from './database.js';

/** A managed item as stored: the request document it was created from (secrets inline), by id. */
export interface StoredDocument {
  readonly id: string;
  readonly document: unknown;
}

/** Tokens of the management API and login links' codes, hashed (local mode). */
export class SqliteApiTokens implements ApiTokenStore {
  constructor(
    private readonly db: LocalDatabase,
    private readonly clock: Clock,
  ) {}

  create(
    name: string,
    scope: TokenScope,
    expiresAt?: number,
  ): { readonly id: string; readonly token: string } {
    const { id, token } = newApiToken();
    this.insert(id, name, scope, token, 'token', expiresAt);
    return { id, token };
  }

  createLoginCode(scope: TokenScope, expiresAt: number): string {
    const code = newLoginCode();
    this.insert(newApiToken().id, 'dashboard login link', scope, code, 'login-code', expiresAt);
    return code;
  }

  redeemLoginCode(code: string): TokenScope | undefined {
    const row = this.db
      .prepare("DELETE FROM api_tokens WHERE hash = ? AND kind = 'login-code' RETURNING scope, expires_at")
      .get(apiTokenHash(code)) as { scope: unknown; expires_at: number } | undefined;
    if (!row || row.expires_at <= this.clock.now()) return undefined;
    return isTokenScope(row.scope) ? row.scope : undefined;
  }

  list(): ApiTokenInfo[] {
    const rows = this.db
      .prepare(
        "SELECT id, name, scope, created_at, last_used_at, expires_at FROM api_tokens WHERE kind = 'token' ORDER BY created_at, id",
      )
      .all() as {
      id: string;
      name: string;
      scope: TokenScope;
      created_at: number;
      last_used_at: number | null;
      expires_at: number | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      scope: r.scope,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at ?? undefined,
      expiresAt: r.expires_at ?? undefined,
    }));
  }

  any(): boolean {
    return (
      this.db
        .prepare(
          "SELECT 1 FROM api_tokens WHERE kind = 'token' AND (expires_at IS NULL OR expires_at > ?) LIMIT 1",
        )
        .get(this.clock.now()) !== undefined
    );
  }

  revoke(id: string): boolean {
    return this.db.prepare('DELETE FROM api_tokens WHERE id = ?').run(id).changes > 0;
  }

  verify(token: string): TokenScope | undefined {
    const now = this.clock.now();
    const row = this.db
      .prepare(
        "UPDATE api_tokens SET last_used_at = ? WHERE hash = ? AND kind = 'token' AND (expires_at IS NULL OR expires_at > ?) RETURNING scope",
      )
      .get(now, apiTokenHash(token), now) as { scope: unknown } | undefined;
    return isTokenScope(row?.scope) ? row.scope : undefined;
  }

  private insert(
    id: string,
    name: string,
    scope: TokenScope,
    secret: string,
    kind: 'token' | 'login-code',
    expiresAt: number | undefined,
  ): void {
    const now = this.clock.now();
    // What has expired is cleared away as new ones are made: login links and dashboard sessions add up otherwise.
    this.db.prepare('DELETE FROM api_tokens WHERE expires_at <= ?').run(now);
    this.db
      .prepare(
        'INSERT INTO api_tokens (id, name, scope, hash, created_at, kind, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, name, scope, apiTokenHash(secret), now, kind, expiresAt ?? null);
  }
}

/** Accounts or subscriptions created through the management API (local mode), kept as their documents. */
export class SqliteManagedDocuments {
  constructor(
    private readonly db: LocalDatabase,
    private readonly kind: 'account' | 'subscription',
    private readonly clock: Clock,
  ) {}

  list(): StoredDocument[] {
    const rows = this.db
      .prepare('SELECT id, document FROM managed_documents WHERE kind = ? ORDER BY id')
      .all(this.kind) as { id: string; document: string }[];
    return rows.map((r) => ({ id: r.id, document: JSON.parse(r.document) as unknown }));
  }

  /** Stores a new document; false when the id is taken. */
  insert(id: string, document: unknown): boolean {
    const now = this.clock.now();
    return (
      this.db
        .prepare(
          `INSERT INTO managed_documents (kind, id, document, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (kind, id) DO NOTHING`,
        )
        .run(this.kind, id, JSON.stringify(document), now, now).changes > 0
    );
  }

  get(id: string): unknown {
    const row = this.db
      .prepare('SELECT document FROM managed_documents WHERE kind = ? AND id = ?')
      .get(this.kind, id) as { document: string } | undefined;
    return row === undefined ? undefined : (JSON.parse(row.document) as unknown);
  }

  /** Replaces an existing document; false when there is none. */
  replace(id: string, document: unknown): boolean {
    return (
      this.db
        .prepare('UPDATE managed_documents SET document = ?, updated_at = ? WHERE kind = ? AND id = ?')
        .run(JSON.stringify(document), this.clock.now(), this.kind, id).changes > 0
    );
  }

  /** Whether there was a document to delete. */
  delete(id: string): boolean {
    return (
      this.db.prepare('DELETE FROM managed_documents WHERE kind = ? AND id = ?').run(this.kind, id).changes >
      0
    );
  }
}
