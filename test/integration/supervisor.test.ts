import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, waitForPort, waitForPortClosed } from '../support/net.js';
import { newWebhookSecret } from '../support/receiver.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** Processes whose command line contains `needle` (what `pgrep -f` would find). */
function processesWith(needle: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A config whose one account reaches no real server (`account` overrides port and mailboxes), and its HTTP port. */
async function supervisedConfig(account: { port: number; mailboxes?: string[] }) {
  const dir = mkdtempSync(join(tmpdir(), 'idlehook-supervisor-'));
  const port = await freePort();
  const config = join(dir, 'idlehook.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      dataDir: join(dir, 'data'),
      http: { port },
      accounts: [{ id: 'a', host: '127.0.0.1', security: 'none', user: 'u', password: 'p', ...account }],
      subscriptions: [{ id: 's', url: 'http://127.0.0.1:1/', secret: newWebhookSecret() }],
    }),
  );
  return { config, port };
}

// The README tells people to run `npm start`; a supervisor (systemd, Docker, a shell's kill) then sends SIGTERM
// to the process it started, which is npm.
describe('npm start under a supervisor', () => {
  it('stops the bridge itself, cleanly, when npm gets SIGTERM', async () => {
    const { config, port } = await supervisedConfig({ port: 1 });
    const npm = spawn('npm', ['start', '--silent', '--', '--config', config], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npm.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    npm.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    try {
      await waitForPort(port, 60_000);
      assert.equal(processesWith(config).length > 0, true, 'the bridge runs');
      const exited = once(npm, 'exit') as Promise<[number | null, string | null]>;
      // 'close' comes once every holder of the output pipes (npm and the bridge) has let go: only then has all
      // the output arrived. An orphaned bridge would hold them forever, hence the bound.
      const closed = once(npm, 'close');
      npm.kill('SIGTERM');
      const [code, signal] = await exited;
      await Promise.race([closed, new Promise((r) => setTimeout(r, 15_000))]);
      await waitForPortClosed(port, 10_000);
      assert.deepEqual(processesWith(config), [], 'no bridge left running as an orphan');
      assert.match(output, /"message":"shutting down".*"signal":"SIGTERM"/);
      assert.match(output, /"message":"idlehook stopped"/);
      assert.ok(code === 0 || signal === 'SIGTERM', `npm ended (${code ?? signal})`);
    } finally {
      for (const pid of processesWith(config)) process.kill(pid, 'SIGKILL');
    }
  });

  it('stops cleanly on a SIGTERM that arrives while the bridge is still starting', async () => {
    // A server that accepts and never greets: listing the account's folders (mailboxes "*") holds the start-up
    // for imapflow's greeting timeout, long after the HTTP port is open.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const imapPort = (silent.address() as AddressInfo).port;
    const { config, port } = await supervisedConfig({ port: imapPort, mailboxes: ['*'] });
    const bridge = spawn(process.execPath, [resolve(ROOT, 'bin/idlehook.js'), 'run', '--config', config], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    bridge.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    try {
      await waitForPort(port, 60_000);
      assert.doesNotMatch(output, /local mode started/, 'still starting when the signal comes');
      const exited = once(bridge, 'exit') as Promise<[number | null, string | null]>;
      bridge.kill('SIGTERM');
      const [code, signal] = await exited;
      assert.equal(signal, null, 'not killed by the signal');
      assert.equal(code, 0);
      assert.match(output, /"message":"shutting down".*"signal":"SIGTERM"/);
      assert.match(output, /"message":"idlehook stopped"/);
    } finally {
      bridge.kill('SIGKILL');
      silent.close();
    }
  });
});
