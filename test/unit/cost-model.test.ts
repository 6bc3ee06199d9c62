// The cost table is priced from the benchmarks' output: docs/deploying-to-aws.md shows what `npm run cost`
// prints from bench/results/, and the model follows the figures a run wrote.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { type AwsHandlerFigures, type BenchResult, benchResultFile } from '../../bench/results.js';

const ROOT = resolve(import.meta.dirname, '../..');

function cost(...args: string[]): string[] {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/cost.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return out.split('\n').filter((line) => line.startsWith('|'));
}

const row = (table: readonly string[], item: string) =>
  table.find((line) => line.startsWith(`| ${item}`)) ?? assert.fail(`no row for ${item}`);

describe('the cost model (bench/cost.ts)', () => {
  it('prints the table docs/deploying-to-aws.md shows, from the results in bench/results/', () => {
    const documented = readFileSync(join(ROOT, 'docs/deploying-to-aws.md'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| '));
    const printed = cost().filter((line) => /\$\d/.test(line));
    assert.ok(printed.length >= 10);
    for (const line of printed) assert.ok(documented.includes(line), `not in the doc: ${line}`);
  });

  it('prices what a benchmark run wrote: twice the S3 PUTs per message, a larger S3 line', () => {
    const measured = JSON.parse(
      readFileSync(benchResultFile('aws-handlers'), 'utf8'),
    ) as BenchResult<AwsHandlerFigures>;
    const watcher = measured.figures.watcher;
    const doubled: BenchResult<AwsHandlerFigures> = {
      ...measured,
      figures: {
        ...measured.figures,
        watcher: {
          ...watcher,
          requestsPerMessage: {
            ...watcher.requestsPerMessage,
            'S3 PutObject': 2 * (watcher.requestsPerMessage['S3 PutObject'] ?? 0),
          },
        },
      },
    };
    const file = join(mkdtempSync(join(tmpdir(), 'idlehook-cost-')), 'aws-handlers.json');
    writeFileSync(file, JSON.stringify(doubled));
    const dollars = (line: string) => Number(/\$(\d+(?:\.\d+)?)/.exec(line.split('|')[3] ?? '')?.[1]);
    const before = dollars(row(cost('--mailboxes', '10000,100000'), 'S3'));
    const after = dollars(row(cost('--mailboxes', '10000,100000', '--aws-result', file), 'S3'));
    assert.ok(after > before * 1.5, `S3 at 100,000 mailboxes: ${before} -> ${after}`);
  });
});
