import { createHmac, timingSafeEqual } from 'node:crypto';
import type { BlobStore, NotedBlobs } from '../../ports/services.js';
import type { LocalDatabase } from './database.js';
import type { WriteBatcher } from './write-batcher.js';

/**
 * Local mode's blobs (raw messages, attachments) in the same SQLite file as the queue: one write per blob
 * instead of a file create/write/rename, and nothing half-written after a crash. Served by the loopback
 * HTTP server under /blobs/, with a signature in each URL: a blob key is derived from account, mailbox and
 * UID, so without one anyone on the machine could read mail by guessing URLs.
 */
export class SqliteBlobStore implements BlobStore, NotedBlobs {
  private readonly statements;
  private baseUrl = '';

  constructor(
    db: LocalDatabase,
    private readonly writes: WriteBatcher,
    private readonly now: () => number,
    private readonly urlKey: Buffer,
  ) {
    this.statements = {
      put: db.prepare(
        `INSERT INTO blobs (key, content, created_at, note) VALUES (?, ?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET content = excluded.content, note = excluded.note`,
      ),
      get: db.prepare('SELECT content FROM blobs WHERE key = ?'),
      getNoted: db.prepare('SELECT content, note FROM blobs WHERE key = ?'),
      delete: db.prepare('DELETE FROM blobs WHERE key = ?'),
      prune: db.prepare('DELETE FROM blobs WHERE created_at < ?'),
    };
  }

  /** Known only once the local HTTP server listens. */
  setBaseUrl(baseUrl: string): void {
    this.baseUrl = baseUrl.replace(/\/$/, '');
  }

  async put(key: string, content: Buffer, note?: string): Promise<void> {
    await this.writes.write(() => this.statements.put.run(key, content, this.now(), note ?? null));
  }

  async getNoted(key: string): Promise<{ content: Buffer; note: string | undefined } | undefined> {
    const row = this.statements.getNoted.get(key) as { content: Buffer; note: string | null } | undefined;
    return row && { content: row.content, note: row.note ?? undefined };
  }

  async delete(key: string): Promise<void> {
    await this.writes.write(() => this.statements.delete.run(key));
  }

  async get(key: string): Promise<Buffer | undefined> {
    const row = this.statements.get.get(key) as { content: Buffer } | undefined;
    return row?.content;
  }

  async url(key: string): Promise<string> {
    return `${this.baseUrl}/blobs/${key}?signature=${this.sign(key)}`;
  }

  /** The blob behind a URL this store made, or undefined for an unknown key or a wrong signature. */
  async read(key: string, signature: string): Promise<Buffer | undefined> {
    const expected = Buffer.from(this.sign(key));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    return this.get(key);
  }

  /** Deletes blobs stored before `cutoff` (ms); returns how many. */
  async pruneOlderThan(cutoff: number): Promise<number> {
    return this.writes.write(() => this.statements.prune.run(cutoff).changes);
  }

  private sign(key: string): string {
    return createHmac('sha256', this.urlKey).update(key).digest('base64url');
  }
}
