import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';

const MODULE = resolve(import.meta.dirname, '../../src/compose/unexpected-errors.ts');

/** Runs a small program that installs the policy, then fails the way `how` says. */
function crashWith(how: string) {
  const program = `
    import { exitOnUnexpectedErrors } from ${JSON.stringify(MODULE)};
    const logger = { debug() {}, info() {}, warn() {}, error: (m, f) => console.log(JSON.stringify({ m, ...f })) };
    exitOnUnexpectedErrors(logger, async () => console.log('stopped cleanly'));
    setInterval(() => {}, 1000); // something that would otherwise keep the process alive
    ${how}
  `;
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], {
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('an unexpected error in a long-running process', () => {
  for (const [kind, how] of [
    ['unhandledRejection', "setTimeout(() => Promise.reject(new Error('boom in a promise')), 10);"],
    ['uncaughtException', "setTimeout(() => { throw new Error('boom in a timer'); }, 10);"],
  ] as const) {
    it(`${kind}: logged with its stack, stopped cleanly, exit 70 for the supervisor`, () => {
      const result = crashWith(how);
      assert.equal(result.status, 70, result.stderr);
      const logged = JSON.parse(result.stdout.split('\n')[0] ?? '') as Record<string, string>;
      assert.equal(logged.kind, kind);
      assert.match(logged.error ?? '', /boom/);
      assert.match(logged.stack ?? '', /Error: boom/);
      assert.match(result.stdout, /stopped cleanly/);
    });
  }
});
