import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { certificateFor } from './dovecot.js';
import { ForegroundServer, packagedBinary, type TestImapServer, type TestImapUser } from './imap-server.js';
import { freePort } from './net.js';

export interface CyrusOptions {
  /**
   * Upstream Cyrus 3 and Fastmail: personal folders at the top level, "/" between levels. Debian's default
   * (false): personal folders under "INBOX.", "." between levels.
   */
  readonly altNamespace?: boolean;
}

const ADMIN = 'cyrus';
const ADMIN_PASSWORD = 'cyrus-admin-password';

/**
 * Cyrus IMAP 3.6 from Debian's cyrus-imapd, unpacked by scripts/ensure-test-deps.js, run by its own master
 * process in the foreground with a config of its own: users in a sasldb, their INBOXes created by the admin
 * over IMAP (as a Cyrus operator does).
 */
export async function startCyrus(
  users: readonly TestImapUser[],
  options: CyrusOptions = {},
): Promise<TestImapServer> {
  const imapd = packagedBinary('usr/lib/cyrus/bin/imapd');
  const idled = packagedBinary('usr/lib/cyrus/bin/idled');
  const altNamespace = options.altNamespace ?? false;
  const { caFile, certFile, keyFile } = certificateFor('ca-signed');
  const dir = mkdtempSync('/tmp/ihcy-');
  // lib/socket: idled's socket and each imapd's own IDLE socket beside it (without the folder IDLE stays silent).
  for (const sub of ['lib', 'lib/socket', 'spool', 'run']) mkdirSync(join(dir, sub));
  // Cyrus runs as its own user and must read its key.
  copyFileSync(certFile, join(dir, 'server.crt'));
  copyFileSync(keyFile, join(dir, 'server.key'));
  const plainPort = await freePort();
  const tlsPort = await freePort();
  const config = join(dir, 'imapd.conf');
  writeFileSync(
    config,
    [
      `configdirectory: ${dir}/lib`,
      `partition-default: ${dir}/spool`,
      `admins: ${ADMIN}`,
      'sasl_pwcheck_method: auxprop',
      'sasl_auxprop_plugin: sasldb',
      `sasl_sasldb_path: ${dir}/sasldb2`,
      'sasl_mech_list: PLAIN LOGIN',
      'allowplaintext: yes',
      `altnamespace: ${altNamespace ? 'yes' : 'no'}`,
      `unixhierarchysep: ${altNamespace ? 'yes' : 'no'}`,
      `tls_server_cert: ${dir}/server.crt`,
      `tls_server_key: ${dir}/server.key`,
      `idlesocket: ${dir}/lib/socket/idle`,
      `lmtpsocket: ${dir}/lib/socket/lmtp`,
      `notifysocket: ${dir}/lib/socket/notify`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'cyrus.conf'),
    `START {
  recover cmd="/usr/lib/cyrus/bin/ctl_cyrusdb -r -C ${config}"
}
SERVICES {
  imap cmd="${imapd} -C ${config}" listen="127.0.0.1:${plainPort}" prefork=1
  imaps cmd="${imapd} -s -C ${config}" listen="127.0.0.1:${tlsPort}" prefork=0
}
EVENTS {
}
DAEMON {
  idled cmd="${idled} -C ${config}"
}
`,
  );
  for (const user of [...users, { name: ADMIN, password: ADMIN_PASSWORD }]) {
    execFileSync('saslpasswd2', ['-p', '-c', '-f', join(dir, 'sasldb2'), user.name], {
      input: user.password,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
  }
  chmodSync(dir, 0o755);
  execFileSync('chown', ['-R', 'cyrus:mail', dir]);

  const server = new ForegroundServer(
    '/usr/lib/cyrus/bin/master',
    ['-D', '-C', config, '-M', join(dir, 'cyrus.conf'), '-p', join(dir, 'run', 'master.pid')],
    join(dir, 'master.log'),
    [plainPort, tlsPort],
  );
  await server.start();

  const admin = new ImapFlow({
    host: '127.0.0.1',
    port: plainPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: ADMIN, pass: ADMIN_PASSWORD },
    logger: false,
  });
  await admin.connect();
  try {
    for (const user of users) await admin.mailboxCreate(`user${altNamespace ? '/' : '.'}${user.name}`);
  } finally {
    await admin.logout();
  }

  return {
    kind: 'cyrus',
    label: `Cyrus 3.6 (${altNamespace ? 'altnamespace' : "Debian's default namespace"})`,
    host: '127.0.0.1',
    plainPort,
    tlsPort,
    caFile,
    folder: (name) => (altNamespace ? name : `INBOX.${name}`),
    log: () => server.log(),
    halt: () => server.halt(),
    start: () => server.start(),
    stop: async () => {
      await server.halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
