import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatusBoard } from '../../src/imap/status-board.js';
import { StatusReporter, type StatusReportTiming } from '../../src/imap/status-reporter.js';
import type { AccountStatusReports, ReportedAccountStatus } from '../../src/ports/watcher.js';

const TIMING: StatusReportTiming = { tickMs: 1_000, countersEveryMs: 60_000, refreshEveryMs: 3_600_000 };
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** Reports kept in a list, in the order written; `failing` makes the next writes throw. */
class RecordedReports implements AccountStatusReports {
  readonly written: { accountId: string; report: ReportedAccountStatus }[] = [];
  failing = false;
  async report(accountId: string, report: ReportedAccountStatus) {
    if (this.failing) throw new Error('ProvisionedThroughputExceededException');
    this.written.push({ accountId, report: structuredClone(report) });
  }
  async all() {
    return new Map(this.written.map((w) => [w.accountId, w.report]));
  }
  async some(accountIds: readonly string[]) {
    const all = await this.all();
    return new Map([...all].filter(([id]) => accountIds.includes(id)));
  }
  async of(accountId: string) {
    return (await this.all()).get(accountId);
  }
}

function setUp() {
  const board = new StatusBoard();
  const reports = new RecordedReports();
  const clock = { time: 0, now: () => clock.time };
  const reporter = new StatusReporter(board, reports, clock, silent, TIMING);
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
});
