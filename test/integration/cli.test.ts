import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

const CLI = resolve(import.meta.dirname, '../../bin/idlehook.js');

function idlehook(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('the idlehook command', () => {
  it('refuses a bad config at start, naming every bad field, with exit code 78', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idlehook-cli-'));
    const file = join(dir, 'idlehook.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        accounts: [
          {
            id: 'support',
            host: 'imap.example.com',
            port: 0,
            user: 'u',
            password: { env: 'NOT_SET_ANYWHERE' },
          },
        ],
        subscriptions: [{ id: 'hook', url: 'not a url', secret: 'whsec_' }],
      }),
    );
    const result = idlehook(['run', '--config', file]);
    assert.equal(result.status, 78);
    assert.match(result.stderr, new RegExp(`Invalid configuration in ${file.replace(/[.]/g, '\\.')}`));
    for (const field of [
      'accounts\\[0\\]\\.port',
      'accounts\\[0\\]\\.password\\.env: environment variable NOT_SET_ANYWHERE is not set',
      'subscriptions\\[0\\]\\.url',
      'subscriptions\\[0\\]\\.secret',
    ]) {
      assert.match(result.stderr, new RegExp(`- ${field}`));
    }
  });

  it('prints usage for --help and rejects an unknown command', () => {
    const help = idlehook(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: idlehook <command>/);
    const unknown = idlehook(['frobnicate', '--config', '/dev/null']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  });

  it("lists every command in the usage, and refuses an option that is not the command's", () => {
    const help = idlehook(['--help']).stdout;
    for (const command of [
      'run',
      'doctor',
      'deliveries',
      'replay',
      'attempts',
      'accounts add',
      'subscriptions add',
    ])
      assert.match(help, new RegExp(`^  ${command}\\b`, 'm'), command);
    const foreign = idlehook(['doctor', '--url', 'https://example.com', '--config', '/dev/null']);
    assert.equal(foreign.status, 78);
    assert.match(foreign.stderr, /--url: is not an option of "idlehook doctor"/);
  });
});
