import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/net.js';
import { NEWEST_LTS_MAJOR, newestLtsNode } from '../support/newest-lts-node.js';
import { newWebhookSecret } from '../support/receiver.js';

const root = resolve(import.meta.dirname, '../..');

/** Runs npm, as a user would, and fails with its output when it fails. */
function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: 600_000 });
  assert.equal(result.status, 0, `npm ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describe('the npm package: packed, installed into an empty folder, run from there', () => {
  const running: ChildProcess[] = [];
  after(() => {
    for (const child of running) child.kill('SIGTERM');
  });

  // This machine's Node 20, and the newest LTS fetched from the npm registry: the user's `node` is whichever comes
  // first on PATH, and the native SQLite module is built for it at install (node-gyp, from that Node's headers).
  const runtimes = [
    {
      name: `Node ${process.versions.node} (this machine)`,
      major: process.versions.node.split('.')[0],
      env: () => process.env,
    },
    {
      name: `Node ${NEWEST_LTS_MAJOR} (the newest LTS)`,
      major: String(NEWEST_LTS_MAJOR),
      env: () => {
        const { binDir, nodeDir } = newestLtsNode();
        return { ...process.env, PATH: `${binDir}:${process.env.PATH}`, npm_config_nodedir: nodeDir };
      },
    },
  ];
  for (const runtime of runtimes)
    it(`installs from the tarball on ${runtime.name}; \`idlehook --help\` runs, and listen + run + trigger deliver a verified webhook`, async () => {
      const packed = mkdtempSync(join(tmpdir(), 'idlehook-pack-'));
      npm(['pack', '--pack-destination', packed], root);
      const [tarball] = readdirSync(packed).filter((f) => f.endsWith('.tgz'));
      assert.ok(tarball, 'npm pack made a tarball');
      const listing = spawnSync('tar', ['tzf', join(packed, tarball)], { encoding: 'utf8' }).stdout;
      for (const file of [
        'package/LICENSE',
        'package/bin/idlehook.js',
        'package/dist/idlehook.mjs',
        'package/schemas/openapi.json',
        'package/CHANGELOG.md',
        'package/docs/configuration.md',
      ])
        assert.ok(listing.includes(file), `${file} is in the package`);
      assert.ok(
        !listing.includes('package/src/') && !listing.includes('package/test/'),
        'sources and tests stay out',
      );

      const env = runtime.env();
      const node = spawnSync('node', ['--version'], { env, encoding: 'utf8' }).stdout;
      assert.match(node, new RegExp(`^v${runtime.major}\\.`), 'the node a user of this runtime runs');
      const user = mkdtempSync(join(tmpdir(), 'idlehook-user-'));
      writeFileSync(join(user, 'package.json'), JSON.stringify({ name: 'try-idlehook', private: true }));
      npm(['install', '--prefer-offline', '--no-audit', '--no-fund', join(packed, tarball)], user, env);
      // The bundle carries everything but the native SQLite module: that, and what it needs, is all that installs.
      const installed = JSON.parse(npm(['ls', '--all', '--json'], user, env)) as {
        dependencies?: Record<string, { dependencies?: Record<string, unknown> }>;
      };
      const needed = Object.keys(installed.dependencies?.idlehook?.dependencies ?? {});
      assert.deepEqual(needed, ['better-sqlite3']);
      const packages = readdirSync(join(user, 'node_modules')).filter((name) => !name.startsWith('.'));
      assert.ok(packages.length < 40, `${packages.length} packages installed: ${packages.join(', ')}`);
      const idlehook = join(user, 'node_modules', '.bin', 'idlehook');
      const help = spawnSync(idlehook, ['--help'], { cwd: user, env, encoding: 'utf8' });
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /listen \[--port N\]/);
      assert.match(help.stdout, /trigger message\.received/);

      const secret = newWebhookSecret();
      const port = await freePort();
      const listener = spawn(idlehook, ['listen', '--port', String(port), '--secret', secret], {
        cwd: user,
        env,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      running.push(listener);
      let printed = '';
      listener.stdout?.on('data', (d: Buffer) => {
        printed += d.toString();
      });
      writeFileSync(
        join(user, 'idlehook.config.json'),
        JSON.stringify({
          http: { port: await freePort() },
          subscriptions: [
            { id: 'local', url: `http://127.0.0.1:${port}/`, secret: { env: 'LISTEN_SECRET' } },
          ],
        }),
      );
      const bridge = spawn(idlehook, ['run'], {
        cwd: user,
        env: { ...env, LISTEN_SECRET: secret },
        stdio: 'ignore',
      });
      running.push(bridge);
      // Queued whether or not the bridge is up yet: it delivers once it runs.
      const triggered = spawnSync(idlehook, ['trigger', 'message.received'], {
        cwd: user,
        env: { ...env, LISTEN_SECRET: secret }, // the config it reads names the secret's variable
        encoding: 'utf8',
      });
      assert.equal(triggered.status, 0, triggered.stderr);
      const eventId = /Queued (evt_[0-9a-f]{32})/.exec(triggered.stdout)?.[1];
      assert.ok(eventId, 'trigger queued a sample');
      for (let i = 0; i < 200 && !printed.includes(eventId); i++) await sleep(100);
      assert.match(printed, new RegExp(`${eventId}  message\\.received account=trigger`));
    });
});
