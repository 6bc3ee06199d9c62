import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { STATE_TABLE_ITEMS } from '../../src/adapters/aws/state-table.js';

const readme = readFileSync(resolve(import.meta.dirname, '../../docs/deploying-to-aws.md'), 'utf8');

/** The rows of the first Markdown table after a heading, as arrays of cells with code marks removed. */
function tableAfter(heading: string): string[][] {
  const section = readme.slice(readme.indexOf(`\n${heading}\n`));
  assert.ok(section.length < readme.length, `docs/deploying-to-aws.md has the heading ${heading}`);
  const lines = section.split('\n');
  const first = lines.findIndex((line) => line.startsWith('|'));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim().replaceAll('`', '')),
    );
  }
  return rows;
}

describe('docs/deploying-to-aws.md', () => {
  it('shows the DynamoDB table as state-table.ts defines it: every item, its pk and its sk, in order', () => {
    const documented = tableAfter('## DynamoDB table').map(([item, pk, sk]) => ({ item, pk, sk }));
    const defined = STATE_TABLE_ITEMS.map(({ item, key }) => ({ item, pk: key.pk, sk: key.sk }));
    assert.deepEqual(documented, defined);
  });
});
