#!/usr/bin/env node
// Installs what the tests and benchmarks need from Debian's packages: a real Dovecot IMAP server and openssl.
// The tests start their own Dovecot instances; the package's system service is never used.
import { spawnSync } from 'node:child_process';

const has = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;

if (has('dovecot', ['--version']) && has('openssl', ['version'])) process.exit(0);

if (process.getuid?.() !== 0) {
  console.error('The tests need Dovecot and openssl: sudo apt-get install -y dovecot-imapd openssl');
  process.exit(1);
}
console.error('Installing dovecot-imapd and openssl with apt-get ...');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', 'dovecot-imapd', 'openssl'],
]) {
  const result = spawnSync('apt-get', args, { stdio: 'inherit', env });
  if (result.status !== 0) {
    console.error(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
    process.exit(1);
  }
}
