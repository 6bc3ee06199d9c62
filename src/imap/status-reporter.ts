import { type AccountSnapshot, tallyAccounts } from '../domain/account-status.js';
import { errorMessage } from '../domain/errors.js';
import type { Clock, Logger } from '../ports/services.js';
import type { AccountStatusReports } from '../ports/watcher.js';
import type { StatusBoard } from './status-board.js';

export interface StatusReportTiming {
  /** How often the board is looked at: a change of state or error is reported within this. */
  readonly tickMs: number;
  /** A change of counters only (last UID, last event) is reported at most this often per account. */
  readonly countersEveryMs: number;
  /** An unchanged account is reported again this often: a report older than that (and a margin) has no holder. */
  readonly refreshEveryMs: number;
  /** An unchanged tally is written again this often: one older than TALLY_STALE_AFTER_MS is a gone task's. */
  readonly tallyEveryMs: number;
}

const DEFAULT_STATUS_REPORT_TIMING: StatusReportTiming = {
  tickMs: 5_000,
  countersEveryMs: 5 * 60_000,
  refreshEveryMs: 6 * 60 * 60_000,
  tallyEveryMs: 60_000,
};

/** A report older than this was made by a task that no longer holds the account: its state is unknown. */
export const STATUS_REPORT_STALE_AFTER_MS = DEFAULT_STATUS_REPORT_TIMING.refreshEveryMs + 60 * 60_000;

/**
 * A tally older than this is from a task killed without withdrawing it (a stopping task withdraws its own): left
 * out, so that a dead task's accounts count twice for at most this long once its successor tallies them.
 */
export const TALLY_STALE_AFTER_MS = 3 * DEFAULT_STATUS_REPORT_TIMING.tallyEveryMs;

/** Reports written at once: a task taking hundreds of accounts at start does not queue them one by one. */
const CONCURRENT_REPORTS = 16;

/** What an operator acts on: states, errors and the next login; not the counters that move with every message. */
function significant(snapshot: AccountSnapshot): string {
  return JSON.stringify([
    snapshot.state,
    snapshot.lastError,
    snapshot.errorCode,
    snapshot.nextLoginAttemptAt,
    Object.entries(snapshot.mailboxes).map(([name, m]) => [name, m.state, m.lastError]),
  ]);
}

interface LastReport {
  readonly significant: string;
  readonly whole: string;
  readonly at: number;
}

/** Whether an account's status is reported now, given what was last reported of it (undefined: nothing yet). */
function reportDue(
  last: LastReport | undefined,
  current: Omit<LastReport, 'at'>,
  now: number,
  timing: StatusReportTiming,
): boolean {
  if (!last || last.significant !== current.significant) return true;
  const age = now - last.at;
  if (age >= timing.refreshEveryMs) return true;
  return last.whole !== current.whole && age >= timing.countersEveryMs;
}

/**
 * Reports the status of the accounts this watcher task holds (AWS mode), for the management API and dashboard,
 * which run apart from it. Writes only what changed, so that a busy mailbox costs one write per
 * `countersEveryMs`, not one per message. A task stopping reports nothing: the task taking its shards over reports
 * them as it connects, and a late "stopped" from this one would overwrite that. Beside the reports, one tally
 * per task (held, failing): what the API's counts add up without reading every report.
 */
export class StatusReporter {
  private readonly last = new Map<string, LastReport>();
  private lastTally: { readonly json: string; readonly at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly board: StatusBoard,
    private readonly reports: AccountStatusReports,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** This task's name: its tally's key. */
    private readonly taskId: string,
    private readonly timing: StatusReportTiming = DEFAULT_STATUS_REPORT_TIMING,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.timing.tickMs);
    this.timer.unref();
  }

  /** Resolves once a tick under way has written what it was writing, and this task's tally is withdrawn. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.reports.withdrawTally(this.taskId).catch((error: unknown) => {
      this.logger.warn('status tally not withdrawn; it is left out once stale', {
        error: errorMessage(error),
      });
    });
  }

  /** One look at the board; a tick still writing when the next is due lets that one pass. */
  tick(): Promise<void> {
    this.running ??= this.writeDueReports().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async writeDueReports(): Promise<void> {
    const snapshot = this.board.snapshot();
    const held = new Set(Object.keys(snapshot));
    // An account given up and taken again later is reported afresh.
    for (const id of this.last.keys()) if (!held.has(id)) this.last.delete(id);
    const now = this.clock.now();
    const due = Object.entries(snapshot).flatMap(([id, status]) => {
      const current = { significant: significant(status), whole: JSON.stringify(status) };
      return reportDue(this.last.get(id), current, now, this.timing) ? [{ id, status, current }] : [];
    });
    for (let i = 0; i < due.length; i += CONCURRENT_REPORTS) {
      await Promise.all(
        due.slice(i, i + CONCURRENT_REPORTS).map(async ({ id, status, current }) => {
          try {
            await this.reports.report(id, { status, reportedAt: now });
            this.last.set(id, { ...current, at: now });
          } catch (error) {
            this.logger.warn('account status not reported; tried again at the next tick', {
              account: id,
              error: errorMessage(error),
            });
          }
        }),
      );
    }
    await this.writeTallyIfDue(snapshot, now);
  }

  private async writeTallyIfDue(snapshot: Record<string, AccountSnapshot>, now: number): Promise<void> {
    const tally = tallyAccounts(snapshot);
    const json = JSON.stringify(tally);
    const last = this.lastTally;
    if (last && last.json === json && now - last.at < this.timing.tallyEveryMs) return;
    try {
      await this.reports.tally(this.taskId, { ...tally, reportedAt: now });
      this.lastTally = { json, at: now };
    } catch (error) {
      this.logger.warn('status tally not written; tried again at the next tick', {
        error: errorMessage(error),
      });
    }
  }
}
