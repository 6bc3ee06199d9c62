import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DovecotServer, startDovecot } from './dovecot.js';
import { waitForPort, waitForPortClosed } from './net.js';
import { childProcessesOf, isRunning } from './proc-stat.js';

export type ImapServerKind = 'dovecot' | 'cyrus' | 'courier';

/**
 * A throwaway IMAP server of any of the three families on loopback, as the interoperability suite drives it: a
 * plain port that offers STARTTLS, an implicit-TLS port, a certificate signed by the test CA.
 */
export interface TestImapServer {
  readonly kind: ImapServerKind;
  /** Names the server and its settings in test titles, e.g. "Cyrus 3.6 (altnamespace)". */
  readonly label: string;
  readonly host: '127.0.0.1';
  readonly plainPort: number;
  readonly tlsPort: number;
  readonly caFile: string;
  /**
   * The full name of the user's personal folder `name`: Debian's Cyrus and Courier keep personal folders under
   * "INBOX." (their default namespace), Dovecot and Cyrus with altnamespace at the top level.
   */
  folder(name: string): string;
  /** What the server wrote to its own log (Courier, Dovecot; Cyrus logs through syslog only). */
  log(): string;
  /** Kills the server like a crash, keeping its mail, so that start() brings it back. */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

export interface TestImapUser {
  readonly name: string;
  readonly password: string;
}

/** Where scripts/ensure-test-deps.js unpacks cyrus-imapd and courier-imap (apt refuses them beside Dovecot). */
export const PACKAGED_ROOT = resolve(import.meta.dirname, '../../.test-servers/root');

export function packagedBinary(path: string): string {
  const binary = join(PACKAGED_ROOT, path);
  if (!existsSync(binary))
    throw new Error(`${binary} is missing: run \`node scripts/ensure-test-deps.js\` (as root) to unpack it`);
  if (process.getuid?.() !== 0)
    throw new Error('Cyrus and Courier test servers start as root (they switch to their own users)');
  return binary;
}

function descendantsOf(pid: number): number[] {
  return childProcessesOf(pid).flatMap((child) => [child, ...descendantsOf(child)]);
}

/**
 * A server that runs in the foreground as one process tree: started detached (its own process group), killed as
 * a crash would kill it, tree and all, so the ports close and a start() afterwards finds them free.
 */
export class ForegroundServer {
  private child: ChildProcess | undefined;

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly logFile: string,
    private readonly ports: readonly number[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async start(): Promise<void> {
    // To a file, not a pipe: daemons inherit the descriptors and would keep a pipe open.
    const descriptor = openSync(this.logFile, 'a');
    const child = spawn(this.command, this.args, {
      detached: true,
      stdio: ['ignore', descriptor, descriptor],
      env: this.env,
    });
    closeSync(descriptor);
    child.unref();
    this.child = child;
    try {
      for (const port of this.ports) await waitForPort(port);
    } catch (error) {
      throw new Error(`${this.command} did not open its ports: ${String(error)}\n${this.log()}`);
    }
  }

  async halt(): Promise<void> {
    const pid = this.child?.pid;
    this.child = undefined;
    if (pid === undefined) return;
    // Stopped first, so that it cannot start more children (Cyrus's master keeps a pre-forked imapd) between the
    // listing and the kill; the process group catches any the listing missed.
    try {
      process.kill(pid, 'SIGSTOP');
    } catch {
      // already gone
    }
    const tree = [pid, ...descendantsOf(pid)];
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // no such group any more
    }
    for (const target of tree) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const deadline = Date.now() + 10_000;
    while (tree.some(isRunning) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const port of this.ports) await waitForPortClosed(port);
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }
}

/** Dovecot in the shape of the other two, for the suite that runs on all three. */
export async function startDovecotServer(users: readonly TestImapUser[]): Promise<TestImapServer> {
  const dovecot: DovecotServer = await startDovecot(users);
  return {
    kind: 'dovecot',
    label: 'Dovecot 2.3',
    host: dovecot.host,
    plainPort: dovecot.plainPort,
    tlsPort: dovecot.tlsPort,
    caFile: dovecot.caFile,
    folder: (name) => name,
    log: () => (existsSync(dovecot.logFile) ? readFileSync(dovecot.logFile, 'utf8') : ''),
    halt: () => dovecot.halt(),
    start: () => dovecot.start(),
    stop: () => dovecot.stop(),
  };
}
