// Realism settings: how far the emulator reproduces the real service's behaviour around its API
// (docs/realistic-mode.md): eventual consistency after a delete, recover or purge, the published request
// limits, and latency. All off by default, so the emulator answers at once and never throttles;
// `kv-emulator start --realistic` (config `"realism": {"preset": "realistic"}`) turns on the preset, and
// every part can be set on its own in the config file or through PATCH /_emulator/realism. One validator
// serves both; its errors name the field.

/** Data-plane operations, as routes name them (http/pipeline.ts Permission) and fault rules match them. */
export const OPERATIONS = ['get', 'list', 'set', 'update', 'delete', 'backup', 'restore', 'recover', 'purge', 'getDeleted'] as const;
export type Operation = (typeof OPERATIONS)[number];

/**
 * How long, on the emulator clock, a change is still propagating after the service acknowledged it
 * (0: visible at once). Derived from the recorded real traffic (test/fixtures/recordings, one-second
 * Date headers): after a delete, GET /deletedsecrets/{name} answered 404 up to 1 s later (once 2 s) and
 * 200 from 0-2 s on; after a recover, GET /secrets/{name}/ answered 404 up to 1 s later and 200 from 3 s
 * on; a restore right after a purge got 409 in the same second and 200 from 3 s on. A 2 s window matches
 * 118 of the 126 polls after a delete and every one after a recover or a purge (docs/realistic-mode.md).
 */
export interface ConsistencySettings {
  deleteMs: number;
  recoverMs: number;
  purgeMs: number;
}

/** The service's published transaction limits (realism/limits.ts), multiplied by `scale`. */
export interface LimitSettings {
  enabled: boolean;
  /** Multiplies every limit (0.001 turns 4,000 requests per 10 s into 4), so tests reach them with few requests. */
  scale: number;
  /** Send Retry-After with a 429. The service often does not: the Azure SDK then surfaces the 429 at once. */
  retryAfter: boolean;
}

/** A log-normal distribution given by its median and 99th percentile, in milliseconds. */
export interface LatencyDistribution {
  p50Ms: number;
  p99Ms: number;
}

/** Per operation, with `default` for operations not named. */
export type LatencySettings = Partial<Record<Operation | 'default', LatencyDistribution>>;

export interface RealismSettings {
  consistency: ConsistencySettings;
  limits: LimitSettings;
  latency: LatencySettings;
}

export type Preset = 'off' | 'realistic';

export const PRESETS: Record<Preset, RealismSettings> = {
  off: {
    consistency: { deleteMs: 0, recoverMs: 0, purgeMs: 0 },
    limits: { enabled: false, scale: 1, retryAfter: false },
    latency: {},
  },
  // Latency stays off in the preset: the recordings carry no timings finer than a second, and a suite
  // would only run slower for it. It is a setting of its own.
  realistic: {
    consistency: { deleteMs: 2000, recoverMs: 2000, purgeMs: 2000 },
    limits: { enabled: true, scale: 1, retryAfter: false },
    latency: {},
  },
};

/** Reports an invalid field; never returns. */
export type Fail = (path: string, problem: string) => never;

const MAX_WINDOW_MS = 600_000;
const MAX_LATENCY_MS = 60_000;
const MAX_SCALE = 1000;

type Raw = Record<string, unknown>;

function object(value: unknown, path: string, fail: Fail): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object.');
  return value as Raw;
}

function onlyKeys(raw: Raw, allowed: readonly string[], path: string, fail: Fail): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, `is not a setting here; expected ${allowed.map((k) => `'${k}'`).join(', ')}.`);
  }
}

function integer(raw: Raw, key: string, path: string, fail: Fail, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) fail(`${path}.${key}`, `must be an integer from 0 to ${max}.`);
  return v;
}

function flag(raw: Raw, key: string, path: string, fail: Fail): boolean | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(`${path}.${key}`, 'must be true or false.');
  return v;
}

export function presetOf(value: unknown, path: string, fail: Fail): Preset | undefined {
  if (value === undefined) return undefined;
  if (value !== 'off' && value !== 'realistic') fail(path, "must be 'realistic' or 'off'.");
  return value;
}

/**
 * Applies a patch to `base`: `preset` (if any) replaces everything first, then each part named changes
 * only the fields it names. `latency: null` removes every distribution, `latency.<op>: null` one of them.
 * Validates everything before changing anything; `fail` is called with the first problem.
 */
export function applyRealismPatch(base: RealismSettings, patch: unknown, fail: Fail, path = 'realism'): RealismSettings {
  const raw = object(patch, path, fail);
  onlyKeys(raw, ['preset', 'consistency', 'limits', 'latency'], path, fail);
  const preset = presetOf(raw.preset, `${path}.preset`, fail);
  const start = preset ? PRESETS[preset] : base;
  const next: RealismSettings = { consistency: { ...start.consistency }, limits: { ...start.limits }, latency: { ...start.latency } };

  if (raw.consistency !== undefined) {
    const at = `${path}.consistency`;
    const c = object(raw.consistency, at, fail);
    onlyKeys(c, ['deleteMs', 'recoverMs', 'purgeMs'], at, fail);
    for (const key of ['deleteMs', 'recoverMs', 'purgeMs'] as const) {
      const v = integer(c, key, at, fail, MAX_WINDOW_MS);
      if (v !== undefined) next.consistency[key] = v;
    }
  }

  if (raw.limits !== undefined) {
    const at = `${path}.limits`;
    const l = object(raw.limits, at, fail);
    onlyKeys(l, ['enabled', 'scale', 'retryAfter'], at, fail);
    const enabled = flag(l, 'enabled', at, fail);
    const retryAfter = flag(l, 'retryAfter', at, fail);
    if (l.scale !== undefined && (typeof l.scale !== 'number' || !Number.isFinite(l.scale) || l.scale <= 0 || l.scale > MAX_SCALE)) {
      fail(`${at}.scale`, `must be a number greater than 0 and at most ${MAX_SCALE}.`);
    }
    if (enabled !== undefined) next.limits.enabled = enabled;
    if (retryAfter !== undefined) next.limits.retryAfter = retryAfter;
    if (l.scale !== undefined) next.limits.scale = l.scale as number;
  }

  if (raw.latency === null) next.latency = {};
  else if (raw.latency !== undefined) {
    const at = `${path}.latency`;
    const l = object(raw.latency, at, fail);
    onlyKeys(l, ['default', ...OPERATIONS], at, fail);
    for (const [operation, value] of Object.entries(l) as Array<[Operation | 'default', unknown]>) {
      if (value === null) {
        delete next.latency[operation];
        continue;
      }
      const where = `${at}.${operation}`;
      const d = object(value, where, fail);
      onlyKeys(d, ['p50Ms', 'p99Ms'], where, fail);
      const p50Ms = integer(d, 'p50Ms', where, fail, MAX_LATENCY_MS) ?? fail(`${where}.p50Ms`, 'is required.');
      const p99Ms = integer(d, 'p99Ms', where, fail, MAX_LATENCY_MS) ?? fail(`${where}.p99Ms`, 'is required.');
      if (p99Ms < p50Ms) fail(`${where}.p99Ms`, `must be at least p50Ms (${p50Ms}).`);
      if (p50Ms === 0 && p99Ms > 0) fail(`${where}.p50Ms`, 'must be at least 1 when p99Ms is above 0 (a log-normal median cannot be 0).');
      next.latency[operation] = { p50Ms, p99Ms };
    }
  }
  return next;
}
