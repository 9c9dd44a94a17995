// The command's heap setting (cli/heap.ts) yields to the user's own: the V8 flag given on node's command
// line, in either spelling V8 accepts.
import { describe, expect, it } from 'vitest';
import { heapGrowingSetByUser, tuneHeap } from '../../src/cli/heap.js';

describe('the heap growing factor', () => {
  it('is the user’s when they give it to node', () => {
    expect(heapGrowingSetByUser(['--heap-growing-percent=80'])).toBe(true);
    expect(heapGrowingSetByUser(['--max-old-space-size=512', '--heap_growing_percent=20'])).toBe(true);
    expect(heapGrowingSetByUser(['--heap-growing-percent', '80'])).toBe(true);
    expect(tuneHeap(['--heap-growing-percent=80'])).toBe(false);
  });

  it('is set by the command otherwise', () => {
    expect(heapGrowingSetByUser(['--max-old-space-size=512', '--heap-growing-percentage=5', '--trace-warnings'])).toBe(false);
    expect(heapGrowingSetByUser([])).toBe(false);
    expect(tuneHeap([])).toBe(true);
  });
});
