// Group commit (store/commit-group.ts) when storage fails, on a real SQLite file: a group SQLite rolled
// back on its own is never acknowledged, a guard (durability/guard.ts) refuses writes before they start
// and acknowledgements after a commit, failures reach waiters under the guard's name, and a failed group
// does not make the reads that follow wait for a sync, nor fail with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommitGroup, type CommitGuard, type Sync } from '../../src/store/commit-group.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';

let dir: string;
let db: SqliteDatabase;
let reader: SqliteDatabase;

const committedRows = () => reader.prepare('SELECT v FROM t ORDER BY v').pluck().all() as string[];
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kv-commit-guard-'));
  db = openDatabase({ file: join(dir, 'test.db') });
  db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
  reader = new Database(join(dir, 'test.db'), { readonly: true });
});

afterEach(() => {
  if (db.inTransaction) db.exec('ROLLBACK');
  reader.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

class Named extends Error {}

/** A guard whose answers the test sets. */
function guard(): CommitGuard & { refuseWrites?: Error; refuseAcks?: Error; seen: unknown[] } {
  const g = {
    seen: [] as unknown[],
    refuseWrites: undefined as Error | undefined,
    refuseAcks: undefined as Error | undefined,
    beforeWrite() {
      if (g.refuseWrites) throw g.refuseWrites;
    },
    beforeAcknowledge() {
      return g.refuseAcks;
    },
    // Hears of every write stored, as a guard that has failed does.
    failing() {
      return true;
    },
    failures() {
      return g.seen.filter((seen) => seen !== 'acknowledged').length;
    },
    acknowledged(seen: number) {
      if (seen === g.failures()) g.seen.push('acknowledged');
    },
    failed(error: unknown) {
      g.seen.push(error);
      return new Named(`named: ${(error as Error).message}`);
    },
  };
  return g;
}

describe('CommitGroup under failing storage', () => {
  it('never acknowledges a group SQLite rolled back on its own (a full disk can), even when a later write opens a new one', async () => {
    const commits = new CommitGroup(db);
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    commits.run(() => insert.run('gone'));
    const first = commits.settled()!;
    // A unit whose failure takes the whole transaction with it.
    expect(() =>
      commits.run(() => {
        insert.run('also-gone');
        db.exec('ROLLBACK');
        throw new Error('database or disk is full');
      }),
    ).toThrow('database or disk is full');
    await expect(first).rejects.toThrow('database or disk is full');
    // The same turn goes on writing: a new group, acknowledged for what it holds only.
    commits.run(() => insert.run('kept'));
    await commits.settled();
    expect(committedRows()).toEqual(['kept']);
  });

  it('refuses a write the guard refuses before anything of it is written', () => {
    const g = guard();
    g.refuseWrites = new Named('storage lost');
    const commits = new CommitGroup(db, undefined, { guard: g });
    expect(() => commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('never'))).toThrow('storage lost');
    expect(db.inTransaction).toBe(false);
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(0);
  });

  it('fails the waiters of a committed group the guard does not find durable', async () => {
    const g = guard();
    const commits = new CommitGroup(db, undefined, { guard: g });
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('committed'));
    g.refuseAcks = new Named('not where it must be');
    await expect(commits.settled()).rejects.toThrow('not where it must be');
    g.refuseAcks = undefined;
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('next'));
    await commits.settled();
  });

  it('with a sync, refuses a committed group the guard does not find durable before it is synced; the next is acknowledged', async () => {
    const g = guard();
    const calls: Array<(error?: Error | null) => void> = [];
    const commits = new CommitGroup(db, (done) => calls.push(done), { guard: g });
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('committed'));
    const waiting = commits.settled()!;
    g.refuseAcks = new Named('moved');
    await expect(waiting).rejects.toThrow('moved');
    expect(calls).toHaveLength(0);
    expect(g.seen).not.toContain('acknowledged');
    // A read that follows waits for nothing: what was refused needs no sync.
    expect(commits.settled()).toBeUndefined();
    g.refuseAcks = undefined;
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('next'));
    const next = commits.settled()!;
    await nextTurn();
    calls[0]!();
    await next;
    expect(g.seen).toContain('acknowledged');
  });

  it('gives a failed sync to its waiters under the guard name, and the reads that follow wait for nothing', async () => {
    const g = guard();
    const calls: Array<(error?: Error | null) => void> = [];
    const sync: Sync = (done) => calls.push(done);
    const commits = new CommitGroup(db, sync, { guard: g });
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('a'));
    const waiting = commits.settled()!;
    await nextTurn();
    calls[0]!(Object.assign(new Error('EROFS: read-only file system, fsync'), { code: 'EROFS' }));
    await expect(waiting).rejects.toThrow('named: EROFS: read-only file system, fsync');
    expect(commits.settled()).toBeUndefined();
  });

  it('lets the reads after a group that failed at COMMIT wait for nothing (its changes need no sync)', async () => {
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
    const calls: Array<(error?: Error | null) => void> = [];
    const g = guard();
    const commits = new CommitGroup(db, (done) => calls.push(done), { guard: g });
    commits.run(() => db.prepare('INSERT INTO child (parent) VALUES (42)').run());
    await expect(commits.settled()).rejects.toThrow('named: FOREIGN KEY constraint failed');
    // SQLite counted the rolled-back changes; an answer that follows waits for no sync, which could fail it.
    expect(commits.settled()).toBeUndefined();
    expect(calls).toHaveLength(0);
  });

  it('still syncs a commit made outside a group before a group that then fails', async () => {
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
    const calls: Array<(error?: Error | null) => void> = [];
    const commits = new CommitGroup(db, (done) => calls.push(done), { guard: guard() });
    db.prepare('INSERT INTO t (v) VALUES (?)').run('outside');
    commits.run(() => db.prepare('INSERT INTO child (parent) VALUES (42)').run());
    await expect(commits.settled()).rejects.toThrow(/FOREIGN KEY/);
    const settled = commits.settled();
    expect(settled).toBeInstanceOf(Promise);
    expect(calls).toHaveLength(1);
    calls[0]!();
    await settled;
  });
});
