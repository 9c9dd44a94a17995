// The data directory removed or replaced while the emulator runs. SQLite keeps writing to the files it
// opened, which no path names any more: before, 2,000 PUTs after `rm -rf <data dir>` got 200, health stayed
// ok, and a restart found none of them (and made a new CA without a word). Now no write is acknowledged
// once the database's files are not at their paths: 503 in the envelope saying what happened, health
// 503, one error line in the log; reads keep answering from the open database.
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearerToken, call, startChild, type ChildEmulator } from '../robustness/support.js';
import { expectStorage503, outputOnce, removeKeys, withKeys } from './support.js';

const V = 'api-version=7.6';
const LOST = /removed or replaced while it was running/;
const root = mkdtempSync(join(tmpdir(), 'kv-lost-'));
const children: ChildEmulator[] = [];

afterAll(async () => {
  for (const child of children) if (child.alive()) await child.kill();
  rmSync(root, { recursive: true, force: true });
  removeKeys();
});

async function started(dataDir: string, args: string[] = []): Promise<{ emulator: ChildEmulator; auth: Record<string, string> }> {
  const emulator = await startChild({ dataDir, args: ['--log-level', 'info', ...args] });
  children.push(emulator);
  return { emulator, auth: { authorization: `Bearer ${await bearerToken(emulator)}`, 'content-type': 'application/json' } };
}

const put = (emulator: ChildEmulator, auth: Record<string, string>, name: string, value: string) =>
  call(emulator, `/secrets/${name}?${V}`, { method: 'PUT', headers: auth, body: JSON.stringify({ value }) });

const lostLines = (emulator: ChildEmulator) => emulator.output().split('\n').filter((line) => line.includes('was removed or replaced while the emulator was running'));

/** The log lines about the lost directory, once the process has written one. */
async function loggedLost(emulator: ChildEmulator): Promise<string[]> {
  await outputOnce(emulator, /was removed or replaced while the emulator was running/);
  return lostLines(emulator);
}

describe('the data directory removed while running', () => {
  it('acknowledges no write once it is gone, answers 503 naming what happened, and keeps reads', async () => {
    const dataDir = await withKeys(join(root, 'removed'));
    const { emulator, auth } = await started(dataDir);
    for (let i = 0; i < 5; i++) expect((await put(emulator, auth, `before-${i}`, `v${i}`)).status).toBe(200);
    expect((await call(emulator, '/_emulator/health')).status).toBe(200);

    rmSync(dataDir, { recursive: true, force: true });

    // Concurrent writers of every kind: secrets, vault settings (admin), a new vault met on first use.
    const answers = await Promise.all([
      ...Array.from({ length: 40 }, (_, i) => put(emulator, auth, `after-${i}`, `w${i}`)),
      call(emulator, '/_emulator/vaults', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'madeafter' }) }),
      call(emulator, `/secrets/before-0?${V}`, { method: 'DELETE', headers: auth }),
      call(emulator, `/secrets/any?${V}`, { headers: { ...auth, host: 'newvault.vault.localhost' } }),
    ]);
    for (const answer of answers) expectStorage503(answer, LOST, dataDir);

    for (let i = 0; i < 5; i++) {
      const read = await call(emulator, `/secrets/before-${i}?${V}`, { headers: auth });
      expect(read.status).toBe(200);
      expect(JSON.parse(read.text).value).toBe(`v${i}`);
    }
    expect((await call(emulator, `/secrets/after-0?${V}`, { headers: auth })).status).toBe(404);
    expectStorage503(await call(emulator, '/_emulator/health'), /The emulator cannot store writes: .*removed or replaced/, dataDir);
    expect(await loggedLost(emulator)).toHaveLength(1);
    expect(lostLines(emulator)[0]).toContain('"level":50');
    // Nothing brings the storage back: a directory made again at the path is not the database opened.
    mkdirSync(dataDir, { recursive: true });
    expectStorage503(await put(emulator, auth, 'later', 'x'), LOST, dataDir);
    expect(lostLines(emulator)).toHaveLength(1);
    await emulator.stop();
  });

  it('notices it with no write: health answers 503 and the log says so', async () => {
    const dataDir = await withKeys(join(root, 'idle'));
    const { emulator } = await started(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    expectStorage503(await call(emulator, '/_emulator/health'), LOST, dataDir);
    expect(await loggedLost(emulator)).toHaveLength(1);
    await emulator.stop();
  });
});

describe('the data directory replaced while running', () => {
  it('refuses writes when the directory is put back from a copy (another database file at the path)', async () => {
    const dataDir = await withKeys(join(root, 'replaced'));
    const copy = join(root, 'replaced-copy');
    const { emulator, auth } = await started(dataDir);
    expect((await put(emulator, auth, 'kept', 'v')).status).toBe(200);
    cpSync(dataDir, copy, { recursive: true });
    rmSync(dataDir, { recursive: true, force: true });
    cpSync(copy, dataDir, { recursive: true });
    expectStorage503(await put(emulator, auth, 'lost', 'v'), LOST, dataDir);
    expect(JSON.parse((await call(emulator, `/secrets/kept?${V}`, { headers: auth })).text).value).toBe('v');
    await emulator.stop();
  });
});

describe('the database log removed while running', () => {
  it('refuses writes: they would be appended to a log no path names', async () => {
    const dataDir = await withKeys(join(root, 'log-removed'));
    const { emulator, auth } = await started(dataDir);
    expect((await put(emulator, auth, 'kept', 'v')).status).toBe(200);
    rmSync(join(dataDir, 'emulator.db-wal'));
    expectStorage503(await put(emulator, auth, 'lost', 'v'), LOST, dataDir);
    expect(JSON.parse((await call(emulator, `/secrets/kept?${V}`, { headers: auth })).text).value).toBe('v');
    await emulator.stop();
  });
});

describe('a start that generates a new CA', () => {
  it('says so; loudly when the data directory held earlier data but no CA', async () => {
    const fresh = join(root, 'fresh');
    const first = await startChild({ dataDir: fresh });
    children.push(first);
    expect(first.output()).toContain('a new CA was generated by this start');
    expect(first.output()).not.toContain('WARNING');
    await first.stop();
    const again = await startChild({ dataDir: fresh });
    children.push(again);
    expect(again.output()).not.toMatch(/new CA/);
    await again.stop();

    rmSync(join(fresh, 'ca.pem'));
    rmSync(join(fresh, 'ca-key.pem'));
    const replaced = await startChild({ dataDir: fresh });
    children.push(replaced);
    expect(replaced.output()).toMatch(/WARNING: the data directory held earlier files \(emulator\.db, .*\) but no CA: a new CA was generated/);
    await replaced.stop();
    expect(existsSync(join(fresh, 'ca.pem'))).toBe(true);
  });
});
