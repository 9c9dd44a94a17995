// Group commit (store/commit-group.ts) on a real SQLite file: units of work that arrive in one turn share
// a transaction, answers wait for its commit, a failing unit takes only its own writes with it, and a
// failed commit is reported to everyone waiting.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommitGroup } from '../../src/store/commit-group.js';
import { openDatabase, walSync, type SqliteDatabase } from '../../src/store/database.js';
import type { Sync } from '../../src/store/commit-group.js';

let dir: string;
let db: SqliteDatabase;
let reader: SqliteDatabase;
let commits: CommitGroup;

const committedRows = () => (reader.prepare('SELECT v FROM t ORDER BY v').pluck().all() as string[]);
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kv-commit-group-'));
  db = openDatabase({ file: join(dir, 'test.db') });
  db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
  reader = new Database(join(dir, 'test.db'), { readonly: true });
  commits = new CommitGroup(db);
});

afterEach(() => {
  commits.flush();
  reader.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('CommitGroup', () => {
  it('has nothing to wait for before any write', () => {
    expect(commits.settled()).toBeUndefined();
  });

  it('commits the units of one turn together, and only then settles', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    commits.run(() => insert.run('a'));
    commits.run(() => insert.run('b'));
    expect(db.inTransaction).toBe(true);
    // The writer sees its own writes at once; another connection sees nothing before the commit.
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(2);
    expect(committedRows()).toEqual([]);
    const settled = commits.settled();
    expect(settled).toBeInstanceOf(Promise);
    await settled;
    expect(committedRows()).toEqual(['a', 'b']);
    expect(db.inTransaction).toBe(false);
    expect(commits.settled()).toBeUndefined();
  });

  it('rolls back a unit that throws, and keeps the others of its group', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    commits.run(() => insert.run('kept'));
    expect(() =>
      commits.run(() => {
        insert.run('dropped');
        throw new Error('the unit fails');
      }),
    ).toThrow('the unit fails');
    // A nested unit's failure is rolled back within the outer unit only.
    commits.run(() => {
      insert.run('outer');
      expect(() => commits.run(() => insert.run('outer'))).toThrow(/UNIQUE/);
    });
    await commits.settled();
    expect(committedRows()).toEqual(['kept', 'outer']);
  });

  it("rolls back a group's first unit that throws (it runs without a savepoint of its own), and goes on with the next", async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const failures: unknown[] = [];
    commits.onFailure((error) => failures.push(error));
    expect(() =>
      commits.run(() => {
        insert.run('dropped');
        throw new Error('the first unit fails');
      }),
    ).toThrow('the first unit fails');
    expect(db.inTransaction).toBe(false);
    expect(commits.settled()).toBeUndefined();
    commits.run(() => insert.run('after'));
    // A nested unit of a first unit still has its own savepoint.
    commits.run(() => {
      insert.run('outer');
      expect(() => commits.run(() => insert.run('outer'))).toThrow(/UNIQUE/);
    });
    await commits.settled();
    expect(committedRows()).toEqual(['after', 'outer']);
    expect(failures).toEqual([]);
    await nextTurn();
    expect(() =>
      commits.run(() => {
        insert.run('outer');
      }),
    ).toThrow(/UNIQUE/);
    commits.run(() => insert.run('next turn'));
    await commits.settled();
    expect(committedRows()).toEqual(['after', 'next turn', 'outer']);
  });

  it('starts a new group in the next turn', async () => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    commits.run(() => insert.run('first'));
    await nextTurn();
    expect(committedRows()).toEqual(['first']);
    commits.run(() => insert.run('second'));
    expect(committedRows()).toEqual(['first']);
    await commits.settled();
    expect(committedRows()).toEqual(['first', 'second']);
  });

  it('rejects everyone waiting, and tells its listeners, when the commit fails', async () => {
    // A deferred foreign key is checked at COMMIT: the group's commit fails and everything in it is rolled back.
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
    const failures: unknown[] = [];
    commits.onFailure((error) => failures.push(error));
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('lost'));
    commits.run(() => db.prepare('INSERT INTO child (parent) VALUES (42)').run());
    const first = commits.settled();
    const second = commits.settled();
    await expect(first).rejects.toThrow(/FOREIGN KEY/);
    await expect(second).rejects.toThrow(/FOREIGN KEY/);
    expect(failures).toHaveLength(1);
    expect(db.inTransaction).toBe(false);
    expect(committedRows()).toEqual([]);
    // The next group works.
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('after'));
    await commits.settled();
    expect(committedRows()).toEqual(['after']);
  });

  it('with a sync, answers wait for a sync that started after their commit', async () => {
    // A sync completed by hand, to see which answers each sync releases.
    const calls: Array<(error?: Error | null) => void> = [];
    const sync: Sync = (done) => calls.push(done);
    const group = new CommitGroup(db, sync);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const released: string[] = [];
    group.run(() => insert.run('a'));
    void group.settled()!.then(() => released.push('a'));
    await nextTurn();
    expect(committedRows()).toEqual(['a']);
    expect(calls).toHaveLength(1);
    // Committed while the first sync is under way: the first sync does not cover it.
    group.run(() => insert.run('b'));
    void group.settled()!.then(
      () => released.push('b'),
      () => released.push('b: not synced'),
    );
    await nextTurn();
    expect(calls).toHaveLength(1);
    calls[0]!();
    await nextTurn();
    expect(released).toEqual(['a']);
    expect(calls).toHaveLength(2);
    // A sync that fails tells nobody their write is safe.
    calls[1]!(new Error('disk gone'));
    await nextTurn();
    expect(released).toEqual(['a', 'b: not synced']);
    expect(group.settled()).toBeUndefined();
  });

  it('with a sync, also syncs what was committed outside a group before the next answer', async () => {
    const calls: Array<(error?: Error | null) => void> = [];
    const group = new CommitGroup(db, (done) => calls.push(done));
    expect(group.settled()).toBeUndefined();
    // An autocommit write, as the directory and the role assignments make.
    db.prepare('INSERT INTO t (v) VALUES (?)').run('outside');
    const settled = group.settled();
    expect(settled).toBeInstanceOf(Promise);
    expect(calls).toHaveLength(1);
    calls[0]!();
    await settled;
    expect(group.settled()).toBeUndefined();
  });

  it('syncs the write-ahead log of a real database file', async () => {
    const wal = walSync(join(dir, 'test.db'));
    const group = new CommitGroup(db, wal.sync);
    group.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('durable'));
    await group.settled();
    expect(committedRows()).toEqual(['durable']);
    expect(group.settled()).toBeUndefined();
    wal.close();
  });
});
