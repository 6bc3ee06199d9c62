import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { threadIdOf } from '../../src/domain/threads.js';

const message = (fields: Partial<Parameters<typeof threadIdOf>[0]>) =>
  threadIdOf({
    account: 'support',
    messageId: null,
    inReplyTo: null,
    references: [],
    subject: null,
    ...fields,
  });

describe('thread ids', () => {
  it('are the same for a root, its reply and a reply to the reply, from References', () => {
    const root = message({ messageId: '<root@example.com>', subject: 'Printer on fire' });
    const reply = message({
      messageId: '<r1@example.com>',
      inReplyTo: '<root@example.com>',
      references: ['<root@example.com>'],
      subject: 'Re: Printer on fire',
    });
    const second = message({
      messageId: '<r2@example.com>',
      inReplyTo: '<r1@example.com>',
      references: ['<root@example.com>', '<r1@example.com>'],
      subject: 'AW: Re: Printer on fire',
    });
    assert.match(root, /^thr_[0-9a-f]{32}$/);
    assert.equal(reply, root);
    assert.equal(second, root);
  });

  it('take the parent from In-Reply-To without References (its first id, brackets and comments aside)', () => {
    const root = message({ messageId: '<root@example.com>' });
    assert.equal(message({ inReplyTo: '<root@example.com> (Alice on Monday)' }), root);
    assert.equal(message({ inReplyTo: 'root@example.com' }), root);
  });

  it('fall back to the subject without reply prefixes only where there is no message id at all', () => {
    const first = message({ subject: 'Invoice 42' });
    assert.equal(message({ subject: 'RE: Fwd: invoice 42 ' }), first);
    assert.notEqual(message({ subject: 'Invoice 42', account: 'sales' }), first, 'per account');
    assert.notEqual(message({ subject: 'Invoice 42', messageId: '<x@example.com>' }), first);
  });

  it("use the server's own thread id where it gives one, per account, over the headers", () => {
    const gmail = message({ providerThreadId: '1790000000000000001', messageId: '<a@example.com>' });
    assert.equal(message({ providerThreadId: '1790000000000000001', messageId: '<b@example.com>' }), gmail);
    assert.notEqual(message({ providerThreadId: '1790000000000000001', account: 'sales' }), gmail);
    assert.notEqual(message({ messageId: '<a@example.com>' }), gmail);
  });

  it('differ between conversations', () => {
    assert.notEqual(message({ messageId: '<a@example.com>' }), message({ messageId: '<b@example.com>' }));
  });
});
