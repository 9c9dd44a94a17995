// How storage failures are named (durability/causes.ts, durability/guard.ts) without a broken disk:
// Node's and SQLite's codes, the diagnosis of SQLite's generic I/O errors by the data directory, and
// the guard's states on a real database file that is removed.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { causeOf, startFailure } from '../../src/durability/causes.js';
import { StorageGuard, type StorageState } from '../../src/durability/guard.js';

const dirs: string[] = [];
const held: number[] = [];
afterEach(() => {
  for (const fd of held.splice(0)) closeSync(fd);
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'kv-causes-'));
  dirs.push(dir);
  return dir;
};
const coded = (code: string) => Object.assign(new Error(code), { code });

describe('storage causes', () => {
  it('names Node and SQLite codes, and leaves other errors alone', () => {
    const dataDir = newDir();
    const cases: Array<[string, string | undefined]> = [
      ['ENOSPC', 'full'],
      ['SQLITE_FULL', 'full'],
      ['EDQUOT', 'full'],
      ['EROFS', 'readOnly'],
      ['SQLITE_READONLY', 'readOnly'],
      ['SQLITE_READONLY_DBMOVED', 'lost'],
      ['EACCES', 'permission'],
      ['SQLITE_PERM', 'permission'],
      // A generic I/O error in a directory that takes writes: an I/O error, nothing more is known.
      ['SQLITE_IOERR_WRITE', 'io'],
      ['EIO', 'io'],
      ['SQLITE_CONSTRAINT_PRIMARYKEY', undefined],
      ['SecretNotFound', undefined],
      ['FST_ERR_CTP_INVALID_MEDIA_TYPE', undefined],
    ];
    for (const [code, cause] of cases) expect(causeOf(coded(code), { dataDir }), code).toBe(cause);
    expect(causeOf(new Error('no code'), { dataDir })).toBeUndefined();
    expect(causeOf(undefined, { dataDir })).toBeUndefined();
  });

  it('diagnoses a generic I/O error as lost when the database moved, or the directory is gone', () => {
    const dataDir = newDir();
    expect(causeOf(coded('SQLITE_IOERR_FSYNC'), { dataDir, lost: () => true })).toBe('lost');
    rmSync(dataDir, { recursive: true });
    expect(causeOf(coded('SQLITE_IOERR_WRITE'), { dataDir })).toBe('lost');
  });

  it('says in one line why a start failed, naming the directory and what to do', () => {
    const dataDir = newDir();
    expect(startFailure(coded('SQLITE_FULL'), dataDir)).toBe(
      `cannot start: the disk holding the data directory ${dataDir} is full (SQLITE_FULL). Free some space, or give another --data-dir (--in-memory keeps nothing on disk).`,
    );
    expect(startFailure(coded('EACCES'), dataDir)).toMatch(/^cannot start: this user may not write to the data directory .* \(EACCES\)\. Fix its ownership/);
    expect(startFailure(new Error('listen EADDRINUSE'), dataDir)).toBeUndefined();
  });
});

describe('StorageGuard', () => {
  it('is healthy while the files are the ones opened, lost for good once one is removed, with one change reported', () => {
    const dataDir = newDir();
    const files = [join(dataDir, 'emulator.db'), join(dataDir, 'emulator.db-wal')];
    for (const file of files) writeFileSync(file, 'x');
    // Held open, as SQLite holds them: a file made at the same path cannot reuse their inode numbers.
    held.push(...files.map((file) => openSync(file, 'r')));
    const changes: StorageState[] = [];
    const guard = new StorageGuard({ dataDir, files, onChange: (state) => changes.push(state) });
    expect(() => guard.beforeWrite()).not.toThrow();
    expect(guard.beforeAcknowledge()).toBeUndefined();
    expect(guard.problem()).toBeUndefined();

    rmSync(files[1]!);
    writeFileSync(files[1]!, 'a new log, another file');
    expect(guard.beforeAcknowledge()?.code).toBe('ServiceUnavailable');
    expect(() => guard.beforeWrite()).toThrow(/removed or replaced while it was running/);
    expect(guard.problem()?.message).toMatch(/^The emulator cannot store writes: /);
    // A later storage error does not hide it.
    expect((guard.failed(coded('ENOSPC')) as Error).message).toMatch(/removed or replaced/);
    expect(changes).toEqual([{ healthy: false, cause: 'lost' }]);
  });

  it('names a storage failure, keeps other errors as they are, and is healthy again after a durable write', () => {
    const dataDir = newDir();
    const file = join(dataDir, 'emulator.db');
    writeFileSync(file, 'x');
    const changes: StorageState[] = [];
    const guard = new StorageGuard({ dataDir, files: [file], onChange: (state) => changes.push(state) });
    const other = new Error('not storage');
    expect(guard.failed(other)).toBe(other);
    const full = guard.failed(coded('SQLITE_FULL')) as Error & { code: string };
    expect(full.code).toBe('ServiceUnavailable');
    expect(full.message).toBe(
      "The write was not stored: the disk holding the emulator's data directory is full. Writes are taken again once space is freed; reads still work.",
    );
    guard.failed(coded('SQLITE_FULL'));
    expect(guard.current).toEqual({ healthy: false, cause: 'full', code: 'SQLITE_FULL' });
    expect(guard.beforeAcknowledge()).toBeUndefined();
    expect(changes).toHaveLength(1);
    // A write committed before the last failure, and stored, says nothing of the storage now.
    const before = guard.failures();
    guard.failed(coded('SQLITE_FULL'));
    guard.acknowledged(before);
    expect(guard.current.healthy).toBe(false);
    guard.acknowledged(guard.failures());
    expect(changes).toEqual([{ healthy: false, cause: 'full', code: 'SQLITE_FULL' }, { healthy: true }]);
  });
});
