import type { AttemptLog, DeliveryAttempt } from '../../ports/pipeline.js';
import type { LocalDatabase } from './database.js';
import type { WriteBatcher } from './write-batcher.js';

interface AttemptRow {
  subscription_id: string;
  attempted_at: number;
  event_id: string;
  event_type: string;
  attempt: number;
  duration_ms: number;
  succeeded: number;
  status: number | null;
  error: string | null;
  response_excerpt: string | null;
}

/** Local mode's per-endpoint attempt log, pruned with the rest of the local data past retention. */
export class SqliteAttemptLog implements AttemptLog {
  private readonly statements;

  constructor(
    db: LocalDatabase,
    private readonly writes: WriteBatcher,
  ) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO delivery_attempts (subscription_id, attempted_at, event_id, event_type, attempt, duration_ms,
           succeeded, status, error, response_excerpt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      latest: db.prepare(
        `SELECT * FROM delivery_attempts WHERE subscription_id = ?
         ORDER BY attempted_at DESC, rowid DESC LIMIT ?`,
      ),
      prune: db.prepare('DELETE FROM delivery_attempts WHERE attempted_at < ?'),
    };
  }

  async recordAttempt(a: DeliveryAttempt): Promise<void> {
    await this.writes.write(() =>
      this.statements.insert.run(
        a.subscriptionId,
        a.attemptedAt,
        a.eventId,
        a.eventType,
        a.attempt,
        a.durationMs,
        a.succeeded ? 1 : 0,
        a.status ?? null,
        a.error ?? null,
        a.responseExcerpt ?? null,
      ),
    );
  }

  async listAttempts(subscriptionId: string, limit: number): Promise<DeliveryAttempt[]> {
    return (this.statements.latest.all(subscriptionId, limit) as AttemptRow[]).map((row) => ({
      subscriptionId: row.subscription_id,
      eventId: row.event_id,
      eventType: row.event_type,
      attempt: row.attempt,
      attemptedAt: row.attempted_at,
      durationMs: row.duration_ms,
      succeeded: row.succeeded === 1,
      ...(row.status === null ? {} : { status: row.status }),
      ...(row.error === null ? {} : { error: row.error }),
      ...(row.response_excerpt === null ? {} : { responseExcerpt: row.response_excerpt }),
    }));
  }

  /** Forgets attempts made before `cutoff` (ms); returns how many. */
  async pruneOlderThan(cutoff: number): Promise<number> {
    return this.writes.write(() => this.statements.prune.run(cutoff).changes);
  }
}
