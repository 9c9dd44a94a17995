// Audit records (written with CommitGroup.runDetached, outside the group commits) while the storage
// fails, on a real SQLite file: what they change, committed or rolled back, never makes an answer wait
// for a sync nor fail with it; the guard (durability/guard.ts) hears that storage works again only from
// a data write made after the last failure and stored, never from an audit record, an empty group or a
// sync that carried only earlier writes; the audit log drops what it cannot write and says so once per
// cause; strings of a rolled-back batch are not taken for stored ones; and the JSON-lines file resumes
// once it can be written again.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditFile } from '../../src/audit/file.js';
import { AuditLog, type AuditRepository, type NewAuditRow } from '../../src/audit/log.js';
import { SqliteAuditRepository } from '../../src/store/audit-repository.js';
import { CommitGroup, type CommitGuard, type Sync } from '../../src/store/commit-group.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';

let dir: string;
let db: SqliteDatabase;

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const coded = (code: string, message = code) => Object.assign(new Error(message), { code });
const insert = (v: string) => db.prepare('INSERT INTO t (v) VALUES (?)').run(v);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kv-detached-'));
  db = openDatabase({ file: join(dir, 'test.db'), synchronous: 'NORMAL', autoCheckpoint: false });
  db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
  // A group that fails at COMMIT: a deferred foreign key left unsatisfied.
  db.exec('PRAGMA foreign_keys = ON');
  db.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY); CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)');
});

afterEach(() => {
  if (db.inTransaction) db.exec('ROLLBACK');
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A sync the test completes (or fails) by hand. */
function manualSync(): { sync: Sync; calls: Array<(error?: Error | null) => void> } {
  const calls: Array<(error?: Error | null) => void> = [];
  return { sync: (done) => calls.push(done), calls };
}

/** A guard that counts the failures it names and records what it is told is stored. */
function countingGuard(): CommitGuard & { named: unknown[]; stored: number; cleared: number } {
  const g = {
    named: [] as unknown[],
    stored: 0,
    /** Failures cleared by a write stored after them. */
    cleared: 0,
    beforeWrite() {},
    beforeAcknowledge() {
      return undefined;
    },
    failing() {
      return g.named.length > g.cleared;
    },
    failures() {
      return g.named.length;
    },
    acknowledged(seen: number) {
      if (seen === g.named.length && g.failing()) {
        g.stored += 1;
        g.cleared = g.named.length;
      }
    },
    failed(error: unknown) {
      g.named.push(error);
      return error;
    },
  };
  return g;
}

/** An audit batch that fails the way a full disk fails it: after some of its rows were written. */
const failingBatch = (commits: CommitGroup) =>
  expect(() =>
    commits.runDetached(() => {
      insert('audit-1');
      insert('audit-2');
      throw coded('SQLITE_FULL', 'database or disk is full');
    }),
  ).toThrow('database or disk is full');

describe('a detached write that fails', () => {
  it('is rolled back, and the answer that follows (a read) waits for no sync, which could fail it', () => {
    const { sync, calls } = manualSync();
    const commits = new CommitGroup(db, sync);
    failingBatch(commits);
    expect(db.inTransaction).toBe(false);
    expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(0);
    expect(commits.settled()).toBeUndefined();
    expect(calls).toHaveLength(0);
  });

  it('is not taken for a commit still to be synced by the data group that follows, even when that group fails', async () => {
    const { sync, calls } = manualSync();
    const commits = new CommitGroup(db, sync, { guard: countingGuard() });
    failingBatch(commits);
    commits.run(() => db.prepare('INSERT INTO child (parent) VALUES (42)').run());
    await expect(commits.settled()).rejects.toThrow(/FOREIGN KEY/);
    expect(commits.settled()).toBeUndefined();
    expect(calls).toHaveLength(0);
  });

  it('leaves data committed outside a group before it to be synced before the next answer', async () => {
    const { sync, calls } = manualSync();
    const commits = new CommitGroup(db, sync);
    insert('outside');
    failingBatch(commits);
    const settled = commits.settled();
    expect(settled).toBeInstanceOf(Promise);
    expect(calls).toHaveLength(1);
    calls[0]!();
    await settled;
  });

  it('is thrown to its caller as SQLite raised it: the guard never hears of it', () => {
    const g = countingGuard();
    const commits = new CommitGroup(db, manualSync().sync, { guard: g });
    failingBatch(commits);
    expect(g.named).toEqual([]);
  });
});

describe('storage working again, as the guard hears it', () => {
  it('is not told by a detached commit, and is told by a data group stored after the failure', async () => {
    const { sync, calls } = manualSync();
    const g = countingGuard();
    const commits = new CommitGroup(db, sync, { guard: g });
    expect(() =>
      commits.run(() => {
        throw coded('SQLITE_FULL');
      }),
    ).toThrow('SQLITE_FULL');
    // The group of that failed unit commits nothing, and its sync proves nothing.
    await nextTurn();
    for (const done of calls) done();
    await nextTurn();
    expect(g.stored).toBe(0);
    // An audit record stored needs no sync, and tells nothing.
    expect(commits.runDetached(() => insert('audit'))).toBeDefined();
    expect(commits.settled()).toBeUndefined();
    expect(g.stored).toBe(0);
    commits.run(() => insert('data'));
    const settled = commits.settled()!;
    await nextTurn();
    calls.at(-1)!();
    await settled;
    expect(g.stored).toBe(1);
  });

  it('is not told by the sync of a group committed before a later failure', async () => {
    const { sync, calls } = manualSync();
    const g = countingGuard();
    const commits = new CommitGroup(db, sync, { guard: g });
    commits.run(() => insert('first'));
    const first = commits.settled()!;
    await nextTurn();
    expect(calls).toHaveLength(1);
    // While the first group is synced, the next one fails.
    commits.run(() => db.prepare('INSERT INTO child (parent) VALUES (42)').run());
    await expect(commits.settled()).rejects.toThrow(/FOREIGN KEY/);
    expect(g.named).toHaveLength(1);
    calls[0]!();
    await first;
    expect(g.stored).toBe(0);
  });

  it('is not told by a group whose units all failed (its commit is empty)', async () => {
    const { sync, calls } = manualSync();
    const g = countingGuard();
    const commits = new CommitGroup(db, sync, { guard: g });
    expect(() =>
      commits.run(() => {
        insert('gone');
        throw coded('SQLITE_FULL');
      }),
    ).toThrow('SQLITE_FULL');
    const settled = commits.settled()!;
    await nextTurn();
    for (const done of calls) done();
    await settled;
    expect(g.stored).toBe(0);
  });

  it('without a sync, is told at the commit of a group that wrote something, not of an empty one', async () => {
    const g = countingGuard();
    const commits = new CommitGroup(db, undefined, { guard: g });
    expect(() =>
      commits.run(() => {
        throw coded('SQLITE_FULL');
      }),
    ).toThrow('SQLITE_FULL');
    await nextTurn();
    expect(g.stored).toBe(0);
    commits.run(() => insert('data'));
    await commits.settled();
    expect(g.stored).toBe(1);
  });
});

describe('the audit log while its records cannot be written', () => {
  const row = (n: number): NewAuditRow => ({
    time: 1_700_000_000_000 + n,
    vault: 'v1',
    operation: 'SecretGet',
    status: 200,
    durationMs: 1,
    apiVersion: '7.6',
    origin: 'https://v1.vault.azure.net',
    url: `/secrets/s${n}?api-version=7.6`,
    callerIp: '127.0.0.1',
    userAgent: `agent-${n}`,
  });

  it('drops them, says so once per cause (naming each error code once), and once when they are written again', () => {
    let failure: Error | undefined;
    const written: NewAuditRow[] = [];
    const repository: AuditRepository = {
      append: (rows) => {
        if (failure) throw failure;
        written.push(...rows);
        return rows.map((r, i) => ({ ...r, seq: written.length - rows.length + i + 1 }));
      },
      query: () => [],
      count: () => written.length,
      trimToCount: () => 0,
      trimOlderThan: () => 0,
      clear: () => 0,
    };
    const named: string[] = [];
    const reported: Array<string | undefined> = [];
    const recovered: number[] = [];
    const errors: unknown[] = [];
    const causes: Record<string, string> = { SQLITE_FULL: 'full', SQLITE_IOERR_WRITE: 'full', SQLITE_READONLY: 'readOnly' };
    const log = new AuditLog<number>({
      repository,
      build: row,
      retention: { maxRecords: 1000, maxAgeMs: 3_600_000 },
      flushDelayMs: 10_000,
      causeOf: (error) => {
        const code = (error as { code: string }).code;
        named.push(code);
        return causes[code];
      },
      onWriteFailure: (_error, cause) => reported.push(cause),
      onWriteRecovered: (dropped) => recovered.push(dropped),
      onError: (error) => errors.push(error),
    });
    const batch = (n: number) => {
      for (let i = 0; i < n; i++) log.observe(i);
      log.flush();
    };
    batch(1);
    failure = coded('SQLITE_FULL');
    for (let i = 0; i < 5; i++) batch(2);
    failure = coded('SQLITE_IOERR_WRITE');
    batch(3);
    batch(3);
    expect(reported).toEqual(['full']);
    expect(named).toEqual(['SQLITE_FULL', 'SQLITE_IOERR_WRITE']);
    failure = coded('SQLITE_READONLY');
    batch(1);
    expect(reported).toEqual(['full', 'readOnly']);
    // Nothing is kept to be retried: the next batch holds only its own records.
    failure = undefined;
    batch(2);
    expect(recovered).toEqual([17]);
    expect(written).toHaveLength(3);
    batch(1);
    expect(recovered).toEqual([17]);
    expect(errors).toEqual([]);
    log.close();
  });

  it('forgets the strings a rolled-back batch wrote: the next batch reads back as written', () => {
    const commits = new CommitGroup(db);
    const repo = new SqliteAuditRepository(db, commits);
    // A batch that fails after its new strings were inserted, as a full disk can fail it.
    db.exec("CREATE TRIGGER fail BEFORE INSERT ON audit_records BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    expect(() => repo.append([row(1)])).toThrow('database or disk is full');
    db.exec('DROP TRIGGER fail');
    // New strings now take the ids the rolled-back ones had.
    repo.append([row(2)]);
    repo.append([row(1)]);
    const read = repo.query({}, { limit: 10, order: 'asc' });
    expect(read.map((r) => [r.url, r.userAgent])).toEqual([
      ['/secrets/s2?api-version=7.6', 'agent-2'],
      ['/secrets/s1?api-version=7.6', 'agent-1'],
    ]);
  });
});

describe('the JSON-lines audit file while it cannot be written', () => {
  const until = async (condition: () => boolean) => {
    for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(condition()).toBe(true);
  };

  it('drops records, says so once, and is opened and written again once the cause goes', async () => {
    const folder = join(dir, 'gone');
    const path = join(folder, 'audit.jsonl');
    let now = 0;
    const failures: unknown[] = [];
    const recovered: number[] = [];
    const file = new AuditFile({ path, now: () => now, retryMs: 1_000, onFailure: (error) => failures.push(error), onRecovered: (dropped) => recovered.push(dropped) });
    file.write('{"n":1}\n', 1);
    await until(() => failures.length === 1);
    expect((failures[0] as { code: string }).code).toBe('ENOENT');
    file.write('{"n":2}\n{"n":3}\n', 2);
    // Tried again after the retry time: still failing, said no more.
    now += 1_000;
    file.write('{"n":4}\n', 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failures).toHaveLength(1);
    mkdirSync(folder);
    file.write('{"n":5}\n', 1);
    expect(recovered).toEqual([]);
    now += 1_000;
    file.write('{"n":6}\n', 1);
    await until(() => recovered.length === 1);
    expect(recovered).toEqual([5]);
    await file.close();
    expect(readFileSync(path, 'utf8')).toBe('{"n":6}\n');
  });

  const noFullDevice = existsSync('/dev/full') ? undefined : 'this machine has no /dev/full (a device that answers every write ENOSPC)';
  if (noFullDevice) console.log(`[hardening] full-disk audit file test skipped: ${noFullDevice}`);

  it.skipIf(noFullDevice !== undefined)('says once that a full disk refuses it, however many batches fail', async () => {
    const failures: unknown[] = [];
    const file = new AuditFile({ path: '/dev/full', onFailure: (error) => failures.push(error), onRecovered: () => {} });
    for (let i = 0; i < 5; i++) file.write('{"n":1}\n', 1);
    await until(() => failures.length === 1);
    for (let i = 0; i < 5; i++) file.write('{"n":1}\n', 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(failures.map((error) => (error as { code: string }).code)).toEqual(['ENOSPC']);
    await file.close();
  });
});
