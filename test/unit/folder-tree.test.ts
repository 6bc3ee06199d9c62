import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  diffFolderTrees,
  type FolderEntry,
  needsFolderListing,
  resolveMailboxes,
} from '../../src/domain/folder-tree.js';

const folder = (path: string, uidValidity: string | null, specialUse: string | null = null): FolderEntry => ({
  path,
  delimiter: '/',
  specialUse,
  uidValidity,
  selectable: uidValidity !== null,
});

describe('folder trees', () => {
  const tree = [
    folder('INBOX', '1'),
    folder('Sent', '2', '\\Sent'),
    folder('Junk', '3', '\\Junk'),
    folder('Projects', null),
    folder('Projects/Alpha', '4'),
    folder('Projects/Alpha/Old', '5'),
  ];

  it('resolves exact names, wildcards and special uses, INBOX first, never a \\Noselect folder', () => {
    assert.deepEqual(resolveMailboxes(['*'], tree), [
      'INBOX',
      'Junk',
      'Projects/Alpha',
      'Projects/Alpha/Old',
      'Sent',
    ]);
    assert.deepEqual(resolveMailboxes(['Projects/%'], tree), ['Projects/Alpha']);
    assert.deepEqual(resolveMailboxes(['\\Sent', 'inbox'], tree), ['INBOX', 'Sent']);
    assert.deepEqual(
      resolveMailboxes(['Support', '\\Sent'], undefined),
      ['Support'],
      'patterns wait for a listing',
    );
  });

  it("leaves virtual folders that repeat other folders' mail (Gmail's All Mail) out of wildcards only", () => {
    const gmail = [
      folder('INBOX', '1'),
      folder('[Gmail]/All Mail', '2', '\\All'),
      folder('[Gmail]/Starred', '3', '\\Flagged'),
      folder('[Gmail]/Important', '4', '\\Important'),
      folder('[Gmail]/Sent Mail', '5', '\\Sent'),
    ];
    assert.deepEqual(resolveMailboxes(['*'], gmail), ['INBOX', '[Gmail]/Sent Mail']);
    assert.deepEqual(resolveMailboxes(['\\All'], gmail), ['[Gmail]/All Mail']);
    assert.deepEqual(resolveMailboxes(['[Gmail]/All Mail'], gmail), ['[Gmail]/All Mail']);
  });

  it('calls a rename only what is unambiguous: Cyrus gives folders made in one second the same UIDVALIDITY', () => {
    const before = [folder('INBOX', '1'), folder('A', '77'), folder('B', '77')];
    const after = [folder('INBOX', '1'), folder('C', '77')];
    assert.deepEqual(
      diffFolderTrees(before, after).map((c) =>
        c.kind === 'renamed' ? `${c.from.path} -> ${c.to.path}` : `${c.kind} ${c.folder.path}`,
      ),
      ['deleted A', 'deleted B', 'created C'],
    );
  });

  it('tells creations, deletions and renames apart (a rename keeps its UIDVALIDITY)', () => {
    const after = [
      folder('INBOX', '1'),
      folder('Sent', '2', '\\Sent'),
      folder('Projects', null),
      folder('Projects/Beta', '4'),
      folder('Projects/Beta/Old', '5'),
      folder('Invoices', '9'),
    ];
    assert.deepEqual(
      diffFolderTrees(tree, after).map((c) =>
        c.kind === 'renamed' ? `${c.from.path} -> ${c.to.path}` : `${c.kind} ${c.folder.path}`,
      ),
      [
        'deleted Junk',
        'Projects/Alpha -> Projects/Beta',
        'Projects/Alpha/Old -> Projects/Beta/Old',
        'created Invoices',
      ],
    );
    assert.deepEqual(diffFolderTrees(tree, tree), []);
  });
});

describe('mailbox names that differ only in case', () => {
  it('are resolved to the server spelling and watched once', () => {
    const tree = [folder('INBOX', '1'), folder('Support', '2')];
    assert.deepEqual(resolveMailboxes(['Support', 'support', 'inbox', 'SUPPORT'], tree), [
      'INBOX',
      'Support',
    ]);
    assert.deepEqual(resolveMailboxes(['support', '*'], tree), ['INBOX', 'Support']);
  });

  it('stay apart where the server has both spellings (a case-sensitive server)', () => {
    const tree = [folder('INBOX', '1'), folder('Support', '2'), folder('support', '3')];
    assert.deepEqual(resolveMailboxes(['Support', 'support'], tree), ['support', 'Support']);
    assert.deepEqual(resolveMailboxes(['SUPPORT'], tree), ['SUPPORT'], 'ambiguous: left as written');
  });

  it('make the account list its folders before watching', () => {
    assert.equal(needsFolderListing(['INBOX', 'Support']), false);
    assert.equal(needsFolderListing(['Support', 'support']), true);
    assert.equal(needsFolderListing(['Projects/%']), true);
  });
});
