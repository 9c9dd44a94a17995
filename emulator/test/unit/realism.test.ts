// The realism domain on its own: settings and their validation, the consistency windows on a
// controllable clock, the request limits' sliding counts, and the latency distributions (drawn with a
// seeded generator; nothing here waits).
import { describe, expect, it } from 'vitest';
import { ConsistencyWindows } from '../../src/realism/consistency.js';
import { drawLatency, LatencyModel } from '../../src/realism/latency.js';
import { PUBLISHED_LIMITS, ServiceLimits } from '../../src/realism/limits.js';
import { Realism } from '../../src/realism/realism.js';
import { applyRealismPatch, PRESETS, type Fail } from '../../src/realism/settings.js';
import { ControllableClock } from '../../src/vault/clock.js';

const fail: Fail = (path, problem) => {
  throw new Error(`${path} ${problem}`);
};

/** A seeded uniform generator (mulberry32), so distributions are checked on fixed draws. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function frozenClock(at = Date.parse('2026-01-01T00:00:00Z')): ControllableClock {
  const clock = new ControllableClock();
  clock.freeze(at);
  return clock;
}

describe('realism settings', () => {
  it('are off by default; the preset turns on the 2 s windows and the published limits, not latency', () => {
    expect(PRESETS.off).toEqual({ consistency: { deleteMs: 0, recoverMs: 0, purgeMs: 0 }, limits: { enabled: false, scale: 1, retryAfter: false }, latency: {} });
    expect(PRESETS.realistic.consistency).toEqual({ deleteMs: 2000, recoverMs: 2000, purgeMs: 2000 });
    expect(PRESETS.realistic.limits).toEqual({ enabled: true, scale: 1, retryAfter: false });
    expect(PRESETS.realistic.latency).toEqual({});
  });

  it('apply a preset first, then only the fields each part names', () => {
    const next = applyRealismPatch(PRESETS.off, { preset: 'realistic', consistency: { purgeMs: 500 }, limits: { retryAfter: true }, latency: { get: { p50Ms: 20, p99Ms: 200 } } }, fail);
    expect(next).toEqual({
      consistency: { deleteMs: 2000, recoverMs: 2000, purgeMs: 500 },
      limits: { enabled: true, scale: 1, retryAfter: true },
      latency: { get: { p50Ms: 20, p99Ms: 200 } },
    });
    expect(applyRealismPatch(next, { latency: { get: null, default: { p50Ms: 5, p99Ms: 5 } } }, fail).latency).toEqual({ default: { p50Ms: 5, p99Ms: 5 } });
    expect(applyRealismPatch(next, { latency: null }, fail).latency).toEqual({});
    // The base is not changed.
    expect(next.consistency.purgeMs).toBe(500);
  });

  it('refuse what is not a setting, naming the field', () => {
    const problem = (patch: unknown) => {
      try {
        applyRealismPatch(PRESETS.off, patch, fail);
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problem([])).toBe('realism must be an object.');
    expect(problem({ windows: {} })).toBe("realism.windows is not a setting here; expected 'preset', 'consistency', 'limits', 'latency'.");
    expect(problem({ preset: 'fast' })).toBe("realism.preset must be 'realistic' or 'off'.");
    expect(problem({ consistency: { deleteMs: -1 } })).toBe('realism.consistency.deleteMs must be an integer from 0 to 600000.');
    expect(problem({ consistency: { deleteMs: 1.5 } })).toBe('realism.consistency.deleteMs must be an integer from 0 to 600000.');
    expect(problem({ consistency: { delete: 1 } })).toMatch(/^realism\.consistency\.delete is not a setting here/);
    expect(problem({ limits: { scale: 0 } })).toBe('realism.limits.scale must be a number greater than 0 and at most 1000.');
    expect(problem({ limits: { enabled: 'yes' } })).toBe('realism.limits.enabled must be true or false.');
    expect(problem({ latency: { fetch: { p50Ms: 1, p99Ms: 2 } } })).toMatch(/^realism\.latency\.fetch is not a setting here/);
    expect(problem({ latency: { get: { p50Ms: 10 } } })).toBe('realism.latency.get.p99Ms is required.');
    expect(problem({ latency: { get: { p50Ms: 10, p99Ms: 5 } } })).toBe('realism.latency.get.p99Ms must be at least p50Ms (10).');
    expect(problem({ latency: { get: { p50Ms: 0, p99Ms: 5 } } })).toMatch(/^realism\.latency\.get\.p50Ms must be at least 1/);
    expect(problem({ latency: { get: { p50Ms: 0, p99Ms: 0 } } })).toBe('accepted');
  });
});

describe('consistency windows', () => {
  it('keep a change propagating for its window on the emulator clock, per vault and case-insensitive name', () => {
    const clock = frozenClock();
    const windows = new ConsistencyWindows(clock);
    windows.configure({ deleteMs: 2000, recoverMs: 1000, purgeMs: 500 });
    expect(windows.active).toBe(true);
    windows.changed('v1', 'Name', 'deleted');
    expect(windows.settling('v1', 'name')).toBe('deleting');
    expect(windows.settling('v2', 'name')).toBeUndefined();
    expect(windows.anySettling('v1')).toBe(true);
    expect(windows.anySettling('v2')).toBe(false);
    clock.advance(1999);
    expect(windows.settling('v1', 'NAME')).toBe('deleting');
    clock.advance(1);
    expect(windows.settling('v1', 'name')).toBeUndefined();

    windows.changed('v1', 'name', 'recovered');
    expect(windows.settling('v1', 'name')).toBe('recovering');
    windows.changed('v1', 'name', 'purged');
    expect(windows.settling('v1', 'name')).toBe('purging');
    clock.advance(500);
    expect(windows.settling('v1', 'name')).toBeUndefined();
    expect(windows.openCount()).toBe(0);
    expect(windows.anySettling('v1')).toBe(false);
  });

  it('move their generation when a window opens and when one is found closed', () => {
    const clock = frozenClock();
    const windows = new ConsistencyWindows(clock);
    windows.configure({ deleteMs: 1000, recoverMs: 1000, purgeMs: 1000 });
    const g0 = windows.generation();
    windows.changed('v', 'a', 'deleted');
    const g1 = windows.generation();
    expect(g1).toBeGreaterThan(g0);
    expect(windows.generation()).toBe(g1);
    clock.advance(1000);
    expect(windows.generation()).toBeGreaterThan(g1);
  });

  it('close every window when the clock moves back before the changes, and do nothing while off', () => {
    const clock = frozenClock();
    const windows = new ConsistencyWindows(clock);
    windows.configure({ deleteMs: 60_000, recoverMs: 0, purgeMs: 0 });
    windows.changed('v', 'a', 'deleted');
    windows.changed('v', 'b', 'recovered');
    expect(windows.settling('v', 'b')).toBeUndefined();
    clock.advance(-10_000);
    expect(windows.settling('v', 'a')).toBeUndefined();
    expect(windows.openCount()).toBe(0);
    windows.configure({ deleteMs: 0, recoverMs: 0, purgeMs: 0 });
    expect(windows.active).toBe(false);
    windows.changed('v', 'a', 'deleted');
    expect(windows.settling('v', 'a')).toBeUndefined();
  });
});

describe('service limits', () => {
  it('are the published ones: 300 sets and 4,000 other requests per 10 s per vault, five times that per subscription', () => {
    const limits = new ServiceLimits(frozenClock());
    limits.configure({ enabled: true, scale: 1 });
    expect(limits.limits()).toEqual({ perVault: { setSecret: 300, other: 4000 }, perSubscription: { setSecret: 1500, other: 20000 }, windowSeconds: 10 });
    limits.configure({ enabled: true, scale: 0.001 });
    expect(limits.limits()).toEqual({ perVault: { setSecret: 1, other: 4 }, perSubscription: { setSecret: 2, other: 20 }, windowSeconds: 10 });
    expect(PUBLISHED_LIMITS.subscriptionFactor).toBe(5);
  });

  it('refuse what is over a vault limit until its oldest requests leave the 10 s window; refusals do not count', () => {
    const clock = frozenClock(Date.parse('2026-01-01T00:00:00.000Z'));
    const limits = new ServiceLimits(clock);
    limits.configure({ enabled: true, scale: 0.001 });
    expect(limits.admit('v', 'other')).toBeUndefined();
    expect(limits.admit('v', 'other')).toBeUndefined();
    clock.advance(3_000);
    expect(limits.admit('v', 'other')).toBeUndefined();
    expect(limits.admit('v', 'other')).toBeUndefined();
    // The 4 in force: the first two leave at 10 s, 7 s from now.
    expect(limits.admit('v', 'other')).toEqual({ retryAfterSeconds: 7 });
    expect(limits.admit('v', 'setSecret')).toBeUndefined();
    expect(limits.admit('v', 'setSecret')).toEqual({ retryAfterSeconds: 10 });
    clock.advance(6_500);
    expect(limits.admit('v', 'other')).toEqual({ retryAfterSeconds: 1 });
    clock.advance(500);
    // Refused requests were not counted: two slots are free again.
    expect(limits.admit('v', 'other')).toBeUndefined();
    expect(limits.admit('v', 'other')).toBeUndefined();
    expect(limits.admit('v', 'other')).toEqual({ retryAfterSeconds: 3 });
  });

  it('refuse what is over the subscription limit, whichever vault it is for', () => {
    const clock = frozenClock();
    const limits = new ServiceLimits(clock);
    limits.configure({ enabled: true, scale: 0.001 });
    for (const vault of ['a', 'b', 'c', 'd', 'e']) for (let i = 0; i < 4; i++) expect(limits.admit(vault, 'other')).toBeUndefined();
    expect(limits.admit('f', 'other')).toEqual({ retryAfterSeconds: 10 });
    clock.advance(10_000);
    expect(limits.admit('f', 'other')).toBeUndefined();
  });
});

describe('latency', () => {
  it('draws from a log-normal distribution with the given median and 99th percentile', () => {
    const random = seeded(19);
    const draws = Array.from({ length: 20_000 }, () => drawLatency({ p50Ms: 40, p99Ms: 400 }, random)).sort((a, b) => a - b);
    const quantile = (q: number) => draws[Math.floor(q * draws.length)]!;
    expect(quantile(0.5)).toBeGreaterThan(40 * 0.95);
    expect(quantile(0.5)).toBeLessThan(40 * 1.05);
    expect(quantile(0.99)).toBeGreaterThan(400 * 0.9);
    expect(quantile(0.99)).toBeLessThan(400 * 1.1);
    expect(draws.at(-1)!).toBeLessThanOrEqual(5 * 400);
    expect(draws[0]!).toBeGreaterThan(0);
  });

  it('uses the operation’s distribution, else the default, else none; a fixed one when p50 is p99', () => {
    const model = new LatencyModel(seeded(1));
    model.configure({});
    expect(model.active).toBe(false);
    model.configure({ get: { p50Ms: 7, p99Ms: 7 }, default: { p50Ms: 3, p99Ms: 3 } });
    expect(model.active).toBe(true);
    expect(model.delayFor('get')).toBe(7);
    expect(model.delayFor('set')).toBe(3);
    expect(model.delayFor(undefined)).toBe(3);
    model.configure({ get: { p50Ms: 7, p99Ms: 7 } });
    expect(model.delayFor('list')).toBe(0);
  });
});

describe('the realism service', () => {
  it('checks nothing on requests while the limits and latency are off, and counts what it does once on', () => {
    const clock = frozenClock();
    const realism = new Realism({ clock, random: seeded(2) });
    expect(realism.onRequests).toBe(false);
    expect(realism.describe()).toBeUndefined();
    realism.patch({ limits: { enabled: true, scale: 0.00025, retryAfter: false }, latency: { get: { p50Ms: 5, p99Ms: 5 } } }, fail);
    expect(realism.onRequests).toBe(true);
    expect(realism.admit('v', 'get')).toBeUndefined();
    expect(realism.admit('v', 'get')).toEqual({});
    // Sending Retry-After or not changes no count.
    realism.patch({ limits: { retryAfter: true } }, fail);
    expect(realism.admit('v', 'get')).toEqual({ retryAfterSeconds: 10 });
    expect(realism.delayFor('get')).toBe(5);
    expect(realism.stats()).toEqual({ throttled: 2, delayed: 1, delayedMs: 5, openWindows: 0 });
    expect(realism.describe()).toBe('limits 1 sets + 1 others per 10 s per vault, with Retry-After; latency for get');
    realism.patch({ preset: 'off' }, fail);
    expect(realism.onRequests).toBe(false);
    expect(realism.admit('v', 'get')).toBeUndefined();
  });
});
