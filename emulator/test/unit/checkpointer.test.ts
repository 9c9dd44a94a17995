// Background checkpoints (store/checkpointer.ts) on a real SQLite file with a real worker thread: the
// connection that commits never checkpoints, the worker does, the log stops growing, nothing is lost.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WalCheckpointer, type CheckpointResult } from '../../src/store/checkpointer.js';
import { CommitGroup } from '../../src/store/commit-group.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';

const PAGE = 4096;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

let dir: string;
let file: string;
let db: SqliteDatabase;
let commits: CommitGroup;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kv-checkpointer-'));
  file = join(dir, 'test.db');
  db = openDatabase({ file, autoCheckpoint: false });
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
  commits = new CommitGroup(db);
});

afterEach(() => {
  if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `count` groups, one per turn of the event loop, each writing a row of a page or so. */
async function writeGroups(count: number): Promise<void> {
  const insert = db.prepare('INSERT INTO t (body) VALUES (?)');
  for (let i = 0; i < count; i++) {
    commits.run(() => insert.run(Buffer.alloc(PAGE - 200, i % 251)));
    await nextTurn();
  }
}

/** The log's size in pages: its high-water mark, as SQLite reuses it without truncating it. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(condition()).toBe(true);
}

const walPages = () => statSync(`${file}-wal`).size / PAGE;

describe('WalCheckpointer', () => {
  it('leaves the log to grow when nothing checkpoints it: the committing connection does not', async () => {
    await writeGroups(1200);
    // SQLite's automatic checkpoint would have reused the log after 1,000 pages; each group writes 3.
    expect(walPages()).toBeGreaterThan(1200 * 3);
  });

  it('checkpoints on its worker every so many commits, so the log is reused and stays short', async () => {
    const results: CheckpointResult[] = [];
    const catchUps: CheckpointResult[] = [];
    const checkpointer = new WalCheckpointer({ db, file, everyCommits: 50, onCheckpoint: (r) => results.push(r), onMainCheckpoint: (r) => catchUps.push(r) });
    commits.onCommit(() => checkpointer.committed());
    await writeGroups(1200);
    await checkpointer.close();

    expect(results.length).toBeGreaterThanOrEqual(5);
    const complete = results.filter((r) => r.log > 0 && r.checkpointed === r.log);
    expect(complete.length).toBeGreaterThanOrEqual(1);
    // The emulator's connection copied only what was committed while the worker ran, and finished the job.
    expect(catchUps.length).toBeGreaterThanOrEqual(1);
    for (const c of catchUps) expect(c.checkpointed).toBe(c.log);
    // ...and never while the worker was checkpointing too (the two contend: SQLite answers busy, -1).
    for (const c of catchUps) expect(c.log).toBeGreaterThan(0);
    // The log was reused from its beginning: a later checkpoint found fewer frames in it than an earlier one.
    expect(results.some((r, i) => i > 0 && r.log < results[i - 1]!.log)).toBe(true);
    expect(walPages()).toBeLessThan(1200 * 3);

    // Everything committed is there, the file is sound, and the last connection to close removes the log.
    db.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
    const reopened = new Database(file, { readonly: true });
    try {
      expect(reopened.prepare('SELECT count(*) FROM t').pluck().get()).toBe(1200);
      expect(reopened.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      reopened.close();
    }
  });

  it('checkpoints what is left on the event loop once writes go quiet, without starting a worker', async () => {
    const onWorker: CheckpointResult[] = [];
    const onMain: CheckpointResult[] = [];
    const checkpointer = new WalCheckpointer({ db, file, everyCommits: 1000, idleMs: 50, onCheckpoint: (r) => onWorker.push(r), onMainCheckpoint: (r) => onMain.push(r) });
    commits.onCommit(() => checkpointer.committed());
    await writeGroups(3);
    await until(() => onMain.length > 0);
    await checkpointer.close();
    expect(onWorker).toEqual([]);
    expect(onMain).toHaveLength(1);
    expect(onMain[0]!.log).toBeGreaterThanOrEqual(3);
    expect(onMain[0]!.checkpointed).toBe(onMain[0]!.log);
  });

  it('stops its worker when writes go quiet, and starts another with the next stream of writes', async () => {
    const onWorker: CheckpointResult[] = [];
    const checkpointer = new WalCheckpointer({ db, file, everyCommits: 20, idleMs: 100, onCheckpoint: (r) => onWorker.push(r) });
    commits.onCommit(() => checkpointer.committed());
    await writeGroups(100);
    await until(() => onWorker.length > 0);
    expect(checkpointer.workerActive).toBe(true);
    await until(() => !checkpointer.workerActive);
    const before = onWorker.length;
    await writeGroups(100);
    await until(() => onWorker.length > before);
    expect(checkpointer.workerActive).toBe(true);
    await checkpointer.close();
    expect(checkpointer.workerActive).toBe(false);
  });

  it('reports when its worker cannot run, turns the automatic checkpoints of SQLite back on, and then stays out of the way', async () => {
    let reason: unknown;
    const checkpointer = new WalCheckpointer({ db, file: join(dir, 'missing', 'none.db'), everyCommits: 1, onUnavailable: (e) => (reason = e) });
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    checkpointer.committed();
    await until(() => reason !== undefined);
    expect(String(reason)).toMatch(/unable to open|does not exist|no such file/i);
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    checkpointer.committed();
    await checkpointer.close();
  });

  it('keeps its process alive until the worker has closed, so the last connection can remove the log', () => {
    // In a process of its own with nothing else to wait for (as at the end of a shutdown): the close must
    // finish, and the emulator's connection then close last. Runs the built module (npm test builds first).
    const dist = (path: string) => pathToFileURL(resolve(__dirname, '../../dist/store', path)).href;
    const script = `
      const { openDatabase } = await import(${JSON.stringify(dist('database.js'))});
      const { CommitGroup } = await import(${JSON.stringify(dist('commit-group.js'))});
      const { WalCheckpointer } = await import(${JSON.stringify(dist('checkpointer.js'))});
      const file = ${JSON.stringify(join(dir, 'child.db'))};
      const db = openDatabase({ file, autoCheckpoint: false });
      db.exec('CREATE TABLE t (v INTEGER)');
      const commits = new CommitGroup(db);
      let checkpoints = 0;
      const checkpointer = new WalCheckpointer({ db, file, everyCommits: 10, onCheckpoint: () => checkpoints++, onUnavailable: (e) => console.log('unavailable: ' + e) });
      commits.onCommit(() => checkpointer.committed());
      const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
      for (let i = 0; i < 200; i++) {
        commits.run(() => insert.run(i));
        await new Promise((r) => setImmediate(r));
      }
      for (let i = 0; checkpoints === 0 && i < 1000; i++) await new Promise((r) => setTimeout(r, 10));
      await checkpointer.close();
      db.close();
      console.log('closed after ' + checkpoints + ' checkpoints');
    `;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    expect(out).toMatch(/^closed after [1-9]\d* checkpoints/);
    expect(existsSync(join(dir, 'child.db-wal'))).toBe(false);
  });
});
