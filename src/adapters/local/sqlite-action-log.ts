import type { ActionCommand, StepsResult } from '../../domain/message-actions.js';
import type { ActionLog, ActionRecord } from '../../ports/pipeline.js';
import type { LocalDatabase } from './database.js';
import type { WriteBatcher } from './write-batcher.js';

interface ActionRow {
  finished_at: number;
  command: string;
  result: string;
}

/** Local mode's log of the message actions run, per account; pruned with the rest past retention. */
export class SqliteActionLog implements ActionLog {
  private readonly statements;

  constructor(
    db: LocalDatabase,
    private readonly writes: WriteBatcher,
  ) {
    this.statements = {
      // A command run again (an API retry with the same requestId) keeps its latest result.
      upsert: db.prepare(
        `INSERT INTO message_actions (account, id, finished_at, command, result) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (account, id) DO UPDATE SET finished_at = excluded.finished_at, result = excluded.result`,
      ),
      latest: db.prepare(
        'SELECT finished_at, command, result FROM message_actions WHERE account = ? ORDER BY finished_at DESC, rowid DESC LIMIT ?',
      ),
      prune: db.prepare('DELETE FROM message_actions WHERE finished_at < ?'),
    };
  }

  async record(command: ActionCommand, result: StepsResult, finishedAt: number): Promise<void> {
    await this.writes.write(() =>
      this.statements.upsert.run(
        command.message.account,
        command.id,
        finishedAt,
        JSON.stringify(command),
        JSON.stringify(result),
      ),
    );
  }

  async listActions(account: string, limit: number): Promise<ActionRecord[]> {
    return (this.statements.latest.all(account, limit) as ActionRow[]).map((row) => ({
      command: JSON.parse(row.command) as ActionCommand,
      result: JSON.parse(row.result) as StepsResult,
      finishedAt: row.finished_at,
    }));
  }

  /** Forgets actions finished before `cutoff` (ms); returns how many. */
  async pruneOlderThan(cutoff: number): Promise<number> {
    return this.writes.write(() => this.statements.prune.run(cutoff).changes);
  }
}
