import { EventEmitter } from 'node:events';
import type { Clock, EventQueue, OutgoingMessage, QueueMessage } from '../../ports/index.js';
import type { LocalDatabase } from './database.js';

/** How long a received message stays invisible before another receive may take it (a crashed consumer). */
const LEASE_MS = 5 * 60 * 1000;

/**
 * A durable queue in the local SQLite file, with the semantics local mode needs from SQS: at-least-once,
 * visibility leases, delayed redelivery and producer-side deduplication while a message waits.
 */
export class SqliteQueue<Body> implements EventQueue<Body> {
  private readonly signals = new EventEmitter();
  private readonly statements;

  constructor(
    private readonly db: LocalDatabase,
    private readonly name: string,
    private readonly clock: Clock,
  ) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO queue_messages (queue, deduplication_key, body, visible_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (queue, deduplication_key) DO NOTHING`,
      ),
      ready: db.prepare(
        `SELECT seq, body, receive_count FROM queue_messages
         WHERE queue = ? AND visible_at <= ? ORDER BY visible_at, seq LIMIT ?`,
      ),
      lease: db.prepare(
        'UPDATE queue_messages SET visible_at = ?, leased = 1, receive_count = receive_count + 1 WHERE seq = ?',
      ),
      remove: db.prepare('DELETE FROM queue_messages WHERE seq = ?'),
      delay: db.prepare('UPDATE queue_messages SET visible_at = ?, leased = 0 WHERE seq = ?'),
      nextVisible: db.prepare('SELECT MIN(visible_at) AS at FROM queue_messages WHERE queue = ?'),
      depth: db.prepare('SELECT COUNT(*) AS n FROM queue_messages WHERE queue = ?'),
      releaseLeases: db.prepare(
        'UPDATE queue_messages SET visible_at = ?, leased = 0 WHERE queue = ? AND leased = 1',
      ),
    };
  }

  async send(messages: readonly OutgoingMessage<Body>[]): Promise<void> {
    const now = this.clock.now();
    this.db.transaction(() => {
      for (const message of messages) {
        this.statements.insert.run(this.name, message.deduplicationKey, JSON.stringify(message.body), now);
      }
    })();
    this.signals.emit('available');
  }

  async receive(maxMessages: number): Promise<QueueMessage<Body>[]> {
    const now = this.clock.now();
    return this.db.transaction(() => {
      const rows = this.statements.ready.all(this.name, now, maxMessages) as {
        seq: number;
        body: string;
        receive_count: number;
      }[];
      return rows.map((row) => {
        this.statements.lease.run(now + LEASE_MS, row.seq);
        return {
          id: String(row.seq),
          body: JSON.parse(row.body) as Body,
          receiveCount: row.receive_count + 1,
        };
      });
    })();
  }

  async acknowledge(messageId: string): Promise<void> {
    this.statements.remove.run(Number(messageId));
  }

  async retryLater(messageId: string, delayMs: number): Promise<void> {
    this.statements.delay.run(this.clock.now() + delayMs, Number(messageId));
    if (delayMs === 0) this.signals.emit('available');
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

  onAvailable(listener: () => void): () => void {
    this.signals.on('available', listener);
    return () => this.signals.off('available', listener);
  }
}
