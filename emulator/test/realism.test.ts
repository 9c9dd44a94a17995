// Realism over HTTP (docs/realistic-mode.md): the admin API, what every operation answers while a
// delete, recover or purge propagates, the request limits' 429s, latency, and the configuration. The
// emulator clock is frozen and moved; nothing sleeps.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { ConfigError, configFromEnv, resolveConfig } from '../src/config.js';
import { sharedMaterial, testEmulator, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
let token: string;
const V = 'api-version=7.6';
const NOT_FOUND_HINT =
  'If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182';

beforeAll(async () => {
  emu = await testEmulator();
  token = await emu.token();
});
afterAll(() => emu.app.close());

const admin = (method: 'GET' | 'PATCH', payload?: unknown) =>
  emu.app.inject({ method, url: '/_emulator/realism', ...(payload !== undefined && { payload: payload as object }) });

function call(method: string, path: string, options: { vault?: string; payload?: unknown; auth?: boolean } = {}) {
  const headers: Record<string, string> = { host: `${options.vault ?? 'real'}.vault.azure.net` };
  if (options.auth !== false) headers.authorization = `Bearer ${token}`;
  const separator = path.includes('?') ? '&' : '?';
  return emu.app.inject({ method: method as 'GET', url: `${path}${separator}${V}`, headers, ...(options.payload !== undefined && { payload: options.payload as object }) });
}

const errorOf = (res: { json(): any }) => res.json().error as { code: string; message: string; innererror?: { code: string } };

describe('the admin API', () => {
  beforeEach(() => admin('PATCH', { preset: 'off' }));

  it('reports realism off by default, with the limits the settings would make', async () => {
    const res = await admin('GET');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      consistency: { deleteMs: 0, recoverMs: 0, purgeMs: 0 },
      limits: { enabled: false, scale: 1, retryAfter: false, perVault: { setSecret: 300, other: 4000 }, perSubscription: { setSecret: 1500, other: 20000 }, windowSeconds: 10 },
      latency: {},
      stats: { throttled: 0, delayed: 0, delayedMs: 0, openWindows: 0 },
    });
  });

  it('sets each part on its own, and the preset as a whole', async () => {
    expect((await admin('PATCH', { consistency: { recoverMs: 1500 } })).json().consistency).toEqual({ deleteMs: 0, recoverMs: 1500, purgeMs: 0 });
    const limited = (await admin('PATCH', { limits: { enabled: true, scale: 0.01 } })).json();
    expect(limited.consistency.recoverMs).toBe(1500);
    expect(limited.limits).toMatchObject({ enabled: true, scale: 0.01, perVault: { setSecret: 3, other: 40 } });
    const preset = (await admin('PATCH', { preset: 'realistic' })).json();
    expect(preset.consistency).toEqual({ deleteMs: 2000, recoverMs: 2000, purgeMs: 2000 });
    expect(preset.limits).toMatchObject({ enabled: true, scale: 1, retryAfter: false });
  });

  it('refuses invalid settings with a 400 naming the field, and changes nothing', async () => {
    await admin('PATCH', { consistency: { deleteMs: 1000 } });
    for (const [body, message] of [
      [{ consistency: { deleteMs: 'soon' } }, "'realism.consistency.deleteMs' must be an integer from 0 to 600000."],
      [{ consistency: { deleteMs: 5 }, limits: { scale: -1 } }, "'realism.limits.scale' must be a number greater than 0 and at most 1000."],
      [{ latency: { get: { p50Ms: 50, p99Ms: 10 } } }, "'realism.latency.get.p99Ms' must be at least p50Ms (50)."],
      [{ throttle: true }, "'realism.throttle' is not a setting here; expected 'preset', 'consistency', 'limits', 'latency'."],
      [[1, 2], "'realism' must be an object."],
    ] as const) {
      const res = await admin('PATCH', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json()).toEqual({ error: { code: 'BadParameter', message } });
    }
    const empty = await emu.app.inject({ method: 'PATCH', url: '/_emulator/realism' });
    expect(empty.statusCode).toBe(400);
    expect((await admin('GET')).json().consistency.deleteMs).toBe(1000);
  });

  it('answers only loopback callers or the admin key, like the rest of the admin API', async () => {
    const res = await emu.app.inject({ method: 'PATCH', url: '/_emulator/realism', remoteAddress: '10.0.0.9', payload: { preset: 'realistic' } });
    expect(res.statusCode).toBe(401);
    expect((await admin('GET')).json().limits.enabled).toBe(false);
  });
});

describe('eventual consistency', () => {
  beforeAll(async () => {
    await admin('PATCH', { preset: 'off', consistency: { deleteMs: 2000, recoverMs: 2000, purgeMs: 2000 } });
    emu.clock.freeze();
  });
  afterAll(() => {
    emu.clock.reset();
  });
  const advance = (ms: number) => emu.clock.advance(ms);

  it('a deleted secret is "being deleted" for its window: not found as deleted, its name not reusable, nor purgeable', async () => {
    await call('PUT', '/secrets/Gone', { payload: { value: 'v' } });
    const backup = (await call('POST', '/secrets/gone/backup')).json().value as string;
    expect((await call('DELETE', '/secrets/gone')).statusCode).toBe(200);

    const deleted = await call('GET', '/deletedsecrets/gone');
    expect(deleted.statusCode).toBe(404);
    expect(errorOf(deleted)).toEqual({ code: 'SecretNotFound', message: 'Deleted Secret not found: gone' });
    const active = await call('GET', '/secrets/gone/');
    expect(active.statusCode).toBe(404);
    expect(errorOf(active).message).toBe(`A secret with (name/id) gone was not found in this key vault. ${NOT_FOUND_HINT}`);

    const set = await call('PUT', '/secrets/gone', { payload: { value: 'again' } });
    expect(set.statusCode).toBe(409);
    expect(errorOf(set)).toEqual({ code: 'Conflict', message: 'Secret gone is currently being deleted and cannot be re-created; retry later.', innererror: { code: 'ObjectIsBeingDeleted' } });
    for (const [method, path] of [['DELETE', '/deletedsecrets/gone'], ['POST', '/deletedsecrets/gone/recover'], ['PATCH', '/secrets/gone/']] as const) {
      const res = await call(method, path, { payload: method === 'PATCH' ? { attributes: {} } : undefined });
      expect(res.statusCode, `${method} ${path}`).toBe(409);
      expect(errorOf(res), `${method} ${path}`).toEqual({ code: 'Conflict', message: 'Secret is currently being deleted.', innererror: { code: 'ObjectIsBeingDeleted' } });
    }
    const restore = await call('POST', '/secrets/restore', { payload: { value: backup } });
    expect(restore.statusCode).toBe(409);
    expect(errorOf(restore).message).toMatch(/^There was a conflict restoring the secret '.*\/secrets\/Gone\/[0-9a-f]{32}'/);
    expect((await call('GET', '/deletedsecrets')).json().value.map((s: { recoveryId: string }) => s.recoveryId)).not.toContainEqual(expect.stringMatching(/\/gone$/i));
    expect((await admin('GET')).json().stats.openWindows).toBe(1);

    advance(2000);
    expect((await call('GET', '/deletedsecrets/GONE')).statusCode).toBe(200);
    expect((await call('GET', '/deletedsecrets')).json().value.map((s: { recoveryId: string }) => s.recoveryId)).toContainEqual(expect.stringMatching(/\/deletedsecrets\/Gone$/));
    const reuse = await call('PUT', '/secrets/gone', { payload: { value: 'again' } });
    expect(errorOf(reuse).innererror).toEqual({ code: 'ObjectIsDeletedButRecoverable' });
  });

  it('a purged name cannot be re-created or restored for its window', async () => {
    await call('PUT', '/secrets/purged', { payload: { value: 'v' } });
    const backup = (await call('POST', '/secrets/purged/backup')).json().value as string;
    await call('DELETE', '/secrets/purged');
    advance(2000);
    expect((await call('DELETE', '/deletedsecrets/purged')).statusCode).toBe(204);

    expect((await call('GET', '/deletedsecrets/purged')).statusCode).toBe(404);
    const restore = await call('POST', '/secrets/restore', { payload: { value: backup } });
    expect(restore.statusCode).toBe(409);
    expect(errorOf(restore).code).toBe('Conflict');
    expect(errorOf(restore).message).toMatch(/^There was a conflict restoring the secret '.*\/secrets\/purged\/[0-9a-f]{32}'\. This can happen if either/);
    const set = await call('PUT', '/secrets/purged', { payload: { value: 'new' } });
    expect(errorOf(set)).toEqual({ code: 'Conflict', message: 'Secret purged is currently being deleted and cannot be re-created; retry later.', innererror: { code: 'ObjectIsBeingDeleted' } });

    advance(1999);
    expect((await call('POST', '/secrets/restore', { payload: { value: backup } })).statusCode).toBe(409);
    advance(1);
    expect((await call('POST', '/secrets/restore', { payload: { value: backup } })).statusCode).toBe(200);
  });

  it('a recovered secret is not found for its window, in lists neither, and its name is not reusable', async () => {
    await call('PUT', '/secrets/back', { payload: { value: 'v1' } });
    await call('PUT', '/secrets/back', { payload: { value: 'v2' } });
    await call('DELETE', '/secrets/back');
    advance(2000);
    const listedBefore = (await call('GET', '/secrets')).json().value.length;
    expect((await call('POST', '/deletedsecrets/back/recover')).statusCode).toBe(200);

    for (const [method, path] of [['GET', '/secrets/back/'], ['PATCH', '/secrets/back'], ['DELETE', '/secrets/back'], ['POST', '/secrets/back/backup']] as const) {
      const res = await call(method, path, { payload: method === 'PATCH' ? { attributes: {} } : undefined });
      expect(res.statusCode, `${method} ${path}`).toBe(404);
      expect(errorOf(res), `${method} ${path}`).toEqual({ code: 'SecretNotFound', message: `A secret with (name/id) back was not found in this key vault. ${NOT_FOUND_HINT}` });
    }
    expect((await call('GET', '/deletedsecrets/back')).statusCode).toBe(404);
    expect((await call('GET', '/secrets/back/versions')).json()).toEqual({ value: [], nextLink: null });
    const set = await call('PUT', '/secrets/back', { payload: { value: 'v3' } });
    expect(errorOf(set)).toEqual({ code: 'Conflict', message: 'Secret back is currently being recovered and cannot be re-created; retry later.', innererror: { code: 'ObjectIsBeingRecovered' } });
    // The list answered during the window is not kept past it.
    const during = (await call('GET', '/secrets')).json().value;
    expect(during).toHaveLength(listedBefore);

    advance(2000);
    expect((await call('GET', '/secrets/back/')).json().value).toBe('v2');
    expect((await call('GET', '/secrets')).json().value).toHaveLength(listedBefore + 1);
    expect((await call('GET', '/secrets/back/versions')).json().value).toHaveLength(2);
  });

  it('windows are per vault', async () => {
    await call('PUT', '/secrets/twin', { vault: 'left', payload: { value: 'v' } });
    await call('PUT', '/secrets/twin', { vault: 'right', payload: { value: 'v' } });
    await call('DELETE', '/secrets/twin', { vault: 'left' });
    await call('DELETE', '/secrets/twin', { vault: 'right' });
    advance(1000);
    await call('PATCH', '/secrets/x', { vault: 'left', payload: {} });
    advance(1000);
    expect((await call('GET', '/deletedsecrets/twin', { vault: 'left' })).statusCode).toBe(200);
    await call('POST', '/deletedsecrets/twin/recover', { vault: 'right' });
    expect((await call('GET', '/secrets/twin/', { vault: 'right' })).statusCode).toBe(404);
    expect((await call('GET', '/deletedsecrets/twin', { vault: 'left' })).statusCode).toBe(200);
  });

  it('with the windows at 0, every change is visible at once', async () => {
    await admin('PATCH', { consistency: { deleteMs: 0, recoverMs: 0, purgeMs: 0 } });
    await call('PUT', '/secrets/instant', { payload: { value: 'v' } });
    await call('DELETE', '/secrets/instant');
    expect((await call('GET', '/deletedsecrets/instant')).statusCode).toBe(200);
    await call('POST', '/deletedsecrets/instant/recover');
    expect((await call('GET', '/secrets/instant/')).statusCode).toBe(200);
    await admin('PATCH', { consistency: { deleteMs: 2000, recoverMs: 2000, purgeMs: 2000 } });
  });
});

describe('request limits', () => {
  // Counts are kept per second: a window starting on a whole second makes every Retry-After exact.
  beforeAll(() => emu.clock.freeze(Math.ceil(Date.now() / 1000) * 1000));
  afterAll(async () => {
    emu.clock.reset();
    await admin('PATCH', { preset: 'off' });
  });

  it('answer the service 429 past the vault limit, without Retry-After unless asked, and let requests through after 10 s', async () => {
    await admin('PATCH', { preset: 'off', limits: { enabled: true, scale: 0.001 } });
    await call('PUT', '/secrets/hot', { vault: 'busy', payload: { value: 'v' } });
    const throttledSet = await call('PUT', '/secrets/hot', { vault: 'busy', payload: { value: 'v' } });
    expect(throttledSet.statusCode).toBe(429);
    for (let i = 0; i < 4; i++) expect((await call('GET', '/secrets/hot/', { vault: 'busy' })).statusCode).toBe(200);
    // Unauthenticated requests never reach the limits: they get their 401.
    expect((await call('GET', '/secrets/hot/', { vault: 'busy', auth: false })).statusCode).toBe(401);
    const throttled = await call('GET', '/secrets/hot/', { vault: 'busy' });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json()).toEqual({ error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' } });
    expect(throttled.headers['retry-after']).toBeUndefined();
    expect(throttled.headers['content-type']).toBe('application/json; charset=utf-8');

    // The four requests counted still count once Retry-After is sent.
    await admin('PATCH', { limits: { retryAfter: true } });
    emu.clock.advance(4_200);
    const withRetryAfter = await call('GET', '/secrets/hot/', { vault: 'busy' });
    expect(withRetryAfter.statusCode).toBe(429);
    expect(withRetryAfter.headers['retry-after']).toBe('6');
    emu.clock.advance(5_800);
    expect((await call('GET', '/secrets/hot/', { vault: 'busy' })).statusCode).toBe(200);
    expect((await admin('GET')).json().stats.throttled).toBe(3);
  });

  it('count every vault of the emulator against the subscription limit', async () => {
    await admin('PATCH', { preset: 'off', limits: { enabled: true, scale: 0.001 } });
    emu.clock.advance(10_000);
    for (const vault of ['s1', 's2', 's3', 's4', 's5']) for (let i = 0; i < 4; i++) expect((await call('GET', '/secrets', { vault })).statusCode).toBe(200);
    const res = await call('GET', '/secrets', { vault: 's6' });
    expect(res.statusCode).toBe(429);
    expect(errorOf(res).code).toBe('Throttled');
  });
});

describe('latency', () => {
  afterAll(() => admin('PATCH', { preset: 'off' }));

  it('holds the requests of the operations it names, and says how long in all', async () => {
    await admin('PATCH', { preset: 'off', latency: { get: { p50Ms: 3, p99Ms: 3 } } });
    await call('PUT', '/secrets/slow', { payload: { value: 'v' } });
    for (let i = 0; i < 3; i++) expect((await call('GET', '/secrets/slow/')).statusCode).toBe(200);
    expect((await admin('GET')).json().stats).toMatchObject({ delayed: 3, delayedMs: 9 });
  });
});

describe('configuration', () => {
  it('--realistic starts from the preset; the config section refines it; /_emulator/reset returns to it', async () => {
    const configured = await testEmulator({ realistic: true, extensions: { realism: { consistency: { purgeMs: 100 }, limits: { retryAfter: true } } } });
    try {
      const get = () => configured.app.inject({ method: 'GET', url: '/_emulator/realism' });
      expect((await get()).json()).toMatchObject({ consistency: { deleteMs: 2000, recoverMs: 2000, purgeMs: 100 }, limits: { enabled: true, scale: 1, retryAfter: true } });
      await configured.app.inject({ method: 'PATCH', url: '/_emulator/realism', payload: { preset: 'off' } });
      await configured.app.inject({ method: 'POST', url: '/_emulator/reset' });
      expect((await get()).json().consistency.purgeMs).toBe(100);
    } finally {
      await configured.app.close();
    }
    const fromSection = await testEmulator({ extensions: { realism: { preset: 'realistic', limits: { enabled: false } } } });
    try {
      expect((await fromSection.app.inject({ method: 'GET', url: '/_emulator/realism' })).json()).toMatchObject({ consistency: { deleteMs: 2000 }, limits: { enabled: false } });
    } finally {
      await fromSection.app.close();
    }
  });

  it('KV_EMULATOR_REALISTIC turns the preset on, as --realistic does', () => {
    expect(configFromEnv({ KV_EMULATOR_REALISTIC: 'true' }).realistic).toBe(true);
    expect(configFromEnv({ KV_EMULATOR_REALISTIC: '0' }).realistic).toBe(false);
    expect(resolveConfig({}).realistic).toBe(false);
    expect(() => configFromEnv({ KV_EMULATOR_REALISTIC: 'maybe' })).toThrow("KV_EMULATOR_REALISTIC must be true or false, got 'maybe'.");
  });

  it('refuses an invalid section at start, naming the field', async () => {
    const material = await sharedMaterial();
    for (const [realism, message] of [
      [{ consistency: { deleteMs: -5 } }, "Invalid configuration: 'realism.consistency.deleteMs' must be an integer from 0 to 600000."],
      ['realistic', "Invalid configuration: 'realism' must be an object."],
      [{ preset: 'slow' }, "Invalid configuration: 'realism.preset' must be 'realistic' or 'off'."],
    ] as const) {
      const config = resolveConfig({ inMemory: true, logLevel: 'silent', extensions: { realism } });
      const error = await buildApp(config, { material, https: false }).then(
        (built) => built.app.close().then(() => undefined),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(message);
    }
  });
});
