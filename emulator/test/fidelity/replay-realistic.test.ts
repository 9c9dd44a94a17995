// The recorded real traffic replayed against the emulator in realistic mode (--realistic), its clock
// frozen and moved by the gaps between the recorded Date headers, so deletes, recovers and purges
// propagate as the recording's time passes (fidelity/replay.ts). The bar: at least 90% of the
// requests made within 10 s of a delete, recover or purge of the same name get the recorded status;
// every other request matches exactly (status, error code, message, body shape), the first 404s and
// 409s after a change included.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from '../support/harness.js';
import { listDifferences, NEAR_CHANGE_MS, RECORDINGS, replay, totalsOf, type ReplayStats } from './replay.js';

let emu: TestEmulator;
let token: string;
beforeAll(async () => {
  emu = await testEmulator({ realistic: true });
  emu.clock.freeze();
  token = await emu.token();
});
afterAll(() => emu.app.close());

describe('replay of recorded real Key Vault traffic (realistic mode)', () => {
  const all: ReplayStats[] = [];
  RECORDINGS.forEach((file, index) => {
    it(file, async () => {
      const stats = await replay(file, index, { emu, token, realistic: true });
      all.push(stats);
      expect(stats.compared).toBeGreaterThan(0);
    });
  });

  it('matches at least 90% of the requests made while a change may still propagate', () => {
    const totals = totalsOf(all);
    const share = totals.nearChangeMatched / totals.nearChange;
    console.log(
      `[fidelity] ${RECORDINGS.length} recordings, realistic mode: ${totals.compared} exchanges compared; ` +
        `${totals.nearChange} made within ${NEAR_CHANGE_MS / 1000} s of a delete, recover or purge of the same name, ` +
        `${totals.nearChangeMatched} of them (${(share * 100).toFixed(1)}%) with the recorded status; ` +
        `the other ${totals.compared - totals.nearChange} matched exactly; skipped ${totals.skippedPreexisting} requests for objects ` +
        `that pre-existed in the recorded vault, ${totals.skippedSanitized} with sanitized continuation tokens. Statuses that differed:\n` +
        listDifferences(totals.differences),
    );
    expect(all).toHaveLength(RECORDINGS.length);
    expect(totals.nearChange).toBeGreaterThan(100);
    expect(share).toBeGreaterThanOrEqual(0.9);
  });
});
