import type { EndpointHealth } from '../../domain/endpoint-health.js';
import type { FolderEntry } from '../../domain/folder-tree.js';
import type { MailboxCursor } from '../../domain/sync.js';
import { pageOfDeadLetters } from '../../pipeline/dead-letter-pages.js';
import type {
  DeadLetter,
  DeadLetterPage,
  DeadLetterQuery,
  DeadLetterSummary,
  DeliveryLog,
  SubscriptionStatusStore,
} from '../../ports/pipeline.js';
import type { Clock } from '../../ports/services.js';
import type { CursorStore, UidGaps } from '../../ports/watcher.js';
import type { LocalDatabase } from './database.js';
import type { WriteBatcher } from './write-batcher.js';

interface CursorRow {
  uid_validity: string;
  last_uid: number;
  highest_modseq: string | null;
}

interface DeadLetterRow {
  event_id: string;
  subscription_id: string;
  event_type: string;
  reason: string;
  attempts: number;
  updated_at: number;
}

/** Local mode's state: mailbox cursors, delivery outcomes and endpoint health in SQLite. */
export class SqliteStateStore implements CursorStore, DeliveryLog, SubscriptionStatusStore {
  private readonly statements;

  constructor(
    db: LocalDatabase,
    private readonly clock: Clock,
    private readonly writes: WriteBatcher,
  ) {
    this.statements = {
      getCursor: db.prepare(
        'SELECT uid_validity, last_uid, highest_modseq FROM cursors WHERE account = ? AND mailbox = ?',
      ),
      // The WHERE clause is the invariant: same UIDVALIDITY, never backwards.
      advanceCursor: db.prepare(
        `UPDATE cursors SET last_uid = ?, highest_modseq = COALESCE(?, highest_modseq), updated_at = ?
         WHERE account = ? AND mailbox = ? AND uid_validity = ? AND last_uid <= ?`,
      ),
      resetCursor: db.prepare(
        `INSERT INTO cursors (account, mailbox, uid_validity, last_uid, highest_modseq, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (account, mailbox) DO UPDATE SET uid_validity = excluded.uid_validity,
           last_uid = excluded.last_uid, highest_modseq = excluded.highest_modseq, updated_at = excluded.updated_at`,
      ),
      getUidGaps: db.prepare('SELECT uid_validity, gaps FROM uid_gaps WHERE account = ? AND mailbox = ?'),
      setUidGaps: db.prepare(
        `INSERT INTO uid_gaps (account, mailbox, uid_validity, gaps) VALUES (?, ?, ?, ?)
         ON CONFLICT (account, mailbox) DO UPDATE SET uid_validity = excluded.uid_validity, gaps = excluded.gaps`,
      ),
      getFolderTree: db.prepare('SELECT folders FROM folder_trees WHERE account = ?'),
      setFolderTree: db.prepare(
        `INSERT INTO folder_trees (account, folders) VALUES (?, ?)
         ON CONFLICT (account) DO UPDATE SET folders = excluded.folders`,
      ),
      isDelivered: db.prepare(
        `SELECT 1 FROM deliveries WHERE event_id = ? AND subscription_id = ? AND status = 'delivered'`,
      ),
      markDelivered: db.prepare(
        `INSERT INTO deliveries (event_id, subscription_id, status, event_type, body, reason, attempts, updated_at)
         VALUES (?, ?, 'delivered', NULL, NULL, NULL, ?, ?)
         ON CONFLICT (event_id, subscription_id) DO UPDATE SET status = 'delivered', body = NULL, reason = NULL,
           attempts = excluded.attempts, updated_at = excluded.updated_at`,
      ),
      // A delivered record is never downgraded to failed.
      deadLetter: db.prepare(
        `INSERT INTO deliveries (event_id, subscription_id, status, event_type, body, reason, attempts, updated_at)
         VALUES (?, ?, 'failed', ?, ?, ?, ?, ?)
         ON CONFLICT (event_id, subscription_id) DO UPDATE SET reason = excluded.reason,
           attempts = excluded.attempts, updated_at = excluded.updated_at
         WHERE deliveries.status = 'failed'`,
      ),
      listDeadLetters: db.prepare(
        `SELECT event_id, subscription_id, event_type, reason, attempts, updated_at FROM deliveries
         WHERE status = 'failed' ORDER BY updated_at`,
      ),
      deadLetterBody: db.prepare(
        `SELECT body FROM deliveries WHERE event_id = ? AND subscription_id = ? AND status = 'failed'`,
      ),
      deadLetterCount: db.prepare(`SELECT COUNT(*) AS n FROM deliveries WHERE status = 'failed'`),
      pruneDelivered: db.prepare(`DELETE FROM deliveries WHERE status = 'delivered' AND updated_at < ?`),
      health: db.prepare(
        'SELECT disabled_reason, failing_since FROM endpoint_health WHERE subscription_id = ?',
      ),
      markFailing: db.prepare(
        `INSERT INTO endpoint_health (subscription_id, failing_since) VALUES (?, ?)
         ON CONFLICT (subscription_id) DO UPDATE SET failing_since = COALESCE(failing_since, excluded.failing_since)`,
      ),
      markHealthy: db.prepare('UPDATE endpoint_health SET failing_since = NULL WHERE subscription_id = ?'),
      disable: db.prepare(
        `INSERT INTO endpoint_health (subscription_id, disabled_reason, disabled_at) VALUES (?, ?, ?)
         ON CONFLICT (subscription_id) DO UPDATE SET disabled_reason = excluded.disabled_reason,
           disabled_at = excluded.disabled_at
         WHERE endpoint_health.disabled_reason IS NULL`,
      ),
      enable: db.prepare('DELETE FROM endpoint_health WHERE subscription_id = ?'),
    };
  }

  async getCursor(account: string, mailbox: string): Promise<MailboxCursor | undefined> {
    const row = this.statements.getCursor.get(account, mailbox) as CursorRow | undefined;
    return row && { uidValidity: row.uid_validity, lastUid: row.last_uid, highestModseq: row.highest_modseq };
  }

  async advanceCursor(account: string, mailbox: string, cursor: MailboxCursor): Promise<void> {
    const now = this.clock.now();
    await this.writes.write(() =>
      this.statements.advanceCursor.run(
        cursor.lastUid,
        cursor.highestModseq,
        now,
        account,
        mailbox,
        cursor.uidValidity,
        cursor.lastUid,
      ),
    );
  }

  async resetCursor(account: string, mailbox: string, cursor: MailboxCursor): Promise<void> {
    const now = this.clock.now();
    await this.writes.write(() =>
      this.statements.resetCursor.run(
        account,
        mailbox,
        cursor.uidValidity,
        cursor.lastUid,
        cursor.highestModseq,
        now,
      ),
    );
  }

  async getUidGaps(account: string, mailbox: string): Promise<UidGaps | undefined> {
    const row = this.statements.getUidGaps.get(account, mailbox) as
      | { uid_validity: string; gaps: string }
      | undefined;
    return row && { uidValidity: row.uid_validity, gaps: row.gaps };
  }

  async setUidGaps(account: string, mailbox: string, gaps: UidGaps): Promise<void> {
    await this.writes.write(() =>
      this.statements.setUidGaps.run(account, mailbox, gaps.uidValidity, gaps.gaps),
    );
  }

  async getFolderTree(account: string): Promise<FolderEntry[] | undefined> {
    const row = this.statements.getFolderTree.get(account) as { folders: string } | undefined;
    return row && (JSON.parse(row.folders) as FolderEntry[]);
  }

  async setFolderTree(account: string, folders: readonly FolderEntry[]): Promise<void> {
    const text = JSON.stringify(folders);
    await this.writes.write(() => this.statements.setFolderTree.run(account, text));
  }

  async isDelivered(eventId: string, subscriptionId: string): Promise<boolean> {
    return this.statements.isDelivered.get(eventId, subscriptionId) !== undefined;
  }

  async markDelivered(eventId: string, subscriptionId: string, attempts: number): Promise<void> {
    const now = this.clock.now();
    await this.writes.write(() => this.statements.markDelivered.run(eventId, subscriptionId, attempts, now));
  }

  async deadLetter(letter: DeadLetter): Promise<void> {
    await this.writes.write(() =>
      this.statements.deadLetter.run(
        letter.eventId,
        letter.subscriptionId,
        letter.eventType,
        letter.body,
        letter.reason,
        letter.attempts,
        letter.failedAt,
      ),
    );
  }

  deadLetterCount(): number {
    return (this.statements.deadLetterCount.get() as { n: number }).n;
  }

  async listDeadLetters(): Promise<DeadLetterSummary[]> {
    return (this.statements.listDeadLetters.all() as DeadLetterRow[]).map((row) => ({
      eventId: row.event_id,
      subscriptionId: row.subscription_id,
      eventType: row.event_type,
      reason: row.reason,
      attempts: row.attempts,
      failedAt: row.updated_at,
    }));
  }

  /** Paged in memory: a local bridge keeps few dead letters, and every one is in this process's database. */
  async deadLetterPage(query: DeadLetterQuery): Promise<DeadLetterPage> {
    return pageOfDeadLetters(await this.listDeadLetters(), query);
  }

  async deadLetterBody(eventId: string, subscriptionId: string): Promise<string | undefined> {
    const row = this.statements.deadLetterBody.get(eventId, subscriptionId) as { body: string } | undefined;
    return row?.body;
  }

  /** Forgets deliveries made before `cutoff` (ms); returns how many. Dead letters are kept. */
  async pruneDeliveredOlderThan(cutoff: number): Promise<number> {
    return this.writes.write(() => this.statements.pruneDelivered.run(cutoff).changes);
  }

  async health(subscriptionId: string): Promise<EndpointHealth> {
    const row = this.statements.health.get(subscriptionId) as
      | { disabled_reason: string | null; failing_since: number | null }
      | undefined;
    return {
      ...(row?.disabled_reason ? { disabledReason: row.disabled_reason } : {}),
      ...(row?.failing_since != null ? { failingSince: row.failing_since } : {}),
    };
  }

  async markFailing(subscriptionId: string, since: number): Promise<void> {
    await this.writes.write(() => this.statements.markFailing.run(subscriptionId, since));
  }

  async markHealthy(subscriptionId: string): Promise<void> {
    await this.writes.write(() => this.statements.markHealthy.run(subscriptionId));
  }

  async disable(subscriptionId: string, reason: string): Promise<boolean> {
    const now = this.clock.now();
    const { changes } = await this.writes.write(() =>
      this.statements.disable.run(subscriptionId, reason, now),
    );
    return changes > 0;
  }

  async enable(subscriptionId: string): Promise<void> {
    await this.writes.write(() => this.statements.enable.run(subscriptionId));
  }
}
