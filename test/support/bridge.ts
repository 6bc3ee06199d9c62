import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { AccountSnapshot } from '../../src/domain/account-status.js';
import { freePort } from './net.js';
import { cpuSecondsOf, procStat } from './proc-stat.js';

export interface BridgeStatus {
  readonly accounts: Record<string, AccountSnapshot>;
  readonly queues: Record<string, number>;
}

const CLI = resolve(import.meta.dirname, '../../bin/idlehook.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `idlehook ARGS` to its end, in `cwd`, with `input` on its standard input (which then ends). */
export async function runIdlehook(
  args: readonly string[],
  options: { readonly cwd?: string; readonly input?: string; readonly env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdin.end(options.input ?? '');
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}

/** The real `idlehook` CLI as a child process, as a user runs it. */
export class BridgeProcess {
  private child: ChildProcess | undefined;
  readonly logFile: string;
  readonly configFile: string;
  url = '';

  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {
    this.logFile = join(dir, 'bridge.log');
    this.configFile = join(dir, 'idlehook.config.json');
  }

  static async create(config: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): Promise<BridgeProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'idlehook-bridge-'));
    const bridge = new BridgeProcess(dir, env);
    const port = await freePort();
    bridge.url = `http://127.0.0.1:${port}`;
    writeFileSync(
      bridge.configFile,
      JSON.stringify({ dataDir: join(dir, 'data'), http: { port }, ...config }, null, 2),
    );
    return bridge;
  }

  async start(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    // IDLEHOOK_BRIDGE_NODE_ARGS: extra node flags for the bridge process, e.g. "--cpu-prof" when profiling.
    const nodeArgs = process.env.IDLEHOOK_BRIDGE_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    this.child = spawn(process.execPath, [...nodeArgs, CLI, 'run', '--config', this.configFile], {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (this.child.exitCode !== null) throw new Error(`bridge exited early:\n${this.log()}`);
      const ok = await fetch(`${this.url}/status`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`bridge did not start:\n${this.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async status(): Promise<BridgeStatus> {
    return (await (await fetch(`${this.url}/status`)).json()) as BridgeStatus;
  }

  /** Sends the signal and waits for the process to exit; returns its exit code. */
  async kill(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
    const exited = once(child, 'exit');
    child.kill(signal);
    const [code] = (await exited) as [number | null];
    this.child = undefined;
    return code;
  }

  /** Peak resident memory of the bridge process so far (VmHWM), in MiB. */
  peakRssMiB(): number {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return Number(match?.[1] ?? 0) / 1024;
  }

  /** CPU time the bridge process has used so far (user + system), in seconds. */
  cpuSeconds(): number {
    const fields = procStat(this.pid);
    if (!fields) throw new Error(`bridge process ${this.pid} is gone`);
    return cpuSecondsOf(fields);
  }

  /** CPU seconds so far of each kind of thread (by its name: V8's helpers, libuv's pool, workers), summed. */
  threadCpuSeconds(): Map<string, number> {
    const byName = new Map<string, number>();
    for (const tid of readdirSync(`/proc/${this.pid}/task`)) {
      const fields = procStat(`${this.pid}/task/${tid}`);
      if (!fields) continue; // the thread ended meanwhile
      const name = tid === String(this.pid) ? 'main' : threadName(`/proc/${this.pid}/task/${tid}/comm`);
      byName.set(name, (byName.get(name) ?? 0) + cpuSecondsOf(fields));
    }
    return byName;
  }

  get pid(): number {
    const pid = this.child?.pid;
    if (!pid) throw new Error('bridge is not running');
    return pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  /** Runs another CLI command against the same config and data. */
  cli(...args: string[]): Promise<CliResult> {
    return runIdlehook([...args, '--config', this.configFile], { env: this.env });
  }

  /** The log once `pattern` is in it: lines reach the file through a pipe, a moment after they happened. */
  async logWith(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.log()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return this.log();
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async dispose(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A thread's name as /proc gives it (threads of one kind share it), or 'gone' once the thread has ended. */
function threadName(commPath: string): string {
  try {
    return readFileSync(commPath, 'utf8').trim();
  } catch {
    return 'gone';
  }
}
