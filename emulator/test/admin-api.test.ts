// The admin API: clock control, vaults, reset, export/import, and who may call it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { backupKeyFrom } from '../src/backup/jwe-sealer.js';
import { resolveConfig } from '../src/config.js';
import { loadMaterial } from '../src/data-dir.js';
import { sharedMaterial, testEmulator, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
let auth: Record<string, string>;
const V = 'api-version=7.6';

beforeAll(async () => {
  emu = await testEmulator({ vaults: [{ name: 'seeded', secrets: [{ name: 'from-config', value: 'x' }] }] });
  auth = { authorization: `Bearer ${await emu.token()}`, host: 'adm.vault.azure.net' };
});
afterAll(() => emu.app.close());

const admin = (method: string, url: string, payload?: unknown, remoteAddress = '127.0.0.1', headers: Record<string, string> = {}) =>
  emu.app.inject({ method: method as 'GET', url: `/_emulator${url}`, remoteAddress, headers, ...(payload !== undefined && { payload: payload as object }) });

describe('who may call it', () => {
  it('answers loopback callers, refuses others without the admin key, accepts the key', async () => {
    expect((await admin('GET', '/vaults')).statusCode).toBe(200);
    expect((await admin('GET', '/vaults', undefined, '::1')).statusCode).toBe(200);
    const refused = await admin('GET', '/vaults', undefined, '10.1.2.3');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().error.code).toBe('Unauthorized');
    const withToken = await admin('GET', '/vaults', undefined, '10.1.2.3', { authorization: auth.authorization! });
    expect(withToken.statusCode).toBe(401);
    const wrongKey = await admin('GET', '/vaults', undefined, '10.1.2.3', { 'x-kv-emulator-admin-key': 'nope' });
    expect(wrongKey.statusCode).toBe(401);
    const withKey = await admin('GET', '/vaults', undefined, '10.1.2.3', { 'x-kv-emulator-admin-key': emu.material.adminKey });
    expect(withKey.statusCode).toBe(200);
    expect((await admin('GET', '/health', undefined, '10.1.2.3')).json()).toEqual({ status: 'ok' });
  });
});

describe('clock', () => {
  it('freezes, sets, advances and resets', async () => {
    const frozen = await admin('PUT', '/clock', { now: '2031-01-01T00:00:00Z', frozen: true });
    expect(frozen.json()).toMatchObject({ now: '2031-01-01T00:00:00.000Z', frozen: true });
    const advanced = await admin('PUT', '/clock', { advanceSeconds: 3600 });
    expect(advanced.json().now).toBe('2031-01-01T01:00:00.000Z');
    const back = await admin('PUT', '/clock', { advanceSeconds: -7200 });
    expect(back.json().now).toBe('2030-12-31T23:00:00.000Z');
    const set = await emu.app.inject({ method: 'PUT', url: `/secrets/clocked?${V}`, headers: auth, payload: { value: 'v' } });
    expect(set.json().attributes.created).toBe(Date.parse('2030-12-31T23:00:00Z') / 1000);
    const reset = await admin('PUT', '/clock', { reset: true });
    expect(reset.json()).toMatchObject({ frozen: false, offsetSeconds: 0 });
    expect(Math.abs(Date.parse(reset.json().now) - Date.now())).toBeLessThan(60_000);
  });

  it('refuses bad clock bodies in the envelope', async () => {
    for (const body of [{ now: 'someday' }, { advanceSeconds: 'x' }, { frozen: 'yes' }, [1]]) {
      const res = await admin('PUT', '/clock', body);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('BadParameter');
    }
  });

  it('applies nothing of a clock body it refuses', async () => {
    const before = (await admin('PUT', '/clock', { now: '2032-02-02T00:00:00Z', frozen: true })).json();
    for (const body of [
      { now: '2040-01-01T00:00:00Z', frozen: 'yes' },
      { offsetSeconds: 60, advanceSeconds: 'x' },
      { reset: true, now: 'someday' },
    ]) {
      expect((await admin('PUT', '/clock', body)).statusCode).toBe(400);
      // (offsetSeconds of a frozen clock moves with real time; what it shows does not)
      expect((await admin('GET', '/clock')).json()).toMatchObject({ now: before.now, frozen: true });
    }
    await admin('PUT', '/clock', { reset: true });
  });
});

describe('vaults', () => {
  it('creates, reads, updates and deletes vaults with validated settings', async () => {
    const created = await admin('POST', '/vaults', { name: 'Made', softDeleteRetentionInDays: 30, purgeProtection: false });
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ name: 'made', softDeleteRetentionInDays: 30, purgeProtection: false, permissionModel: 'rbac' });
    expect((await admin('POST', '/vaults', { name: 'made' })).statusCode).toBe(409);
    expect((await admin('POST', '/vaults', { name: 'bad', softDeleteRetentionInDays: 5 })).statusCode).toBe(400);
    expect((await admin('POST', '/vaults', { name: 'bad_name' })).statusCode).toBe(400);
    expect((await admin('PATCH', '/vaults/made', { purgeProtection: true })).json().purgeProtection).toBe(true);
    const off = await admin('PATCH', '/vaults/made', { purgeProtection: false });
    expect(off.statusCode).toBe(400);
    expect(off.json().error.message).toBe('Purge protection cannot be disabled once it has been enabled on a vault.');
    expect((await admin('GET', '/vaults/made')).json().softDeleteRetentionInDays).toBe(30);
    expect((await admin('DELETE', '/vaults/made')).statusCode).toBe(204);
    expect((await admin('GET', '/vaults/made')).statusCode).toBe(404);
  });

  it('vault settings drive what secrets report', async () => {
    await admin('POST', '/vaults', { name: 'short', softDeleteRetentionInDays: 10, purgeProtection: true });
    const res = await emu.app.inject({ method: 'PUT', url: `/secrets/s?${V}`, headers: { ...auth, host: 'short.vault.azure.net' }, payload: { value: 'v' } });
    expect(res.json().attributes).toMatchObject({ recoveryLevel: 'CustomizedRecoverable', recoverableDays: 10 });
  });
});

describe('reset, export and import', () => {
  it('exports everything, resets to the config, and imports the export back', async () => {
    await emu.app.inject({ method: 'PUT', url: `/secrets/keep?${V}`, headers: auth, payload: { value: 'one', tags: { a: 'b' } } });
    await emu.app.inject({ method: 'PUT', url: `/secrets/keep?${V}`, headers: auth, payload: { value: 'two' } });
    await emu.app.inject({ method: 'PUT', url: `/secrets/binned?${V}`, headers: auth, payload: { value: 'x' } });
    await emu.app.inject({ method: 'DELETE', url: `/secrets/binned?${V}`, headers: auth });
    const exported = (await admin('GET', '/export')).json();
    expect(exported).toMatchObject({ format: 'kv-emulator-state', version: 1 });
    const adm = exported.vaults.find((v: { name: string }) => v.name === 'adm');
    expect(adm.secrets.find((s: { name: string }) => s.name === 'keep').versions).toHaveLength(2);
    expect(adm.secrets.find((s: { name: string }) => s.name === 'binned').deleted).toBeDefined();

    const reset = await admin('POST', '/reset');
    expect(reset.json().vaults.sort()).toEqual(['default', 'seeded']);
    const gone = await emu.app.inject({ method: 'GET', url: `/secrets/keep/?${V}`, headers: auth });
    expect(gone.statusCode).toBe(404);
    const seeded = await emu.app.inject({ method: 'GET', url: `/secrets/from-config/?${V}`, headers: { ...auth, host: 'seeded.vault.azure.net' } });
    expect(seeded.json().value).toBe('x');

    const imported = await admin('POST', '/import', exported);
    expect(imported.json().vaults).toBe(exported.vaults.length);
    const back = await emu.app.inject({ method: 'GET', url: `/secrets/keep/?${V}`, headers: auth });
    expect(back.json().value).toBe('two');
    const deleted = await emu.app.inject({ method: 'GET', url: `/deletedsecrets/binned?${V}`, headers: auth });
    expect(deleted.statusCode).toBe(200);
  });

  it('refuses an import that is not an export, and changes nothing', async () => {
    const before = (await admin('GET', '/export')).json().vaults.length;
    const res = await admin('POST', '/import', { hello: 'world' });
    expect(res.statusCode).toBe(400);
    const broken = await admin('POST', '/import', { format: 'kv-emulator-state', version: 1, vaults: [{ name: 'x', retentionDays: 90, purgeProtection: false, permissionModel: 'rbac', secrets: [{ name: 'bad name', versions: [] }] }] });
    expect(broken.statusCode).toBe(400);
    expect((await admin('GET', '/export')).json().vaults.length).toBe(before);
  });
});

describe('backup key', () => {
  it('a configured backup key lets two installations exchange blobs; different keys cannot', async () => {
    const shared = await sharedMaterial();
    const make = async (key?: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'kv-backupkey-'));
      const material = { ...shared, backupKey: (await loadMaterial({ dataDir: dir, persist: true, ...(key && { backupKey: backupKeyFrom(key) }) })).backupKey };
      return buildApp(resolveConfig({ inMemory: true, dataDir: dir }), { material, https: false });
    };
    const a = await make('team passphrase');
    const b = await make('team passphrase');
    const c = await make();
    try {
      const headers = { authorization: auth.authorization!, host: 'x.vault.azure.net' };
      await a.app.inject({ method: 'PUT', url: `/secrets/moving?${V}`, headers, payload: { value: 'v' } });
      const blob = (await a.app.inject({ method: 'POST', url: `/secrets/moving/backup?${V}`, headers })).json();
      expect((await b.app.inject({ method: 'POST', url: `/secrets/restore?${V}`, headers, payload: blob })).statusCode).toBe(200);
      const foreign = await c.app.inject({ method: 'POST', url: `/secrets/restore?${V}`, headers, payload: blob });
      expect(foreign.statusCode).toBe(400);
      expect(foreign.json().error.message).toBe('Backup blob contains invalid or corrupt version.');
    } finally {
      await Promise.all([a.app.close(), b.app.close(), c.app.close()]);
    }
  });
});
