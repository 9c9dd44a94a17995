// How far V8 lets the emulator's heap grow between full collections. Under load the heap is mostly
// garbage: with 100,000 secrets read at random and paged through, what survives a full collection is
// about 15 MB, and V8's default (a heap allowed to grow to four times that on a machine with this much
// memory) let it reach some 65 MB used before collecting, most of the resident memory the
// emulator added under load. Growing by half instead collects at about 25 MB used, at the cost of full
// collections about three times as often, each a few milliseconds of mostly concurrent marking
// (docs/performance.md). The command sets it when it starts; a process that embeds the emulator
// (buildApp) keeps its own settings, and so does a user who gives node the flag.
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 50;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/** Whether the user set V8's heap growing factor on node's command line (NODE_OPTIONS cannot carry it). */
export function heapGrowingSetByUser(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => FLAG.test(arg));
}

/** Sets the heap growing factor for this process unless the user did; answers whether it was set. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): boolean {
  if (heapGrowingSetByUser(execArgv)) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
