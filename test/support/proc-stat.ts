import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ): 100 on Linux unless the kernel was built otherwise. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The fields of /proc/<pid>/stat after the command name, which may contain spaces and ')': index 0 is the state
 * (field 3), 1 the parent pid. Undefined once the process is gone.
 */
export function procStat(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds of a process: user + system (fields 14-15), and with `reaped` its waited-for children's (16-17). */
export function cpuSecondsOf(fields: readonly string[], reaped = false): number {
  const ticks = fields.slice(11, reaped ? 15 : 13).reduce((sum, field) => sum + Number(field), 0);
  return ticks / CLOCK_TICKS_PER_SECOND;
}

/** Whether the process exists and is not a zombie (which holds no sockets any more). */
export function isRunning(pid: number): boolean {
  const state = procStat(pid)?.[0];
  return state !== undefined && state !== 'Z';
}

/** Pids whose parent is `pid`, read from /proc (no procps needed). */
export function childProcessesOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(procStat(entry)?.[1]) === pid)
    .map(Number);
}
