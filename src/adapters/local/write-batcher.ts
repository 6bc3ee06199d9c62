import type { LocalDatabase } from './database.js';

/**
 * Groups the writes issued within one event-loop turn into one SQLite transaction: under load, one commit
 * carries a whole burst instead of one commit per message. Each write's promise resolves only once its
 * transaction has committed, so "resolved" still means "durable".
 */
export class WriteBatcher {
  private pending: { write: () => void; reject: (error: unknown) => void; settle: () => void }[] = [];
  private scheduled = false;
  /** Made once, not per batch: better-sqlite3 builds new wrapper functions at each transaction() call. */
  private readonly runBatch;

  constructor(db: LocalDatabase) {
    this.runBatch = db.transaction((batch: readonly { write: () => void }[]) => {
      for (const item of batch) item.write();
    });
  }

  /** Runs `write` inside the next batch transaction and resolves with its result once that has committed. */
  write<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let result: T;
      this.pending.push({
        write: () => {
          result = write();
        },
        reject,
        settle: () => resolve(result),
      });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    try {
      this.runBatch(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) item.settle();
  }
}
