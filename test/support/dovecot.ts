import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort, waitForPortClosed } from './net.js';
import { childProcessesOf, cpuSecondsOf, isRunning, procStat } from './proc-stat.js';

/** A throwaway Dovecot instance on loopback: plain/STARTTLS and implicit-TLS listeners, maildir users. */
export interface DovecotServer {
  readonly host: '127.0.0.1';
  readonly plainPort: number;
  readonly tlsPort: number;
  /** PEM of the CA that signed the server certificate (CN/SAN localhost, 127.0.0.1). */
  readonly caFile: string;
  readonly logFile: string;
  readonly dir: string;
  /** How many times Dovecot rejected a login for this user, read from its own log. */
  loginFailures(user: string): number;
  /** How many logins for this user reached the server at all (success or failure). */
  loginAttempts(user: string): number;
  /** Successful logins logged after `fromByte` of the log, counted per second of the log (it has no finer clock). */
  loginsPerSecond(fromByte: number): number[];
  /** CPU seconds used so far by the master and every process it started, exited ones included (benchmarks). */
  cpuSeconds(): number;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
  /** Kills the server like a crash, keeping its mail, so that start() brings it back. */
  halt(): Promise<void>;
  start(): Promise<void>;
}

export interface DovecotUser {
  readonly name: string;
  readonly password: string;
}

const certificateDir = join(tmpdir(), 'idlehook-test-ca');

/** One CA and server certificate per machine, reused by every test run. */
function ensureCertificates(): { caFile: string; certFile: string; keyFile: string } {
  const caFile = join(certificateDir, 'ca.crt');
  const certFile = join(certificateDir, 'server.crt');
  const keyFile = join(certificateDir, 'server.key');
  if (existsSync(caFile) && existsSync(certFile) && existsSync(keyFile)) return { caFile, certFile, keyFile };
  mkdirSync(certificateDir, { recursive: true });
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: certificateDir, stdio: 'pipe' });
  run(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '3650',
      '-subj',
      '/CN=idlehook test CA',
    ].concat(['-keyout', 'ca.key', '-out', 'ca.crt']),
  );
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
  ]);
  writeFileSync(join(certificateDir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  run(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
    ].concat(['-extfile', 'san.ext', '-out', 'server.crt']),
  );
  return { caFile, certFile, keyFile };
}

/** What Dovecot 2.3 advertises after login with this config: `withoutCapabilities` removes from it. */
const DEFAULT_CAPABILITIES =
  'IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=REFS ' +
  'THREAD=ORDEREDSUBJECT MULTIAPPEND URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS LIST-EXTENDED ' +
  'I18NLEVEL=1 CONDSTORE QRESYNC ESEARCH ESORT SEARCHRES WITHIN CONTEXT=SEARCH LIST-STATUS BINARY MOVE ' +
  'SNIPPET=FUZZY PREVIEW=FUZZY PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY';

/** Certificates a broken server might present, made once per machine next to the good one. */
export type CertificateKind = 'ca-signed' | 'self-signed' | 'expired';

export function certificateFor(kind: CertificateKind): { caFile: string; certFile: string; keyFile: string } {
  const good = ensureCertificates();
  if (kind === 'ca-signed') return good;
  const certFile = join(certificateDir, `${kind}.crt`);
  if (!existsSync(certFile)) {
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: certificateDir, stdio: 'pipe' });
    if (kind === 'self-signed') {
      run([
        'req',
        '-x509',
        '-key',
        'server.key',
        '-days',
        '3650',
        '-subj',
        '/CN=localhost',
        '-out',
        certFile,
      ]);
    } else {
      // Signed by the test CA, valid only in 2020: `openssl ca` is the tool that takes explicit dates.
      writeFileSync(join(certificateDir, 'index.txt'), '');
      writeFileSync(
        join(certificateDir, 'ca.cnf'),
        '[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = .\nserial = ca.srl\n' +
          'default_md = sha256\npolicy = any\nunique_subject = no\ncopy_extensions = copy\n[any]\ncommonName = supplied\n',
      );
      run([
        'ca',
        '-batch',
        '-config',
        'ca.cnf',
        '-cert',
        'ca.crt',
        '-keyfile',
        'ca.key',
        '-in',
        'server.csr',
        '-startdate',
        '200101000000Z',
        '-enddate',
        '201231000000Z',
        '-extfile',
        'san.ext',
        '-out',
        certFile,
      ]);
    }
  }
  return { caFile: good.caFile, certFile, keyFile: good.keyFile };
}

export interface DovecotOptions {
  readonly tls?: boolean;
  readonly withoutCapabilities?: readonly string[];
  readonly certificate?: CertificateKind;
  /** Accept XOAUTH2/OAUTHBEARER tokens that this RFC 7662 introspection endpoint says are active. */
  readonly oauth2IntrospectionUrl?: string;
  /** IMAP sessions one Dovecot process serves (1, Dovecot's default, unless a benchmark holds thousands). */
  readonly imapClientsPerProcess?: number;
  /** Offer COMPRESS=DEFLATE (the imap_zlib plugin). */
  readonly compress?: boolean;
  /**
   * Offer ACL (RFC 4314, the acl and imap_acl plugins), with these folders readable but not changeable by their
   * owner (rights `lr`, from a global ACL file).
   */
  readonly readOnlyFolders?: readonly string[];
}

function dovecotConfig(
  dir: string,
  plainPort: number,
  tlsPort: number,
  certFile: string,
  keyFile: string,
  options: DovecotOptions,
): string {
  const tls = options.tls ?? true;
  const withoutCapabilities = options.withoutCapabilities ?? [];
  const oauth2IntrospectionUrl = options.oauth2IntrospectionUrl;
  // Bearer tokens are checked against the test's token server (RFC 7662 introspection), passwords against the file.
  const oauth2Passdb = oauth2IntrospectionUrl
    ? `auth_mechanisms = plain login xoauth2 oauthbearer
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${dir}/oauth2.conf.ext
}`
    : '';
  const capabilities = DEFAULT_CAPABILITIES.split(' ').filter((c) => !withoutCapabilities.includes(c));
  const capabilitySetting =
    withoutCapabilities.length > 0
      ? `protocol imap {
  imap_capability = ${capabilities.join(' ')}
}`
      : '';
  // Every IMAP process takes one inotify instance, and all run as one uid: past the kernel's per-uid limit
  // (often 128) Dovecot falls back to polling every 30 s. Several clients per process keeps below it.
  const imapService =
    (options.imapClientsPerProcess ?? 1) > 1
      ? `service_count = 0\n  client_limit = ${options.imapClientsPerProcess}\n  vsz_limit = 2G`
      : '';
  // COMPRESS=DEFLATE is offered only with the imap_zlib plugin; imapflow turns it on whenever it is offered.
  const compressSetting = options.compress
    ? 'mail_plugins = $mail_plugins zlib\nprotocol imap {\n  mail_plugins = $mail_plugins imap_zlib\n}'
    : '';
  const aclSetting = options.readOnlyFolders
    ? `mail_plugins = $mail_plugins acl
protocol imap {
  mail_plugins = $mail_plugins imap_acl
}
plugin {
  acl = vfile:${dir}/global-acl
}`
    : '';
  const sslSettings = tls ? `ssl = yes\nssl_cert = <${certFile}\nssl_key = <${keyFile}` : 'ssl = no';
  const tlsListener = tls
    ? `inet_listener imaps {\n    address = 127.0.0.1\n    port = ${tlsPort}\n    ssl = yes\n  }`
    : '';
  return `
instance_name = ${dir.split('/').pop()}
protocols = imap
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
auth_verbose = yes
${sslSettings}
disable_plaintext_auth = no
${oauth2Passdb}
mail_location = mdbox:${dir}/mail/%u
# A throwaway test server: no fsync, so APPEND speed measures Dovecot, not the disk.
mail_fsync = never
mail_uid = nobody
mail_gid = nogroup
first_valid_uid = 1
default_login_user = dovenull
default_internal_user = dovecot
mail_max_userip_connections = 1000
default_process_limit = 1000
default_client_limit = 5000
passdb {
  driver = passwd-file
  args = ${dir}/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${plainPort}
  }
  ${tlsListener}
  service_count = 0
  client_limit = 1000
  process_min_avail = 1
}
service imap {
  process_limit = 1000
  ${imapService}
}
${compressSetting}
${capabilitySetting}
${aclSetting}
`;
}

/** CPU seconds of `pid` and its descendants, with the children each has reaped: exited processes still count. */
function treeCpuSeconds(pid: number): number {
  const fields = procStat(pid);
  // Gone meanwhile: its parent's reaped-children times have it once it is waited for.
  if (!fields) return 0;
  return (
    cpuSecondsOf(fields, true) + childProcessesOf(pid).reduce((sum, child) => sum + treeCpuSeconds(child), 0)
  );
}

/**
 * `tls: false` runs a plain-text-only server: no implicit-TLS port, no STARTTLS. `withoutCapabilities` hides
 * extensions (e.g. IDLE, QRESYNC) the way servers without them behave: clients do not use what is not offered.
 */
export async function startDovecot(
  users: readonly DovecotUser[],
  options: DovecotOptions = {},
): Promise<DovecotServer> {
  const tls = options.tls ?? true;
  if (spawnSync('dovecot', ['--version']).status !== 0) {
    throw new Error(
      'dovecot is not installed: run `node scripts/ensure-test-deps.js` (apt-get install dovecot-imapd)',
    );
  }
  const { caFile, certFile, keyFile } = certificateFor(options.certificate ?? 'ca-signed');
  // Short path: Dovecot's unix sockets live under base_dir and socket paths are limited to ~100 bytes.
  const dir = mkdtempSync('/tmp/ihdc-');
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'mail'));
  chmodSync(join(dir, 'mail'), 0o777);
  writeFileSync(join(dir, 'passwd'), users.map((u) => `${u.name}:{PLAIN}${u.password}\n`).join(''));
  const plainPort = await freePort();
  const tlsPort = await freePort();
  const configFile = join(dir, 'dovecot.conf');
  writeFileSync(configFile, dovecotConfig(dir, plainPort, tlsPort, certFile, keyFile, options));
  // The owner's rights on these folders narrowed to look up and read (Dovecot's global ACL file format).
  if (options.readOnlyFolders)
    writeFileSync(join(dir, 'global-acl'), options.readOnlyFolders.map((f) => `${f} owner lr\n`).join(''));
  const logFile = join(dir, 'dovecot.log');
  if (options.oauth2IntrospectionUrl) {
    writeFileSync(
      join(dir, 'oauth2.conf.ext'),
      `introspection_mode = post\nintrospection_url = ${options.oauth2IntrospectionUrl}\n` +
        'username_attribute = username\nactive_attribute = active\nactive_value = true\nforce_introspection = yes\n',
    );
  }

  const start = async () => {
    // To a file, not a pipe: the daemon inherits the descriptors, and a pipe would stay open as long as it runs.
    const output = join(dir, 'start.out');
    const descriptor = openSync(output, 'w');
    const started = spawnSync('dovecot', ['-c', configFile], { stdio: ['ignore', descriptor, descriptor] });
    closeSync(descriptor);
    if (started.status !== 0)
      throw new Error(
        `dovecot did not start (exit ${started.status}): ${readFileSync(output, 'utf8').trim()}`,
      );
    await waitForPort(plainPort);
    if (tls) await waitForPort(tlsPort);
  };
  /** Kills the master and every process it started (login proxies, IMAP sessions), as a crash would. */
  const halt = async () => {
    const pidFile = join(dir, 'run', 'master.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    // The master stopped first, so that it cannot start more children (it does, all the time, while thousands of
    // clients reconnect) between the listing and the kill; then the master killed, then its children.
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      // already gone
    }
    const killed = [pid, ...childProcessesOf(pid)];
    for (const target of killed) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // A process with thousands of connections takes a while to die, and holds its sockets until then: a start
    // before that finds them answering ("Dovecot is already running?").
    const deadline = Date.now() + 30_000;
    while (killed.some(isRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    rmSync(pidFile, { force: true });
    await waitForPortClosed(plainPort);
  };
  const countLog = (pattern: RegExp) =>
    existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
          .split('\n')
          .filter((l) => pattern.test(l)).length
      : 0;

  await start();
  return {
    host: '127.0.0.1',
    plainPort,
    tlsPort,
    caFile,
    logFile,
    dir,
    loginFailures: (user) =>
      countLog(new RegExp(`passwd-file\\(${user},.*\\): (Password mismatch|unknown user)`)),
    loginAttempts: (user) =>
      countLog(new RegExp(`imap-login: Info: (Login:|Disconnected.*auth failed).*user=<${user}>`)),
    loginsPerSecond: (fromByte) => {
      const perSecond = new Map<string, number>();
      for (const line of readFileSync(logFile).subarray(fromByte).toString('utf8').split('\n')) {
        if (!line.includes('imap-login: Info: Login:')) continue;
        const second = line.slice(0, 15); // "Dec 01 15:59:19"
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      }
      return [...perSecond.values()];
    },
    cpuSeconds: () => {
      const pidFile = join(dir, 'run', 'master.pid');
      return existsSync(pidFile) ? treeCpuSeconds(Number(readFileSync(pidFile, 'utf8').trim())) : 0;
    },
    start,
    halt,
    stop: async () => {
      spawnSync('doveadm', ['-c', configFile, 'stop'], { stdio: 'pipe' });
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
