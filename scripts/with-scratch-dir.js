#!/usr/bin/env node
// Runs a command (the test suite) with TMPDIR pointing at a scratch folder of its own, and removes that folder when
// the command ends, whatever it left there. Test suites that start mail servers, stores and bridge processes leave
// files behind when a process is killed or an assertion fails; repeated runs on one machine used to fill its disk.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-scratch-dir.js COMMAND [ARGS...]');
  process.exit(64);
}

const minimumFreeBytes = 4 * 1024 ** 3;
const disk = statfsSync(tmpdir());
const freeBytes = disk.bavail * disk.bsize;
if (freeBytes < minimumFreeBytes) {
  console.error(
    `warning: only ${(freeBytes / 1024 ** 3).toFixed(1)} GiB free under ${tmpdir()}; the tests need about 4 GiB`,
  );
}

const scratch = mkdtempSync(join(tmpdir(), 'idlehook-tests-'));
// Like /tmp, readable by the unprivileged processes some servers drop to.
chmodSync(scratch, 0o755);
const child = spawn(command, args, { stdio: 'inherit', env: { ...process.env, TMPDIR: scratch } });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  rmSync(scratch, { recursive: true, force: true });
  if (signal) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  process.exit(code ?? 1);
});
