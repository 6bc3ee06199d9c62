import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { certificateFor } from './dovecot.js';
import {
  ForegroundServer,
  PACKAGED_ROOT,
  packagedBinary,
  type TestImapServer,
  type TestImapUser,
} from './imap-server.js';
import { freePort } from './net.js';

export interface CourierOptions {
  /**
   * Debian ships `IMAP_ENHANCEDIDLE=0`: while a client idles, Courier itself looks for new mail only every
   * IMAP_IDLE_TIMEOUT (60 s). `true` uses FAM/gamin for real-time IDLE.
   */
  readonly enhancedIdle?: boolean;
}

/**
 * Courier IMAP 5 from Debian's courier-imap, unpacked by scripts/ensure-test-deps.js: couriertcpd on a plain
 * (STARTTLS) and an implicit-TLS port, its auth daemon with a userdb, maildirs owned by `nobody`. Courier's auth
 * library has /etc/courier and /run/courier/authdaemon compiled in, so each instance runs in a mount namespace
 * of its own with its own config bind-mounted over those paths: nothing of the system's is touched.
 */
export async function startCourier(
  users: readonly TestImapUser[],
  options: CourierOptions = {},
): Promise<TestImapServer> {
  const imapd = packagedBinary('usr/bin/imapd');
  const imaplogin = packagedBinary('usr/lib/courier/courier/imaplogin');
  const { caFile, certFile, keyFile } = certificateFor('ca-signed');
  const dir = mkdtempSync('/tmp/ihco-');
  chmodSync(dir, 0o755);
  const etc = join(dir, 'etc');
  const run = join(dir, 'run');
  mkdirSync(etc);
  mkdirSync(join(run, 'authdaemon'), { recursive: true });
  mkdirSync(join(dir, 'home'), { mode: 0o755 });
  for (const file of ['imapd', 'imapd-ssl'])
    copyFileSync(join(PACKAGED_ROOT, 'etc/courier', file), join(etc, file));
  // courier-base's install makes DH parameters; where it did not, quick ones do for a test server.
  if (existsSync('/etc/courier/dhparams.pem'))
    copyFileSync('/etc/courier/dhparams.pem', join(etc, 'dhparams.pem'));
  else
    execFileSync('openssl', ['dhparam', '-dsaparam', '-out', join(etc, 'dhparams.pem'), '2048'], {
      stdio: 'ignore',
    });
  writeFileSync(join(etc, 'imapd.pem'), readFileSync(keyFile, 'utf8') + readFileSync(certFile, 'utf8'), {
    mode: 0o600,
  });
  writeFileSync(
    join(etc, 'authdaemonrc'),
    'authmodulelist="authuserdb"\ndaemons=2\nauthdaemonvar=/run/courier/authdaemon\nDEBUG_LOGIN=0\nDEFAULTOPTIONS=""\n',
  );
  const userdb: string[] = [];
  for (const user of users) {
    const home = join(dir, 'home', user.name);
    mkdirSync(home);
    execFileSync('maildirmake.courier', [join(home, 'Maildir')]);
    execFileSync('chown', ['-R', 'nobody:nogroup', home]);
    const hash = execFileSync('openssl', ['passwd', '-1', '-stdin'], { input: user.password })
      .toString()
      .trim();
    const uid = execFileSync('id', ['-u', 'nobody']).toString().trim();
    const gid = execFileSync('id', ['-g', 'nobody']).toString().trim();
    userdb.push(`${user.name}\tuid=${uid}|gid=${gid}|home=${home}|mail=${home}/Maildir|imappw=${hash}`);
  }
  writeFileSync(join(etc, 'userdb'), `${userdb.join('\n')}\n`, { mode: 0o600 });

  const plainPort = await freePort();
  const tlsPort = await freePort();
  // Debian's own /etc/courier/imapd and imapd-ssl, with the instance's ports and certificate on top.
  const settings = [
    'set -a',
    '. /etc/courier/imapd',
    '. /etc/courier/imapd-ssl',
    'TLS_CERTFILE=/etc/courier/imapd.pem',
    'TLS_DHPARAMS=/etc/courier/dhparams.pem',
    'TLS_CACHEFILE=',
    `IMAP_ENHANCEDIDLE=${options.enhancedIdle ? 1 : 0}`,
    'set +a',
  ].join('; ');
  const tcpd =
    '/usr/sbin/couriertcpd -address=127.0.0.1 -nodnslookup -noidentlookup -maxprocs=100 -maxperip=100';
  const script = `set -e
# The packages make both folders; a machine that rebooted since has lost /run/courier (a tmpfs).
mkdir -p /etc/courier /run/courier
mount --bind ${etc} /etc/courier
mount --bind ${run} /run/courier
(cd /etc/courier && /usr/sbin/makeuserdb)
chown -R courier:courier /run/courier/authdaemon
# STARTTLS hands the socket to couriertls, which no longer runs as root: it must read the key as Courier's user.
chown courier:courier /etc/courier/imapd.pem
(set -a; . /etc/courier/authdaemonrc; exec /usr/lib/courier/courier-authlib/authdaemond) &
for i in $(seq 50); do [ -S /run/courier/authdaemon/socket ] && break; sleep 0.1; done
${settings}
IMAP_STARTTLS=YES ${tcpd} ${plainPort} ${imaplogin} ${imapd} Maildir &
IMAP_TLS=1 ${tcpd} ${tlsPort} /usr/bin/couriertls -server -tcpd ${imaplogin} ${imapd} Maildir &
wait
`;
  writeFileSync(join(dir, 'run.sh'), script);
  const server = new ForegroundServer(
    'unshare',
    ['-m', '--propagation', 'private', '/bin/sh', join(dir, 'run.sh')],
    join(dir, 'courier.log'),
    [plainPort, tlsPort],
    // Courier's start scripts run it with an empty environment plus its config: so does this.
    { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  );
  await server.start();

  return {
    kind: 'courier',
    label: `Courier 5 (IMAP_ENHANCEDIDLE=${options.enhancedIdle ? 1 : 0})`,
    host: '127.0.0.1',
    plainPort,
    tlsPort,
    caFile,
    folder: (name) => `INBOX.${name}`,
    log: () => server.log(),
    halt: () => server.halt(),
    start: () => server.start(),
    stop: async () => {
      await server.halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
