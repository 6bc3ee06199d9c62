import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusBoard } from '../../src/imap/status-board.js';
import { StatusReporter, type StatusReportTiming } from '../../src/imap/status-reporter.js';
import type { AccountStatusReports, ReportedAccountStatus, ReportedTally } from '../../src/ports/watcher.js';

const TIMING: StatusReportTiming = {
  tickMs: 1_000,
  countersEveryMs: 60_000,
  refreshEveryMs: 3_600_000,
  tallyEveryMs: 60_000,
};
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Reports kept in a list, in the order written; `failing` makes the next writes throw. */
class RecordedReports implements AccountStatusReports {
  readonly written: { accountId: string; report: ReportedAccountStatus }[] = [];
  failing = false;
  async report(accountId: string, report: ReportedAccountStatus) {
    if (this.failing) throw new Error('ProvisionedThroughputExceededException');
    this.written.push({ accountId, report: structuredClone(report) });
  }
  readonly tallied: { taskId: string; tally: ReportedTally | 'withdrawn' }[] = [];
  async tally(taskId: string, tally: ReportedTally) {
    if (this.failing) throw new Error('ProvisionedThroughputExceededException');
    this.tallied.push({ taskId, tally });
  }
  async withdrawTally(taskId: string) {
    this.tallied.push({ taskId, tally: 'withdrawn' });
  }
  async tallies() {
    return this.tallied.flatMap(({ tally }) => (tally === 'withdrawn' ? [] : [tally]));
  }
  private latest() {
    return new Map(this.written.map((w) => [w.accountId, w.report]));
  }
  async some(accountIds: readonly string[]) {
    return new Map([...this.latest()].filter(([id]) => accountIds.includes(id)));
  }
  async of(accountId: string) {
    return this.latest().get(accountId);
  }
}

function setUp() {
  const board = new StatusBoard();
  const reports = new RecordedReports();
  const clock = { time: 0, now: () => clock.time };
  const reporter = new StatusReporter(board, reports, clock, silent, 'task-1', TIMING);
  return { board, reports, clock, reporter };
}

describe('the status reporter (what a watcher task tells the AWS management API)', () => {
  it('reports a change of state at the next tick, and nothing while nothing changed', async () => {
    const { board, reports, clock, reporter } = setUp();
    board.mailbox('support', 'INBOX');
    await reporter.tick();
    assert.deepEqual(
      reports.written.map((w) => [w.accountId, w.report.status.mailboxes.INBOX?.state]),
      [['support', 'connecting']],
    );
    clock.time = 1_000;
    await reporter.tick();
    assert.equal(reports.written.length, 1, 'unchanged: not written again');
    board.mailbox('support', 'INBOX').state = 'idle';
    clock.time = 2_000;
    await reporter.tick();
    assert.equal(reports.written.at(-1)?.report.status.mailboxes.INBOX?.state, 'idle');
    assert.equal(reports.written.at(-1)?.report.reportedAt, 2_000);
    board.account('support').lastError = 'AUTHENTICATIONFAILED';
    await reporter.tick();
    assert.equal(reports.written.at(-1)?.report.status.lastError, 'AUTHENTICATIONFAILED');
    assert.equal(reports.written.length, 3);
  });

  it('reports counters (last UID, last event) at most once per countersEveryMs, and refreshes unchanged accounts', async () => {
    const { board, reports, clock, reporter } = setUp();
    const inbox = board.mailbox('support', 'INBOX');
    inbox.state = 'idle';
    await reporter.tick();
    for (let uid = 1; uid <= 30; uid++) {
      inbox.lastUid = uid;
      clock.time = uid * 1_000;
      await reporter.tick();
    }
    assert.equal(reports.written.length, 1, 'thirty messages in 30 s: no report yet');
    clock.time = 60_000;
    await reporter.tick();
    assert.equal(reports.written.length, 2);
    assert.equal(reports.written.at(-1)?.report.status.mailboxes.INBOX?.lastUid, 30);
    clock.time = 60_000 + TIMING.refreshEveryMs - 1;
    await reporter.tick();
    assert.equal(reports.written.length, 2);
    clock.time = 60_000 + TIMING.refreshEveryMs;
    await reporter.tick();
    assert.equal(
      reports.written.length,
      3,
      'refreshed, so that an old report means nobody holds the account',
    );
  });

  it('tries a failed write again at the next tick, and reports an account taken again afresh', async () => {
    const { board, reports, clock, reporter } = setUp();
    board.mailbox('support', 'INBOX').state = 'idle';
    reports.failing = true;
    await reporter.tick();
    reports.failing = false;
    clock.time = 1_000;
    await reporter.tick();
    assert.equal(reports.written.length, 1);
    board.forget('support', 'INBOX');
    await reporter.tick();
    assert.equal(
      reports.written.length,
      1,
      'an account given up is not reported (its new holder reports it)',
    );
    board.mailbox('support', 'INBOX').state = 'idle';
    clock.time = 2_000;
    await reporter.tick();
    assert.equal(reports.written.length, 2, 'taken back: reported again though its status is as before');
  });

  it("tallies this task's accounts (held, failing, the first failing named) on change and every tallyEveryMs, and withdraws the tally on stop", async () => {
    const { board, reports, clock, reporter } = setUp();
    board.mailbox('support', 'INBOX').state = 'idle';
    board.mailbox('billing', 'INBOX').state = 'idle';
    await reporter.tick();
    assert.deepEqual(reports.tallied, [
      { taskId: 'task-1', tally: { held: 2, failing: 0, failingIds: [], reportedAt: 0 } },
    ]);
    clock.time = 1_000;
    await reporter.tick();
    assert.equal(reports.tallied.length, 1, 'unchanged: not written again');
    board.account('support').state = 'error';
    clock.time = 2_000;
    await reporter.tick();
    assert.deepEqual(reports.tallied.at(-1)?.tally, {
      held: 2,
      failing: 1,
      failingIds: ['support'],
      reportedAt: 2_000,
    });
    clock.time = 2_000 + TIMING.tallyEveryMs;
    await reporter.tick();
    assert.equal(
      reports.tallied.length,
      3,
      'refreshed, so that a reader can tell a live task from a gone one',
    );
    await reporter.stop();
    assert.deepEqual(reports.tallied.at(-1), { taskId: 'task-1', tally: 'withdrawn' });
  });

  it('names the first 20 failing accounts by id, and counts them all', async () => {
    const { board, reports, reporter } = setUp();
    for (let i = 0; i < 30; i++) board.account(`acct-${String(i).padStart(2, '0')}`).state = 'error';
    await reporter.tick();
    const tally = reports.tallied.at(-1)?.tally;
    assert.ok(tally && tally !== 'withdrawn');
    assert.equal(tally.failing, 30);
    assert.deepEqual(
      tally.failingIds,
      Array.from({ length: 20 }, (_, i) => `acct-${String(i).padStart(2, '0')}`),
    );
  });
});
