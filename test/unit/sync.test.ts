import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mailboxResetEvent, messageEventId } from '../../src/domain/events.js';
import { batchBySize, planSync } from '../../src/domain/sync.js';

const snapshot = { uidValidity: '100', uidNext: 42, highestModseq: '900' };

describe('sync plans', () => {
  it('baselines a new mailbox at its end with initialSync "new"', () => {
    assert.deepEqual(planSync(undefined, snapshot, 'new'), {
      kind: 'baseline',
      cursor: { uidValidity: '100', lastUid: 41, highestModseq: '900' },
    });
  });

  it('baselines before the first message with initialSync "all"', () => {
    const plan = planSync(undefined, snapshot, 'all');
    assert.equal(plan.kind, 'baseline');
    assert.equal(plan.cursor.lastUid, 0);
  });

  it('catches up from the stored cursor when UIDVALIDITY is unchanged', () => {
    const stored = { uidValidity: '100', lastUid: 30, highestModseq: '700' };
    assert.deepEqual(planSync(stored, snapshot, 'all'), { kind: 'catch-up', cursor: stored });
  });

  it('resets and re-baselines at the end when UIDVALIDITY changed, whatever initialSync says', () => {
    const stored = { uidValidity: '99', lastUid: 3000, highestModseq: '5' };
    assert.deepEqual(planSync(stored, snapshot, 'all'), {
      kind: 'reset',
      previousUidValidity: '99',
      cursor: { uidValidity: '100', lastUid: 41, highestModseq: '900' },
    });
  });

  it('handles an empty mailbox', () => {
    const plan = planSync(undefined, { uidValidity: '1', uidNext: 1, highestModseq: null }, 'new');
    assert.equal(plan.cursor.lastUid, 0);
  });
});

describe('fetch batches', () => {
  it('splits by count and by bytes, never leaving an oversized message out', () => {
    const items = [5, 5, 5, 50, 5, 5, 5, 5].map((size, uid) => ({ uid, size }));
    assert.deepEqual(
      batchBySize(items, 3, 20).map((b) => b.map((i) => i.uid)),
      [[0, 1, 2], [3], [4, 5, 6], [7]],
    );
    assert.deepEqual(batchBySize([], 3, 20), []);
  });
});

describe('event ids', () => {
  const coordinates = { account: 'a', mailbox: 'INBOX', uidValidity: '1', uid: 7 };
  it('are stable for the same message and differ for any other', () => {
    const id = messageEventId('message.received', coordinates);
    assert.equal(id, messageEventId('message.received', { ...coordinates }));
    assert.match(id, /^evt_[0-9a-f]{32}$/);
    for (const other of [{ uid: 8 }, { uidValidity: '2' }, { mailbox: 'Sent' }, { account: 'b' }]) {
      assert.notEqual(id, messageEventId('message.received', { ...coordinates, ...other }));
    }
    const reset = (uidValidity: string) =>
      mailboxResetEvent(
        { account: 'a', mailbox: 'INBOX', previousUidValidity: '0', uidValidity, uidNext: 1 },
        '',
      ).id;
    assert.notEqual(reset('1'), reset('2'));
  });
});
