import { EventEmitter } from 'node:events';
import type { HandOffConsumer, OutgoingMessage, PulledQueue, QueueMessage } from '../../ports/pipeline.js';
import type { Clock } from '../../ports/services.js';
import type { LocalDatabase } from './database.js';
import type { WriteBatcher } from './write-batcher.js';

/** How long a received message stays invisible before another receive may take it (a crashed consumer). */
const LEASE_MS = 5 * 60 * 1000;

/**
 * A durable queue in the local SQLite file, with the semantics local mode needs from SQS: at-least-once,
 * visibility leases, delayed redelivery and producer-side deduplication while a message waits.
 */
export class SqliteQueue<Body> implements PulledQueue<Body> {
  private readonly signals = new EventEmitter();
  private readonly statements;
  private consumer: HandOffConsumer<Body> | undefined;

  constructor(
    db: LocalDatabase,
    private readonly name: string,
    private readonly clock: Clock,
    private readonly writes: WriteBatcher,
    /** Each message's group (e.g. its subscription), so a receive can skip groups that are busy. */
    private readonly groupOf?: (body: Body) => string,
  ) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO queue_messages (queue, deduplication_key, body, visible_at, group_key) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (queue, deduplication_key) DO NOTHING`,
      ),
      insertLeased: db.prepare(
        `INSERT INTO queue_messages (queue, deduplication_key, body, visible_at, group_key, leased, receive_count)
         VALUES (?, ?, ?, ?, ?, 1, 1) ON CONFLICT (queue, deduplication_key) DO NOTHING`,
      ),
      anyDue: db.prepare('SELECT 1 FROM queue_messages WHERE queue = ? AND visible_at <= ? LIMIT 1'),
      // One statement leases and returns the batch (RETURNING needs SQLite 3.35; better-sqlite3 bundles newer).
      lease: db.prepare(
        `UPDATE queue_messages SET visible_at = ?, leased = 1, receive_count = receive_count + 1
         WHERE seq IN (SELECT seq FROM queue_messages WHERE queue = ? AND visible_at <= ?
           AND (group_key IS NULL OR group_key NOT IN (SELECT value FROM json_each(?)))
           ORDER BY visible_at, seq LIMIT ?)
         RETURNING seq, body, receive_count, group_key`,
      ),
      // A message leased but not handled (its group filled up meanwhile): as if it had not been received.
      release: db.prepare(
        'UPDATE queue_messages SET visible_at = ?, leased = 0, receive_count = receive_count - 1 WHERE seq = ?',
      ),
      remove: db.prepare('DELETE FROM queue_messages WHERE seq = ?'),
      delay: db.prepare('UPDATE queue_messages SET visible_at = ?, leased = 0 WHERE seq = ?'),
      nextVisible: db.prepare('SELECT MIN(visible_at) AS at FROM queue_messages WHERE queue = ?'),
      depth: db.prepare('SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ?'),
      oldestDue: db.prepare(
        'SELECT MIN(visible_at) AS at FROM queue_messages WHERE queue = ? AND leased = 0 AND visible_at <= ?',
      ),
      releaseLeases: db.prepare(
        'UPDATE queue_messages SET visible_at = ?, leased = 0 WHERE queue = ? AND leased = 1',
      ),
      waiting: db.prepare(
        `SELECT seq, body, receive_count, visible_at FROM queue_messages
         WHERE queue = ? AND leased = 0 AND visible_at > ? ORDER BY visible_at, seq`,
      ),
      hurry: db.prepare(
        'UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND group_key = ? AND leased = 0 AND visible_at > ?',
      ),
    };
  }

  async send(messages: readonly OutgoingMessage<Body>[]): Promise<void> {
    const now = this.clock.now();
    const rows = messages.map((m) => ({
      key: m.deduplicationKey,
      body: m.body,
      json: JSON.stringify(m.body),
      visibleAt: now + (m.delayMs ?? 0),
      group: this.groupOf?.(m.body) ?? null,
    }));
    const consumer = this.consumer;
    /** Rows the consumer kept room for; `seq` once stored (a duplicate is not). */
    const offered: { body: Body; group: string | null; seq?: number }[] = [];
    let stored = 0;
    try {
      await this.writes.write(() => {
        // Handing off skips a lease (a rewrite of the row) and a parse of its body. Only while nothing is due
        // ahead: a message waiting in the table keeps its turn.
        let handingOff = consumer !== undefined && this.statements.anyDue.get(this.name, now) === undefined;
        for (const row of rows) {
          if (handingOff && row.visibleAt <= now && consumer?.reserve(row.group)) {
            const offer: (typeof offered)[number] = { body: row.body, group: row.group };
            offered.push(offer);
            const { changes, lastInsertRowid } = this.statements.insertLeased.run(
              this.name,
              row.key,
              row.json,
              now + LEASE_MS,
              row.group,
            );
            if (changes > 0) offer.seq = Number(lastInsertRowid);
            continue;
          }
          if (row.visibleAt <= now) handingOff = false;
          stored += this.statements.insert.run(
            this.name,
            row.key,
            row.json,
            row.visibleAt,
            row.group,
          ).changes;
        }
      });
    } catch (error) {
      for (const { group } of offered) consumer?.cancel(group);
      throw error;
    }
    for (const { body, group, seq } of offered) {
      if (seq === undefined) consumer?.cancel(group);
      else consumer?.take({ id: String(seq), body, receiveCount: 1 }, group);
    }
    if (stored > 0) this.signals.emit('available');
  }

  async receive(maxMessages: number): Promise<QueueMessage<Body>[]> {
    return this.receiveExcept(maxMessages, []);
  }

  /** Receives messages of any group but these (whose consumers are at capacity). */
  async receiveExcept(
    maxMessages: number,
    busyGroups: readonly string[],
  ): Promise<(QueueMessage<Body> & { group: string | null })[]> {
    const now = this.clock.now();
    const busy = JSON.stringify(busyGroups);
    // Leasing is a write: it joins the turn's batch transaction instead of committing on its own.
    const rows = (await this.writes.write(() =>
      this.statements.lease.all(now + LEASE_MS, this.name, now, busy, maxMessages),
    )) as {
      seq: number;
      body: string;
      receive_count: number;
      group_key: string | null;
    }[];
    rows.sort((a, b) => a.seq - b.seq);
    return rows.map((row) => ({
      id: String(row.seq),
      body: JSON.parse(row.body) as Body,
      receiveCount: row.receive_count,
      group: row.group_key,
    }));
  }

  /** Hands a received message back at once, not counted as received. */
  async release(messageId: string): Promise<void> {
    await this.writes.write(() => this.statements.release.run(this.clock.now(), Number(messageId)));
    this.signals.emit('available');
  }

  async acknowledge(messageId: string): Promise<void> {
    await this.writes.write(() => this.statements.remove.run(Number(messageId)));
  }

  async retryLater(messageId: string, delayMs: number): Promise<void> {
    const visibleAt = this.clock.now() + delayMs;
    await this.writes.write(() => this.statements.delay.run(visibleAt, Number(messageId)));
    if (delayMs === 0) this.signals.emit('available');
  }

  /** Messages waiting for a later time (a retry's wait, a held-back turn), soonest first. */
  waiting(): { readonly body: Body; readonly receiveCount: number; readonly visibleAt: number }[] {
    const rows = this.statements.waiting.all(this.name, this.clock.now()) as {
      body: string;
      receive_count: number;
      visible_at: number;
    }[];
    return rows.map((row) => ({
      body: JSON.parse(row.body) as Body,
      receiveCount: row.receive_count,
      visibleAt: row.visible_at,
    }));
  }

  /** Makes the waiting messages of `group` visible now; how many there were. */
  async hurry(group: string): Promise<number> {
    const now = this.clock.now();
    const changed = await this.writes.write(
      () => this.statements.hurry.run(now, this.name, group, now).changes,
    );
    if (changed > 0) this.signals.emit('available');
    return changed;
  }

  /** Local mode has a single consumer: leases held by a previous (crashed) process can be released at once. */
  releaseStaleLeases(): void {
    this.statements.releaseLeases.run(this.clock.now(), this.name);
  }

  /** Milliseconds until the next message becomes visible, or undefined when the queue is empty. */
  nextVisibleInMs(): number | undefined {
    const { at } = this.statements.nextVisible.get(this.name) as { at: number | null };
    return at === null ? undefined : Math.max(0, at - this.clock.now());
  }

  depth(): number {
    return (this.statements.depth.get(this.name) as { n: number }).n;
  }

  /** How long the oldest record that is due has waited (ms); 0 when none is. */
  oldestDueAgeMs(): number {
    const now = this.clock.now();
    const { at } = this.statements.oldestDue.get(this.name, now) as { at: number | null };
    return at === null ? 0 : now - at;
  }

  handOffTo(consumer: HandOffConsumer<Body>): () => void {
    this.consumer = consumer;
    return () => {
      if (this.consumer === consumer) this.consumer = undefined;
    };
  }

  onAvailable(listener: () => void): () => void {
    this.signals.on('available', listener);
    return () => this.signals.off('available', listener);
  }
}
