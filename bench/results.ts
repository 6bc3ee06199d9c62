// Benchmark results kept in the repository (bench/results/<name>.json), so that `npm run cost` prices what was
// measured, and says when and where.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';

const RESULTS = resolve(import.meta.dirname, 'results');

export interface BenchResult<T> {
  readonly measuredAt: string;
  readonly machine: string;
  readonly figures: T;
}

const machine = () =>
  `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}`;

export function writeBenchResult<T>(name: string, figures: T): string {
  mkdirSync(RESULTS, { recursive: true });
  const file = resolve(RESULTS, `${name}.json`);
  const result: BenchResult<T> = { measuredAt: new Date().toISOString(), machine: machine(), figures };
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

export function readBenchResult<T>(file: string): BenchResult<T> {
  return JSON.parse(readFileSync(file, 'utf8')) as BenchResult<T>;
}

export const benchResultFile = (name: string): string => resolve(RESULTS, `${name}.json`);

/** What `bench:aws` measured per message, by stage. */
export interface AwsHandlerFigures {
  readonly messages: number;
  readonly bodyBytes: number;
  readonly watcher: StageFigures;
  readonly parse: StageFigures;
  readonly deliver: StageFigures;
}

export interface StageFigures {
  /** By service and operation, e.g. "S3 PutObject". */
  readonly requestsPerMessage: Readonly<Record<string, number>>;
  readonly dynamoUnitsPerMessage: { readonly read: number; readonly write: number };
  readonly handlerMsPerMessage?: { readonly p50: number; readonly p95: number };
}

/** What `bench:control-plane` measured (the part `npm run cost` prices). */
export interface ControlPlaneFigures {
  readonly accounts: number;
  readonly tasks: number;
  readonly steady: {
    readonly seconds: number;
    /** By partition family: the key up to its first '#', an index's prefixed with its name. */
    readonly unitsPerMailboxHour: Readonly<Record<string, { readonly read: number; readonly write: number }>>;
    readonly throttled: number;
  };
  readonly kmsCalls: { readonly total: number; readonly duringSteadyState: number };
}
