// The repository's reads kept in memory (store/read-cache.ts): a secret read by name is served without
// SQLite until something changes it. Each test reads once (so the cache holds
// the value), changes the data in one of the ways data changes, and checks that the next read says what
// SQLite says: every write of the repository, a unit of work rolled back, a group commit that fails, and
// a commit by another connection to the same file. Cached values are shared by every request: frozen.
// The cache's change count, by which pages of lists are kept (http/page-answers.ts), moves with each of
// those changes and with no read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommitGroup } from '../../src/store/commit-group.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { SqliteSecretRepository } from '../../src/store/secret-repository.js';
import type { SecretVersion } from '../../src/vault/model.js';

const VAULT = 'cachevault';
let dir: string;
let db: SqliteDatabase;
let commits: CommitGroup;
let repo: SqliteSecretRepository;

const version = (name: string, id: string, value: string, extra: Partial<SecretVersion> = {}): SecretVersion => ({
  name,
  version: id.padEnd(32, '0'),
  value,
  attributes: { enabled: true, created: 1_900_000_000, updated: 1_900_000_000 },
  ...extra,
});

function add(target: SqliteSecretRepository, name: string, id: string, value: string, extra: Partial<SecretVersion> = {}): void {
  target.transaction(() => target.addVersion(VAULT, { name, managed: false }, version(name, id, value, extra)));
}

const valueOf = (name: string, id?: string) => repo.findSecret(VAULT, name, id === undefined ? undefined : id.padEnd(32, '0'))?.version.value;
const listed = () => repo.listSecrets(VAULT, { limit: 25 }).items.map((s) => `${s.head.name}:${s.version.contentType ?? '-'}`);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kv-read-cache-'));
  db = openDatabase({ file: join(dir, 'kv.db'), synchronous: 'NORMAL' });
  commits = new CommitGroup(db);
  repo = new SqliteSecretRepository(db, commits);
  add(repo, 'alpha', 'a1', 'first');
  commits.flush();
});

afterEach(() => {
  commits.flush();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('reads kept in memory', () => {
  it('serves a repeated read from memory, frozen', () => {
    const first = repo.findSecret(VAULT, 'alpha');
    expect(repo.findSecret(VAULT, 'ALPHA')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first!.version.attributes)).toBe(true);
    expect(() => {
      (first!.version as { value: string }).value = 'changed';
    }).toThrow(TypeError);
    // Another version is another read.
    expect(repo.findSecret(VAULT, 'alpha', 'a1'.padEnd(32, '0'))).not.toBe(first);
  });

  it('sees every write of the repository', () => {
    expect([valueOf('alpha'), listed()]).toEqual(['first', ['alpha:-']]);

    add(repo, 'alpha', 'a2', 'second', { contentType: 'text/plain' });
    expect([valueOf('alpha'), valueOf('alpha', 'a1'), listed()]).toEqual(['second', 'first', ['alpha:text/plain']]);

    repo.transaction(() => repo.updateVersion(VAULT, version('alpha', 'a2', 'second', { contentType: 'application/json' })));
    expect([repo.findSecret(VAULT, 'alpha')?.version.contentType, listed()]).toEqual(['application/json', ['alpha:application/json']]);

    repo.transaction(() => repo.moveToDeleted(VAULT, 'alpha', { deletedDate: 1_900_000_100, scheduledPurgeDate: 1_900_000_200 }));
    expect([repo.findSecret(VAULT, 'alpha')?.head.deleted?.deletedDate, listed()]).toEqual([1_900_000_100, []]);

    repo.transaction(() => repo.recover(VAULT, 'alpha'));
    expect([repo.findSecret(VAULT, 'alpha')?.head.deleted, listed()]).toEqual([undefined, ['alpha:application/json']]);

    const snapshot = repo.snapshot(VAULT, 'alpha')!;
    repo.transaction(() => repo.purge(VAULT, 'alpha'));
    expect([valueOf('alpha'), listed()]).toEqual([undefined, []]);

    repo.transaction(() => repo.insertSnapshot(VAULT, snapshot));
    expect([valueOf('alpha'), listed()]).toEqual(['second', ['alpha:application/json']]);

    repo.transaction(() => repo.deleteVaultContents(VAULT));
    expect([valueOf('alpha'), listed()]).toEqual([undefined, []]);
  });

  it('forgets what a unit of work rolled back had written and read', () => {
    expect(valueOf('alpha')).toBe('first');
    expect(() =>
      repo.transaction(() => {
        repo.addVersion(VAULT, { name: 'alpha', managed: false }, version('alpha', 'a2', 'rolled back'));
        // Read within the unit: the cache now holds what the unit wrote...
        expect(valueOf('alpha')).toBe('rolled back');
        expect(listed()).toEqual(['alpha:-']);
        throw new Error('the unit fails');
      }),
    ).toThrow('the unit fails');
    // ...and must not keep it.
    expect(valueOf('alpha')).toBe('first');
    expect(valueOf('alpha', 'a2')).toBeUndefined();
  });

  it('forgets what a group whose commit failed had written', async () => {
    // A deferred foreign key is checked at COMMIT: the group's commit fails and all of it is rolled back.
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
    add(repo, 'beta', 'b1', 'never committed');
    expect([valueOf('beta'), listed()]).toEqual(['never committed', ['alpha:-', 'beta:-']]);
    commits.run(() => db.prepare('INSERT INTO child (parent) VALUES (42)').run());
    const settled = commits.settled();
    commits.flush();
    await expect(settled).rejects.toThrow(/FOREIGN KEY/);
    expect([valueOf('beta'), listed()]).toEqual([undefined, ['alpha:-']]);
  });

  it('sees a commit by another connection to the same file, from the next turn of the event loop', async () => {
    expect([valueOf('alpha'), listed()]).toEqual(['first', ['alpha:-']]);
    const other = openDatabase({ file: join(dir, 'kv.db'), synchronous: 'NORMAL' });
    try {
      const otherCommits = new CommitGroup(other);
      const otherRepo = new SqliteSecretRepository(other, otherCommits);
      add(otherRepo, 'alpha', 'a2', 'from elsewhere');
      add(otherRepo, 'gamma', 'g1', 'from elsewhere');
      otherCommits.flush();
    } finally {
      other.close();
    }
    // Within the turn of the event loop that looked at data_version, reads go on from memory; the next turn sees the commit.
    expect(valueOf('alpha')).toBe('first');
    await new Promise((resolve) => setImmediate(resolve));
    expect([valueOf('alpha'), listed()]).toEqual(['from elsewhere', ['alpha:-', 'gamma:-']]);
  });

  it("counts every change, and no read, for what else keeps the store's answers (pages of lists)", async () => {
    let seen = repo.changes();
    const moved = () => {
      const now = repo.changes();
      const result = now !== seen;
      seen = now;
      return result;
    };
    valueOf('alpha');
    listed();
    expect(moved()).toBe(false);

    add(repo, 'alpha', 'a2', 'second');
    expect(moved()).toBe(true);
    repo.transaction(() => repo.updateVersion(VAULT, version('alpha', 'a2', 'second', { contentType: 'text/plain' })));
    expect(moved()).toBe(true);
    repo.transaction(() => repo.moveToDeleted(VAULT, 'alpha', { deletedDate: 1_900_000_100, scheduledPurgeDate: 1_900_000_200 }));
    expect(moved()).toBe(true);
    repo.transaction(() => repo.recover(VAULT, 'alpha'));
    expect(moved()).toBe(true);
    const snapshot = repo.snapshot(VAULT, 'alpha')!;
    repo.transaction(() => repo.purge(VAULT, 'alpha'));
    expect(moved()).toBe(true);
    repo.transaction(() => repo.insertSnapshot(VAULT, snapshot));
    expect(moved()).toBe(true);
    repo.transaction(() => repo.deleteVaultContents(VAULT));
    expect(moved()).toBe(true);
    add(repo, 'alpha', 'a3', 'again');
    commits.flush();
    moved();

    // A unit of work that fails moves the count after it, as well as at its write.
    expect(() =>
      repo.transaction(() => {
        repo.addVersion(VAULT, { name: 'alpha', managed: false }, version('alpha', 'a4', 'rolled back'));
        moved();
        throw new Error('the unit fails');
      }),
    ).toThrow('the unit fails');
    expect(moved()).toBe(true);

    // A group whose commit fails moves it when the group is rolled back.
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
    commits.run(() => db.prepare('INSERT INTO child (parent) VALUES (42)').run());
    const settled = commits.settled();
    expect(moved()).toBe(false);
    commits.flush();
    await expect(settled).rejects.toThrow(/FOREIGN KEY/);
    expect(moved()).toBe(true);

    const other = openDatabase({ file: join(dir, 'kv.db'), synchronous: 'NORMAL' });
    try {
      const otherCommits = new CommitGroup(other);
      add(new SqliteSecretRepository(other, otherCommits), 'gamma', 'g1', 'from elsewhere');
      otherCommits.flush();
    } finally {
      other.close();
    }
    // Another connection's commit is seen from the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    expect(moved()).toBe(true);
    expect(moved()).toBe(false);
  });

  it('in memory (--in-memory), where no other connection can commit, looks at no data_version, and still sees every write', async () => {
    const memory = openDatabase({ synchronous: 'NORMAL' });
    try {
      const prepared: string[] = [];
      const prepare = memory.prepare.bind(memory);
      vi.spyOn(memory, 'prepare').mockImplementation(((source: string) => {
        prepared.push(source);
        return prepare(source);
      }) as typeof memory.prepare);
      const memoryCommits = new CommitGroup(memory);
      const memoryRepo = new SqliteSecretRepository(memory, memoryCommits);
      add(memoryRepo, 'alpha', 'a1', 'first');
      memoryCommits.flush();
      const read = () => memoryRepo.findSecret(VAULT, 'alpha')?.version.value;
      expect(read()).toBe('first');
      await new Promise((resolve) => setImmediate(resolve));
      expect(read()).toBe('first');
      add(memoryRepo, 'alpha', 'a2', 'second');
      memoryCommits.flush();
      expect(read()).toBe('second');
      expect(prepared.length).toBeGreaterThan(0);
      expect(prepared.filter((source) => /data_version/i.test(source))).toEqual([]);
    } finally {
      memory.close();
    }
  });
});
