import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planConnections } from '../../src/domain/connection-plan.js';

const mailboxes = ['INBOX', 'Sales', 'Support', 'Billing'];

describe('planConnections', () => {
  it('watches every mailbox with IDLE when the provider sets no limit', () => {
    assert.deepEqual(planConnections(mailboxes, undefined), { idle: mailboxes, polled: [] });
  });

  it('watches every mailbox with IDLE while they fit in the limit', () => {
    assert.deepEqual(planConnections(mailboxes, 4), { idle: mailboxes, polled: [] });
  });

  it('past the limit, keeps one connection for a poller of the rest: N - 1 IDLE mailboxes', () => {
    assert.deepEqual(planConnections(mailboxes, 3), {
      idle: ['INBOX', 'Sales'],
      polled: ['Support', 'Billing'],
    });
  });

  it('with a limit of one, polls everything on the one connection', () => {
    assert.deepEqual(planConnections(mailboxes, 1), { idle: [], polled: mailboxes });
  });

  it('never opens more connections than the limit', () => {
    for (let limit = 1; limit <= 6; limit++) {
      const { idle, polled } = planConnections(mailboxes, limit);
      assert.ok(idle.length + (polled.length > 0 ? 1 : 0) <= limit, `limit ${limit}`);
      assert.deepEqual([...idle, ...polled], mailboxes, 'every mailbox watched once, in order');
    }
  });
});
