// Account status reports in DynamoDB (dynalite, with AWS's item-size limit enforced in front of it).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DynamoDbAccountStatusReports } from '../../src/adapters/aws/dynamodb-account-status-reports.js';
import { stateTable } from '../../src/adapters/aws/dynamodb-documents.js';
import type { AccountSnapshot, MailboxStatus } from '../../src/domain/account-status.js';
import { recordOf } from '../../src/domain/null-prototype.js';
import { startDynamoDb } from '../support/aws-emulators.js';

const idle = (lastUid: number): MailboxStatus => ({
  state: 'idle',
  lastError: null,
  uidValidity: '1700000000',
  lastUid,
  lastEventAt: '2026-12-02T07:00:00.000Z',
});

function snapshot(mailboxes: Iterable<readonly [string, MailboxStatus]>): AccountSnapshot {
  return {
    state: 'ok',
    lastError: null,
    errorCode: null,
    nextLoginAttemptAt: null,
    mailboxes: recordOf(mailboxes),
  };
}

describe('account status reports (DynamoDB)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynamoDb>>;
  let reports: DynamoDbAccountStatusReports;
  before(async () => {
    dynamo = await startDynamoDb();
    reports = new DynamoDbAccountStatusReports(stateTable(dynamo.client, await dynamo.createTable()));
  });
  after(async () => dynamo?.stop());

  it("keeps mailbox names as the server's, never as object keys with a prototype", async () => {
    const status = snapshot([
      ['INBOX', idle(7)],
      ['__proto__', idle(1)],
      ['constructor', { ...idle(2), state: 'error', lastError: 'NO [NONEXISTENT]' }],
    ]);
    await reports.report('support', { status, reportedAt: 1_000 });
    const read = (await reports.some(['support', 'nobody'])).get('support');
    assert.equal(read?.reportedAt, 1_000);
    assert.equal(Object.getPrototypeOf(read?.status.mailboxes), null);
    assert.deepEqual(Object.keys(read?.status.mailboxes ?? {}), ['INBOX', '__proto__', 'constructor']);
    assert.equal(read?.status.mailboxes['constructor' as string]?.lastError, 'NO [NONEXISTENT]');
    assert.equal(read?.omittedMailboxes, undefined);
    assert.deepEqual(await reports.of('support'), read, 'one account read alone is the same');
    assert.equal(await reports.of('nobody'), undefined);
  });

  it('reports an account watching thousands of folders within an item: those in error first, the rest counted', async () => {
    const folders = Array.from({ length: 4_000 }, (_, i) => {
      const name = `Archive/Customers/${String(i).padStart(5, '0')} - a folder name as long as real ones get`;
      const status =
        i % 1_000 === 999 ? { ...idle(i), state: 'error' as const, lastError: 'NO mailbox gone' } : idle(i);
      return [name, status] as const;
    });
    await reports.report('big', { status: snapshot(folders), reportedAt: 2_000 });
    const read = await reports.of('big');
    assert.ok(read);
    const kept = Object.values(read.status.mailboxes);
    assert.ok(kept.length > 1_000, `${kept.length} mailboxes kept`);
    assert.equal(kept.length + (read.omittedMailboxes ?? 0), 4_000, 'every mailbox is shown or counted');
    assert.equal(kept.filter((m) => m.state === 'error').length, 4, 'every mailbox in error is kept');
  });

  it("keeps one tally per watcher task, replaced by the task's next and gone once withdrawn", async () => {
    await reports.tally('task-a', { held: 3, failing: 1, failingIds: ['support'], reportedAt: 1_000 });
    await reports.tally('task-b', { held: 2, failing: 0, failingIds: [], reportedAt: 1_000 });
    await reports.tally('task-a', {
      held: 4,
      failing: 2,
      failingIds: ['billing', 'support'],
      reportedAt: 2_000,
    });
    const byHeld = (await reports.tallies()).toSorted((a, b) => a.held - b.held);
    assert.deepEqual(byHeld, [
      { held: 2, failing: 0, failingIds: [], reportedAt: 1_000 },
      { held: 4, failing: 2, failingIds: ['billing', 'support'], reportedAt: 2_000 },
    ]);
    await reports.withdrawTally('task-a');
    assert.deepEqual(
      (await reports.tallies()).map((tally) => tally.held),
      [2],
    );
  });
});
