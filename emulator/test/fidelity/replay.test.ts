// The recorded real traffic replayed against the emulator as it starts by default: immediately
// consistent. The only differences allowed are the answers the service gave while a change was still
// propagating; each is listed, with its reason, at the end of the run (fidelity/replay.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from '../support/harness.js';
import { listDifferences, RECORDINGS, replay, totalsOf, type ReplayStats } from './replay.js';

let emu: TestEmulator;
let token: string;
beforeAll(async () => {
  emu = await testEmulator();
  token = await emu.token();
});
afterAll(() => emu.app.close());

describe('replay of recorded real Key Vault traffic (immediately consistent)', () => {
  const all: ReplayStats[] = [];
  RECORDINGS.forEach((file, index) => {
    it(file, async () => {
      const stats = await replay(file, index, { emu, token, realistic: false });
      all.push(stats);
      expect(stats.compared).toBeGreaterThan(0);
    });
  });

  afterAll(() => {
    const totals = totalsOf(all);
    console.log(
      `[fidelity] ${RECORDINGS.length} recordings, immediately consistent: ${totals.compared} exchanges compared; ` +
        `${totals.differences.length} allowed differences, all from eventual consistency (below); skipped ${totals.skippedPreexisting} requests ` +
        `for objects that pre-existed in the recorded vault, ${totals.skippedSanitized} requests with sanitized continuation tokens\n` +
        listDifferences(totals.differences),
    );
  });
});
