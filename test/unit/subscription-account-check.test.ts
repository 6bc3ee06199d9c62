import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namedAccountsThatExist } from '../../src/domain/subscriptions.js';

describe("a subscription's named accounts are checked against the accounts", () => {
  it('reads only the named ids, once each, and nothing when none are named', async () => {
    const asked: string[][] = [];
    const directory = {
      existingAccounts: async (ids: readonly string[]) => {
        asked.push([...ids]);
        return new Set(ids.filter((id) => id === 'support'));
      },
    };
    assert.equal(
      await namedAccountsThatExist({ id: 'hook', url: 'https://x.example/' }, directory),
      undefined,
    );
    assert.equal(await namedAccountsThatExist({ id: 'hook', accounts: [] }, directory), undefined);
    assert.equal(asked.length, 0, 'nothing named, nothing read');
    assert.deepEqual(
      await namedAccountsThatExist({ accounts: ['support', 'gone', 'support'] }, directory),
      new Set(['support']),
    );
    assert.deepEqual(asked, [['support', 'gone']]);
  });
});
