import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accountIdsToCheck } from '../../src/domain/subscriptions.js';

describe("a subscription's named accounts are checked against the account ids", () => {
  it('reads the ids only when the document names accounts', async () => {
    let reads = 0;
    const directory = {
      accountIds: async () => {
        reads += 1;
        return new Set(['support']);
      },
    };
    assert.equal(await accountIdsToCheck({ id: 'hook', url: 'https://x.example/' }, directory), undefined);
    assert.equal(await accountIdsToCheck({ id: 'hook', accounts: [] }, directory), undefined);
    assert.equal(reads, 0, 'nothing named, nothing read');
    assert.deepEqual(await accountIdsToCheck({ accounts: ['support'] }, directory), new Set(['support']));
    assert.equal(reads, 1);
  });
});
