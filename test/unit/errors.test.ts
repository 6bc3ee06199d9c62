import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { IdlehookError } from '../../src/domain/errors.js';
import { classifyImapError, explainLoginRejection } from '../../src/imap/connection-failure.js';

const root = resolve(import.meta.dirname, '../..');
const target = { host: 'imap.example.com', port: 993, user: 'support@example.com' };

function sources(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(folder, file));
}

describe('errors', () => {
  it('are raised as IdlehookError subclasses, never as a plain Error with a code pasted on', () => {
    const offenders = ['src', 'containers', 'functions', 'infra']
      .flatMap(sources)
      .filter((file) => /Object\.assign\(\s*new Error/.test(readFileSync(join(root, file), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('keep their class names in a minified bundle, as the CLI, the watcher and the Lambdas are built', async () => {
    const out = mkdtempSync(join(tmpdir(), 'idlehook-names-'));
    try {
      await build({
        stdin: {
          contents: `
            import { ConfigError } from './src/config/load-config.js';
            import { MailboxNotOwnedError } from './src/domain/errors.js';
            import { ConnectionClosedError } from './src/imap/connection-failure.js';
            import { RawMessageMissingError } from './src/pipeline/handle-ingest.js';
            export const names = [new ConfigError('f', []), new MailboxNotOwnedError('a'),
              new ConnectionClosedError(), new RawMessageMissingError('k')].map((e) => e.name);`,
          resolveDir: root,
          loader: 'ts',
        },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'node',
        mainFields: ['module', 'main'],
        banner: {
          js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        },
        outfile: join(out, 'names.mjs'),
        logLevel: 'silent',
      });
      const { names } = (await import(pathToFileURL(join(out, 'names.mjs')).href)) as { names: string[] };
      assert.deepEqual(names, [
        'ConfigError',
        'MailboxNotOwnedError',
        'ConnectionClosedError',
        'RawMessageMissingError',
      ]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('classify an imapflow failure with its system code, the fix and the original as cause', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const classified = classifyImapError(refused, target);
    assert.ok(classified instanceof IdlehookError);
    assert.equal(classified.code, 'ECONNREFUSED');
    assert.equal(classified.retryable, true);
    assert.equal(classified.cause, refused);
    assert.match(classified.message, /nothing listens on that port/);
  });

  it("explain a rejected login in account.error with the doctor's table", () => {
    const rejected = Object.assign(new Error('Command failed'), {
      authenticationFailed: true,
      serverResponseCode: 'ALERT',
      responseText: 'Application-specific password required',
    });
    const classified = classifyImapError(rejected, target);
    const explanation = explainLoginRejection('ALERT Application-specific password required');
    assert.equal(classified.code, 'AUTHENTICATION_FAILED');
    assert.ok(classified.message.includes(explanation.summary), classified.message);
    assert.ok(classified.message.includes(explanation.fix), classified.message);
    assert.match(explanation.summary, /app password/);
    assert.match(
      explainLoginRejection('AUTHENTICATIONFAILED Authentication failed.').summary,
      /wrong user name/,
    );
  });
});
