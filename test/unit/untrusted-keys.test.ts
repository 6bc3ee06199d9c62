// A check for the whole class of "outside name used as a plain-object key" defects, not only the ones found:
// header names, folder names and ids from DynamoDB or a server must land in a Map or a null-prototype object.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { emptyRecord, ownValue, recordOf } from '../../src/domain/null-prototype.js';
import { StatusBoard } from '../../src/imap/status-board.js';
import { PROTOTYPE_NAMES } from '../support/hostile-names.js';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Ways to build a string-keyed plain object; each hit must use `emptyRecord`/`recordOf`/a `Map` instead. */
const PLAIN_OBJECT_MAPS = [
  {
    pattern: /Record<string,[^=;]*>\s*=\s*\{/,
    why: 'a Record<string, ...> initialised with an object literal',
  },
  { pattern: /\{\}\s*as\s*Record<string/, why: '{} cast to a Record<string, ...>' },
  { pattern: /Object\.fromEntries\(/, why: 'Object.fromEntries (assigns keys onto a plain object)' },
  { pattern: /\benv\[/, why: 'an environment lookup by an outside name (use ownValue)' },
  {
    pattern: /\b[A-Z][A-Z0-9_]+\[[a-z]/,
    why: 'a constant table indexed by a variable (use a Map or ownValue)',
  },
];

describe('untrusted names never become plain-object keys', () => {
  it('no source file builds a string-keyed plain object', () => {
    const hits: string[] = [];
    for (const dir of ['src', 'functions', 'containers', 'infra']) {
      for (const file of sourceFiles(join(root, dir))) {
        readFileSync(file, 'utf8')
          .split('\n')
          .forEach((line, index) => {
            // A lookup whose key the type system already limits says so: `// trusted key: <why>`.
            if (line.includes('// trusted key:')) return;
            for (const { pattern, why } of PLAIN_OBJECT_MAPS)
              if (pattern.test(line)) hits.push(`${relative(root, file)}:${index + 1}: ${why}`);
          });
      }
    }
    assert.deepEqual(hits, []);
  });

  it('the helpers keep prototype names as ordinary keys', () => {
    for (const name of PROTOTYPE_NAMES) {
      const record = emptyRecord<number>();
      record[name] = 1;
      assert.equal(Object.getOwnPropertyDescriptor(record, name)?.value, 1);
      assert.equal(Object.getOwnPropertyDescriptor(recordOf([[name, 2]]), name)?.value, 2);
      assert.equal(ownValue({ a: 'b' } as Record<string, string>, name), undefined);
    }
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('the status board shows folders with prototype names and leaves Object.prototype alone', () => {
    const board = new StatusBoard();
    for (const name of PROTOTYPE_NAMES) board.mailbox('acct', name).lastUid = 7;
    board.mailbox('__proto__', 'INBOX').state = 'idle';
    const snapshot = JSON.parse(JSON.stringify(board.snapshot())) as Record<
      string,
      { mailboxes: Record<string, { lastUid: number }> }
    >;
    const mailboxes = Object.getOwnPropertyDescriptor(snapshot, 'acct')?.value.mailboxes;
    assert.deepEqual(Object.keys(mailboxes).sort(), [...PROTOTYPE_NAMES].sort());
    for (const name of PROTOTYPE_NAMES)
      assert.equal(Object.getOwnPropertyDescriptor(mailboxes, name)?.value.lastUid, 7);
    assert.ok(Object.getOwnPropertyDescriptor(snapshot, '__proto__'));
    assert.equal(({} as Record<string, unknown>).lastUid, undefined);
    assert.equal(({} as Record<string, unknown>).state, undefined);
    board.forget('acct', '__proto__');
    assert.equal(Object.keys(board.snapshot().acct?.mailboxes ?? {}).length, PROTOTYPE_NAMES.length - 1);
  });
});
