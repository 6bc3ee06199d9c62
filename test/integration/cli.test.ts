import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Webhook } from 'standardwebhooks';

const CLI = resolve(import.meta.dirname, '../../bin/idlehook.js');

function idlehook(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

/** A config file in a new temporary folder, its data directory beside it; returns the file's path. */
function configFile(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'idlehook-cli-'));
  const file = join(dir, 'idlehook.config.json');
  writeFileSync(file, JSON.stringify({ dataDir: join(dir, 'data'), ...config }));
  return file;
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

  it('says the HTTP port is taken, by another idlehook perhaps, instead of a stack trace (exit 78)', async () => {
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    const { port } = holder.address() as AddressInfo;
    try {
      const file = configFile({
        http: { port },
        accounts: [{ id: 'a', host: '127.0.0.1', port: 1, security: 'none', user: 'u', password: 'p' }],
      });
      const result = await new Promise<{ status: number | null; stderr: string }>((done) => {
        const child = spawn(process.execPath, [CLI, 'run', '--config', file], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.on('exit', (status) => done({ status, stderr }));
      });
      assert.equal(result.status, 78, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`http\\.port: 127\\.0\\.0\\.1:${port} is in use\\. Another idlehook may be running`),
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      holder.close();
    }
  });

  it('listen: verifies each webhook with the Standard Webhooks library and prints one line per event', async () => {
    const secret = `whsec_${Buffer.alloc(32, 3).toString('base64')}`;
    const child = spawn(process.execPath, [CLI, 'listen', '--port', '0', '--secret', secret], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const match = /Listening on (\S+?),? /.exec(stderr);
          if (match?.[1]) resolve(match[1]);
        });
        child.once('exit', () => reject(new Error(stderr)));
      });
      const body = JSON.stringify({
        type: 'message.received',
        timestamp: new Date().toISOString(),
        data: { account: 'support', mailbox: 'INBOX', uid: 7, subject: 'Printer' },
      });
      const post = (signature: string) =>
        fetch(url, {
          method: 'POST',
          body,
          headers: {
            'webhook-id': 'evt_1',
            'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
            'webhook-signature': signature,
          },
        });
      const signature = new Webhook(secret).sign('evt_1', new Date(), body);
      assert.equal((await post(signature)).status, 200);
      assert.equal((await post('v1,bm90IGEgc2lnbmF0dXJl')).status, 400);
      for (let i = 0; i < 50 && !stdout.includes('rejected'); i++)
        await new Promise((r) => setTimeout(r, 50));
      const [accepted, rejected] = stdout.trim().split('\n');
      assert.match(
        accepted ?? '',
        /evt_1 {2}message\.received account=support mailbox=INBOX uid=7 subject="Printer"$/,
      );
      assert.match(rejected ?? '', /^rejected {2}evt_1: /);
      // A mismatch says what to check: the secret, and which one this listen used.
      assert.match(
        rejected ?? '',
        /signs with another secret than this listen's \(the one given with --secret\)/,
      );
    } finally {
      child.kill('SIGTERM');
    }
    const made = spawn(process.execPath, [CLI, 'listen', '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const announced = await new Promise<string>((resolve) => {
      let text = '';
      made.stderr.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) resolve(text);
      });
    });
    made.kill('SIGTERM');
    assert.match(announced, /Give the subscription this secret: whsec_[A-Za-z0-9+/]{32}\n/);
  });

  it('lists dead letters without loading the IMAP client or the parser', () => {
    const file = configFile({
      accounts: [{ id: 'support', host: 'imap.example.com', user: 'u', password: 'p' }],
      subscriptions: [{ id: 'hook', url: 'https://example.com/hook', secret: `whsec_${'A'.repeat(32)}` }],
    });
    const trace = join(dirname(file), 'modules.txt');
    const result = spawnSync(
      process.execPath,
      [
        '--import',
        resolve(import.meta.dirname, '../support/module-trace.mjs'),
        CLI,
        'deliveries',
        '--failed',
        '--config',
        file,
      ],
      { encoding: 'utf8', env: { ...process.env, IDLEHOOK_MODULE_TRACE: trace } },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /No failed deliveries/);
    const modules = readFileSync(trace, 'utf8').split('\n');
    assert.ok(
      modules.some((url) => url.includes('/node_modules/better-sqlite3/')),
      'the trace sees the modules the command does need',
    );
    // The CLI is a bundle: what a loaded chunk holds is listed in its source map.
    const sources = modules
      .filter((url) => url.startsWith('file:') && url.includes('/dist/') && url.endsWith('.mjs'))
      .flatMap(
        (url) =>
          (JSON.parse(readFileSync(`${fileURLToPath(url)}.map`, 'utf8')) as { sources: string[] }).sources,
      );
    assert.ok(
      sources.some((source) => source.endsWith('src/cli/commands/deliveries.ts')),
      "the loaded chunks' sources are seen",
    );
    const needless = sources.filter((source) =>
      /node_modules\/(imapflow|mailparser|@aws-sdk)\//.test(source),
    );
    assert.deepEqual(needless, []);
  });

  it('prints usage for --help and rejects an unknown command', () => {
    const help = idlehook(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Usage: idlehook <command>/);
    // One command's help is that command's usage, not the whole list.
    const initHelp = idlehook(['init', '--help']);
    assert.equal(initHelp.status, 0);
    assert.match(initHelp.stdout, /^Usage: idlehook init \[--provider NAME/);
    assert.doesNotMatch(initHelp.stdout, /deliveries/);
    const unknown = idlehook(['frobnicate', '--config', '/dev/null']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /Unknown command "frobnicate"/);
  });

  it('answers --version, and says in one line (no stack) what is wrong with an option or with AWS access', () => {
    const version = idlehook(['--version']);
    assert.equal(version.status, 0, version.stderr);
    const { version: packaged } = JSON.parse(
      readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8'),
    );
    assert.equal(version.stdout.trim(), packaged);
    assert.equal(idlehook(['-V']).stdout.trim(), packaged);

    const unknown = idlehook(['--verison']);
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr, "idlehook: Unknown option '--verison'. (see idlehook --help)\n");

    // No region, no credentials: the SDK's error, in one line with what to set; its stack only with IDLEHOOK_DEBUG.
    const withoutAws = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')),
    );
    const noRegion = spawnSync(process.execPath, [CLI, 'accounts', 'list', '--stack', 'Nope'], {
      encoding: 'utf8',
      env: { ...withoutAws, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' },
    });
    assert.equal(noRegion.status, 1);
    const ours = noRegion.stderr.split('\n').filter((line) => line.startsWith('idlehook:'));
    assert.equal(ours.length, 1, noRegion.stderr);
    assert.match(ours[0] ?? '', /Region is missing \(set AWS_REGION/);
    assert.doesNotMatch(noRegion.stderr, /^\s+at /m, 'no stack');
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
