import type { BlobStore } from '../../ports/index.js';
import type { LocalDatabase } from './database.js';
import type { WriteBatcher } from './write-batcher.js';

/**
 * Local mode's blobs (raw messages, attachments) in the same SQLite file as the queue: one write per blob
 * instead of a file create/write/rename, and nothing half-written after a crash. Served by the loopback
 * HTTP server under /blobs/.
 */
export class SqliteBlobStore implements BlobStore {
  private readonly statements;
  private baseUrl = '';

  constructor(
    db: LocalDatabase,
    private readonly writes: WriteBatcher,
    private readonly now: () => number,
  ) {
    this.statements = {
      put: db.prepare(
        `INSERT INTO blobs (key, content, created_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET content = excluded.content`,
      ),
      get: db.prepare('SELECT content FROM blobs WHERE key = ?'),
    };
  }

  /** Known only once the local HTTP server listens. */
  setBaseUrl(baseUrl: string): void {
    this.baseUrl = baseUrl.replace(/\/$/, '');
  }

  async put(key: string, content: Buffer): Promise<void> {
    await this.writes.write(() => this.statements.put.run(key, content, this.now()));
  }

  async get(key: string): Promise<Buffer | undefined> {
    const row = this.statements.get.get(key) as { content: Buffer } | undefined;
    return row?.content;
  }

  url(key: string): string {
    return `${this.baseUrl}/blobs/${key}`;
  }
}
