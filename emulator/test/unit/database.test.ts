// The databases the store opens (store/database.ts). In memory (--in-memory): SQLite's memdb, with a small
// page cache in front, instead of `:memory:`, whose cache is the whole database and made every commit that
// renumbered a page walk a table as large as the database. On file: a cache of 1,024 pages for the same
// reason. Each must still hold and give back far more than its cache: thousands of secrets under random
// names (page splits in every index), a unit of work rolled back, a group commit, all read back. In
// memory, the one storage limit left (memdb's size; here lowered with max_page_count, which fails the same
// way, SQLITE_FULL) is answered 503 in the Key Vault envelope, never a 500; reads keep working, and
// secrets purged make room again.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommitGroup } from '../../src/store/commit-group.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { SqliteSecretRepository } from '../../src/store/secret-repository.js';
import type { SecretVersion } from '../../src/vault/model.js';
import { injectJson, testEmulator } from '../support/harness.js';

const VAULT = 'dbvault';
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const version = (name: string, value: string): SecretVersion => ({
  name,
  version: randomUUID().replace(/-/g, ''),
  value,
  tags: { owner: name.slice(0, 6) },
  attributes: { enabled: true, created: 1_900_000_000, updated: 1_900_000_000 },
});

/** Writes `count` secrets under random names in groups of ten, one more rolled back, and reads all back. */
function holdsFarMoreThanItsCache(db: SqliteDatabase, count: number): void {
  const commits = new CommitGroup(db);
  const repo = new SqliteSecretRepository(db, commits);
  const written = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const name = `s-${randomUUID()}`;
    const value = `value-${i}-${'x'.repeat(400)}`;
    repo.transaction(() => repo.addVersion(VAULT, { name, managed: false }, version(name, value)));
    written.set(name, value);
    if (i % 10 === 9) commits.flush();
  }
  expect(() =>
    repo.transaction(() => {
      repo.addVersion(VAULT, { name: 'rolled-back', managed: false }, version('rolled-back', 'gone'));
      throw new Error('unit of work fails');
    }),
  ).toThrow('unit of work fails');
  commits.flush();

  const cachePages = db.pragma('cache_size', { simple: true }) as number;
  expect(db.pragma('page_count', { simple: true }) as number).toBeGreaterThan(cachePages * 2);
  expect(repo.findSecret(VAULT, 'rolled-back')).toBeUndefined();
  // A second repository has no cached reads: every value comes from SQLite's pages.
  const fresh = new SqliteSecretRepository(db, commits);
  for (const [name, value] of written) expect(fresh.findSecret(VAULT, name)?.version.value).toBe(value);
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
}

describe('the store’s databases', () => {
  it('in memory: a memdb database behind a cache of 256 pages, holding and giving back far more', () => {
    const db = openDatabase({});
    try {
      expect(db.memory).toBe(true);
      expect(db.pragma('cache_size', { simple: true })).toBe(256);
      holdsFarMoreThanItsCache(db, 4_000);
    } finally {
      db.close();
    }
  });

  it('on file: a cache of 1,024 pages, holding and giving back far more', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-database-'));
    dirs.push(dir);
    const db = openDatabase({ file: join(dir, 'kv.db'), synchronous: 'NORMAL' });
    try {
      expect(db.memory).toBe(false);
      expect(db.pragma('cache_size', { simple: true })).toBe(1024);
      holdsFarMoreThanItsCache(db, 12_000);
    } finally {
      db.close();
    }
  });

  it('in memory, full: a write is answered 503 in the Key Vault envelope, and reads keep working', async () => {
    const emu = await testEmulator();
    try {
      const token = await emu.token();
      const put = (name: string) => injectJson(emu, 'PUT', `/secrets/${name}?api-version=7.6`, { token, body: { value: `v-${name}-${'y'.repeat(2_000)}` } });
      expect((await put('before-full')).status).toBe(200);
      emu.db.pragma(`max_page_count = ${(emu.db.pragma('page_count', { simple: true }) as number) + 8}`);
      let refused;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        const answer = await put(`filler-${i}`);
        if (answer.status !== 200) refused = answer;
      }
      expect(refused?.status).toBe(503);
      expect(refused?.body).toEqual({
        error: {
          code: 'ServiceUnavailable',
          message:
            "The write was not stored: the emulator's in-memory database (--in-memory) has reached SQLite's limit of 1 GiB. Purge secrets to make room, or restart the emulator (it starts empty). Reads still work.",
        },
      });
      const read = await injectJson(emu, 'GET', '/secrets/before-full?api-version=7.6', { token });
      expect(read.status).toBe(200);
      expect(read.body.value).toMatch(/^v-before-full-/);
      expect((await put('still-full')).status).toBe(503);
      // What the message advises: secrets purged make room for new ones.
      for (let i = 0; i < 4; i++) {
        expect((await injectJson(emu, 'DELETE', `/secrets/filler-${i}?api-version=7.6`, { token })).status).toBe(200);
        expect((await injectJson(emu, 'DELETE', `/deletedsecrets/filler-${i}?api-version=7.6`, { token })).status).toBe(204);
      }
      expect((await put('after-purge')).status).toBe(200);
    } finally {
      await emu.app.close();
    }
  });
});
