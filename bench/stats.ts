import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export function summary(values: readonly number[]): {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  n: number;
} {
  return {
    p50: percentile(values, 50),
    p90: percentile(values, 90),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    n: values.length,
  };
}

export const ms = (value: number) => `${value.toFixed(1)} ms`;

/**
 * Runs a floor benchmark (`bench/<script>.ts`) in a node process of its own, so that its CPU time counts nothing
 * else, and returns the JSON figures it printed last.
 */
export async function figuresOfChild<T>(script: string, args: readonly string[]): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...args], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T;
}
