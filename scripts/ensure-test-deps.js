#!/usr/bin/env node
// Installs what the tests and benchmarks need from Debian's packages: a real Dovecot IMAP server, openssl, and
// Chromium (the dashboard's browser test drives it headless through puppeteer-core; nothing is downloaded by npm).
// The tests start their own Dovecot instances; the package's system service is never used.
import { spawnSync } from 'node:child_process';

const has = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

const needed = [
  ['dovecot-imapd', has('dovecot', ['--version'])],
  ['openssl', has('openssl', ['version'])],
  ['chromium', has('chromium', ['--version'])],
]
  .filter(([, present]) => !present)
  .map(([name]) => name);
if (needed.length === 0) process.exit(0);

if (process.getuid?.() !== 0) {
  console.error(`The tests need ${needed.join(', ')}: sudo apt-get install -y ${needed.join(' ')}`);
  process.exit(1);
}
console.error(`Installing ${needed.join(', ')} with apt-get ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', ...needed],
  // The downloaded packages stay in apt's cache otherwise; Chromium's alone are a few hundred MB.
  ['clean'],
]) {
  const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
    process.exit(1);
  }
}
