import { setFlagsFromString } from 'node:v8';

/** After a full collection, the old generation may grow by half its live size before the next one. */
const HEAP_GROWING_PERCENT = 50;

const FLAG = 'heap-growing-percent';

/** Whether the operator started node with a heap growth of their own (NODE_OPTIONS cannot carry it), which stands. */
export function heapGrowthChosenByOperator(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => arg.replace(/_/g, '-').startsWith(`--${FLAG}`));
}

/**
 * V8 sizes its heap to the machine: on a host with gigabytes free it lets the old generation grow to up to four
 * times what survived the last full collection. A burst of mail makes garbage fast (parsed messages, queue rows,
 * HTTP requests outlive a young-generation collection when many are in flight), so a long-running bridge peaked
 * at 201-229 MiB for 21-25 MiB of live heap. Growing by half instead peaks at 144-151 MiB and settles lower after
 * the burst, for about a tenth more CPU while the burst lasts (bench:throughput; docs/benchmarks.md). V8 reads this
 * setting at every full collection, so it applies from the next one on.
 */
export function limitHeapGrowth(): void {
  if (heapGrowthChosenByOperator(process.execArgv)) return;
  setFlagsFromString(`--${FLAG}=${HEAP_GROWING_PERCENT}`);
}
