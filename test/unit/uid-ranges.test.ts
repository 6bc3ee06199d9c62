import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  absentUpTo,
  count,
  difference,
  formatRanges,
  parseRanges,
  rangesOf,
  uidsIn,
  union,
} from '../../src/domain/uid-ranges.js';

describe('UID ranges', () => {
  it('compresses UIDs and round-trips the IMAP set syntax', () => {
    const ranges = rangesOf([7, 1, 2, 3, 5, 4, 3, 10]);
    assert.equal(formatRanges(ranges), '1:5,7,10');
    assert.deepEqual(parseRanges('1:5,7,10'), ranges);
    assert.deepEqual(parseRanges('9:8,1'), [
      [1, 1],
      [8, 9],
    ]);
    assert.deepEqual(parseRanges(''), []);
    assert.throws(() => parseRanges('1:x'), /not a UID set/);
  });

  it('finds what is absent below a UID without listing every number', () => {
    assert.deepEqual(absentUpTo(10, rangesOf([2, 3, 7])), [
      [1, 1],
      [4, 6],
      [8, 10],
    ]);
    assert.deepEqual(absentUpTo(3, rangesOf([1, 2, 3, 9])), []);
    assert.equal(count(absentUpTo(1_000_000, rangesOf([500_000]))), 999_999);
  });

  it('unions and subtracts', () => {
    assert.deepEqual(union(parseRanges('1:3,9'), parseRanges('4,8')), parseRanges('1:4,8:9'));
    assert.deepEqual(difference(parseRanges('1:10'), parseRanges('2,5:6,10:12')), parseRanges('1,3:4,7:9'));
    assert.deepEqual([...uidsIn(difference(parseRanges('1:4,8:9'), parseRanges('1:3,9')))], [4, 8]);
  });
});
