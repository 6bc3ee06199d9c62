#!/usr/bin/env node
// Installs what the tests and benchmarks need from Debian's packages: three real IMAP servers (Dovecot, Cyrus,
// Courier), openssl, and Chromium (the dashboard's browser test drives it headless through puppeteer-core;
// nothing is downloaded by npm). The tests start their own server instances; no package's system service is used.
//
// cyrus-imapd and courier-imap both declare `Conflicts: imap-server`, which dovecot-imapd provides, so apt refuses
// to install them beside Dovecot. Their dependencies install normally; the two packages themselves are fetched
// with `apt-get download` and unpacked into .test-servers/ (git-ignored), where test/support runs them from.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const packagedRoot = join(root, '.test-servers', 'root');
const has = (command, args) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
const hasFile = (path) => existsSync(path);

const needed = [
  ['dovecot-imapd', has('dovecot', ['--version'])],
  ['openssl', has('openssl', ['version'])],
  ['chromium', has('chromium', ['--version'])],
  // What the unpacked Cyrus imapd needs: its master, libraries, sasldb tools.
  ['cyrus-common', hasFile('/usr/lib/cyrus/bin/master')],
  ['sasl2-bin', has('saslpasswd2', ['-v'])],
  [
    'libsasl2-modules',
    hasFile('/usr/lib/x86_64-linux-gnu/sasl2/libplain.so') ||
      hasFile('/usr/lib/aarch64-linux-gnu/sasl2/libplain.so'),
  ],
  // What the unpacked Courier imapd needs: couriertcpd, couriertls, the auth daemon with its userdb module, and
  // gamin for IMAP_ENHANCEDIDLE=1.
  ['courier-base', has('couriertls', ['-h']) || hasFile('/usr/bin/couriertls')],
  ['courier-authdaemon', hasFile('/usr/lib/courier/courier-authlib/authdaemond')],
  ['courier-authlib-userdb', hasFile('/usr/sbin/makeuserdb')],
  ['gamin', hasFile('/usr/libexec/gam_server') || hasFile('/usr/lib/gamin/gam_server')],
  // unshare(1) runs each Courier instance in a mount namespace of its own.
  ['util-linux', has('unshare', ['--version'])],
  // ip(8) makes the network namespace in which a test pulls a real cable (test/support/cut-cable.ts).
  ['iproute2', has('ip', ['-V'])],
]
  .filter(([, present]) => !present)
  .map(([name]) => name);
const unpackNeeded =
  !existsSync(join(packagedRoot, 'usr/lib/cyrus/bin/imapd')) ||
  !existsSync(join(packagedRoot, 'usr/bin/imapd'));
if (needed.length === 0 && !unpackNeeded) process.exit(0);

if (process.getuid?.() !== 0) {
  console.error(
    `The tests need ${[...needed, ...(unpackNeeded ? ['cyrus-imapd', 'courier-imap'] : [])].join(', ')}: run \`sudo node scripts/ensure-test-deps.js\``,
  );
  process.exit(1);
}
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const apt = (args, options = {}) => {
  const result = spawnSync('apt-get', args, { stdio: 'inherit', env, ...options });
  if (result.status !== 0) {
    console.error(`apt-get ${args.join(' ')} failed (exit ${result.status})`);
    process.exit(1);
  }
};

if (needed.length > 0) {
  console.error(`Installing ${needed.join(', ')} with apt-get ...`);
  // Package installs must not start system services (cyrus-common and courier-* ship some): a policy-rc.d that
  // refuses them, only where the machine has none of its own.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    apt(['update', '-qq']);
    apt(['install', '-y', '-qq', ...needed]);
    // The downloaded packages stay in apt's cache otherwise; Chromium's alone are a few hundred MB.
    apt(['clean']);
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
}

if (unpackNeeded) {
  console.error('Unpacking cyrus-imapd and courier-imap into .test-servers/ ...');
  const downloads = join(root, '.test-servers', 'debs');
  rmSync(downloads, { recursive: true, force: true });
  mkdirSync(downloads, { recursive: true });
  // apt's sandbox user cannot write into a root-owned checkout; the download is still checked against apt's lists.
  apt(['download', '-qq', '-o', 'APT::Sandbox::User=root', 'cyrus-imapd', 'courier-imap'], {
    cwd: downloads,
  });
  for (const deb of readdirSync(downloads).filter((name) => name.endsWith('.deb'))) {
    const result = spawnSync('dpkg-deb', ['-x', join(downloads, deb), packagedRoot], { stdio: 'inherit' });
    if (result.status !== 0) {
      console.error(`dpkg-deb -x ${deb} failed (exit ${result.status})`);
      process.exit(1);
    }
  }
  rmSync(downloads, { recursive: true, force: true });
}
