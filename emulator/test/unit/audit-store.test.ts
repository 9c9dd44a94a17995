// The audit log's storage on a real SQLite file: batches are written outside the data plane's group
// commits (no answer waits for them, and none waits for a sync because of them), filters select in SQL
// what the live stream's matcher selects in memory, and retention keeps the newest records by count and
// by age.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matches, parseFilter, type AuditFilter, type AuditRow } from '../../src/audit/filter.js';
import { AuditLog, type NewAuditRow } from '../../src/audit/log.js';
import { SqliteAuditRepository } from '../../src/store/audit-repository.js';
import { CommitGroup } from '../../src/store/commit-group.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';

let dir: string;
let db: SqliteDatabase;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kv-audit-store-'));
  db = openDatabase({ file: join(dir, 'test.db'), synchronous: 'NORMAL', autoCheckpoint: false });
  db.exec('CREATE TABLE t (v TEXT PRIMARY KEY)');
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const row = (over: Partial<NewAuditRow> = {}): NewAuditRow => ({
  time: 1_700_000_000_000,
  vault: 'v1',
  operation: 'SecretGet',
  status: 200,
  principal: 'oid-1',
  appid: 'app-1',
  correlationId: 'c-1',
  durationMs: 1.5,
  apiVersion: '7.6',
  origin: 'https://v1.vault.azure.net',
  url: '/secrets/a?api-version=7.6',
  callerIp: '127.0.0.1',
  ...over,
});

describe('CommitGroup.runDetached', () => {
  it('commits on its own, and the next answer waits for no sync because of it', async () => {
    const syncs: Array<() => void> = [];
    const commits = new CommitGroup(db, (done) => syncs.push(() => done()));
    let committed = 0;
    commits.onCommit(() => committed++);
    expect(commits.settled()).toBeUndefined();
    commits.runDetached(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('audit'));
    expect(committed).toBe(1);
    expect(db.inTransaction).toBe(false);
    // A write outside a group made by anything else would make the next answer wait for a sync.
    expect(commits.settled()).toBeUndefined();
    expect(syncs).toHaveLength(0);
  });

  it('does not run while a group is open, and runs once it has committed', async () => {
    const commits = new CommitGroup(db);
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('data'));
    expect(commits.runDetached(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('audit'))).toBeUndefined();
    await nextTurn();
    expect(commits.runDetached(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('audit'))).toBeDefined();
    expect(db.prepare('SELECT v FROM t ORDER BY v').pluck().all()).toEqual(['audit', 'data']);
  });

  it('leaves changes someone waits on uncovered: their answer still waits for its sync', async () => {
    const syncs: Array<() => void> = [];
    const commits = new CommitGroup(db, (done) => syncs.push(() => done()));
    db.prepare('INSERT INTO t (v) VALUES (?)').run('outside');
    commits.runDetached(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('audit'));
    const settled = commits.settled();
    expect(settled).toBeInstanceOf(Promise);
    syncs[0]!();
    await settled;
  });
});

describe('SqliteAuditRepository', () => {
  it('filters in SQL exactly as the stream filters in memory', () => {
    const repo = new SqliteAuditRepository(db, new CommitGroup(db));
    const rows: NewAuditRow[] = [];
    const operations = ['SecretGet', 'SecretSet', 'SecretList', 'Authentication'];
    const statuses = [200, 204, 401, 403, 404, 409, 429, 500];
    for (let i = 0; i < 120; i++) {
      rows.push(
        row({
          time: 1_700_000_000_000 + i * 1000,
          vault: i % 3 === 0 ? 'alpha' : 'beta',
          operation: operations[i % operations.length]!,
          status: statuses[i % statuses.length]!,
          ...(i % 5 === 0 ? {} : { principal: `oid-${i % 4}`, appid: `app-${i % 6}` }),
          correlationId: `c-${i % 7}`,
        }),
      );
    }
    const written = repo.append(rows)!;
    expect(written.map((r) => r.seq)).toEqual(rows.map((_, i) => i + 1));
    // Every fact comes back as it was written.
    expect(repo.query({}, { limit: 1000, order: 'asc' })).toEqual(written);
    const filters: AuditFilter[] = [
      {},
      { vaults: ['alpha'] },
      { operations: ['secretget', 'Authentication'] },
      { statuses: [403], statusClasses: [5] },
      { statusClasses: [4] },
      { principals: ['OID-1', 'app-5'] },
      { correlationId: 'c-3' },
      { since: 1_700_000_030_000, until: 1_700_000_060_000 },
      { vaults: ['beta'], statusClasses: [2], principals: ['oid-2'] },
    ];
    for (const filter of filters) {
      const fromSql = repo.query(filter, { limit: 1000, order: 'asc' }).map((r) => r.seq);
      const inMemory = written.filter((r) => matches(filter, r)).map((r) => r.seq);
      expect(fromSql, JSON.stringify(filter)).toEqual(inMemory);
    }
    // Paging in both orders.
    const newest = repo.query({ vaults: ['alpha'] }, { limit: 5, order: 'desc' });
    const next = repo.query({ vaults: ['alpha'] }, { limit: 5, order: 'desc', after: newest.at(-1)!.seq });
    expect([...newest, ...next].map((r) => r.seq)).toEqual(written.filter((r) => r.vault === 'alpha').map((r) => r.seq).reverse().slice(0, 10));
  });
});

describe('AuditLog', () => {
  const built = (n: number): NewAuditRow => row({ time: Date.now(), correlationId: `c-${n}`, userAgent: String(n) });

  it('writes observed requests in batches, and a read writes what is pending first', async () => {
    const repo = new SqliteAuditRepository(db, new CommitGroup(db));
    const log = new AuditLog<number>({ repository: repo, build: built, retention: { maxRecords: 1000, maxAgeMs: 3_600_000 }, flushDelayMs: 10_000 });
    log.observe(1);
    log.observe(2);
    expect(repo.count()).toBe(0);
    expect(log.query({}, { limit: 10, order: 'asc' }).map((r) => r.correlationId)).toEqual(['c-1', 'c-2']);
    log.close();
  });

  it('waits for an open group of writes to commit before writing its batch', async () => {
    const commits = new CommitGroup(db);
    const repo = new SqliteAuditRepository(db, commits);
    const log = new AuditLog<number>({ repository: repo, build: built, retention: { maxRecords: 1000, maxAgeMs: 3_600_000 } });
    commits.run(() => db.prepare('INSERT INTO t (v) VALUES (?)').run('data'));
    log.observe(1);
    log.flush();
    expect(repo.count()).toBe(0);
    await nextTurn();
    await nextTurn();
    expect(repo.count()).toBe(1);
    log.close();
  });

  it('delivers new records to subscribers whose filter they pass', () => {
    const repo = new SqliteAuditRepository(db, new CommitGroup(db));
    const log = new AuditLog<NewAuditRow>({ repository: repo, build: (r) => r, retention: { maxRecords: 1000, maxAgeMs: 3_600_000 } });
    const seen: AuditRow[] = [];
    const unsubscribe = log.subscribe({ filter: parseFilter({ status: '4xx' }, (p) => p), deliver: (rows) => seen.push(...rows) });
    log.observe(row({ status: 200 }));
    log.observe(row({ status: 403 }));
    log.flush();
    expect(seen.map((r) => r.status)).toEqual([403]);
    unsubscribe();
    log.observe(row({ status: 401 }));
    log.flush();
    expect(seen).toHaveLength(1);
    log.close();
  });

  it('keeps at most maxRecords, the newest', () => {
    const repo = new SqliteAuditRepository(db, new CommitGroup(db));
    const log = new AuditLog<number>({ repository: repo, build: built, retention: { maxRecords: 50, maxAgeMs: 3_600_000 }, maxBatch: 10 });
    for (let i = 0; i < 200; i++) log.observe(i);
    log.flush();
    // Trimmed once a tenth more than the limit has accumulated; enforced exactly on demand.
    expect(log.size()).toBeLessThanOrEqual(55);
    log.enforceRetention();
    expect(log.size()).toBe(50);
    const kept = log.query({}, { limit: 1000, order: 'asc' }).map((r) => Number(r.userAgent));
    expect(kept).toEqual(Array.from({ length: 50 }, (_, i) => 150 + i));
    log.close();
  });

  it('trims a large log in steps of at most a thousand records, not a tenth of the limit at once', () => {
    const repo = new SqliteAuditRepository(db, new CommitGroup(db));
    const trims: number[] = [];
    const trimToCount = repo.trimToCount.bind(repo);
    repo.trimToCount = (keep) => {
      const removed = trimToCount(keep);
      trims.push(removed);
      return removed;
    };
    const log = new AuditLog<number>({ repository: repo, build: built, retention: { maxRecords: 20_000, maxAgeMs: 3_600_000 }, maxBatch: 500 });
    let most = 0;
    for (let i = 0; i < 30_000; i++) {
      log.observe(i);
      if (i % 500 === 499) {
        log.flush();
        most = Math.max(most, repo.count());
      }
    }
    log.flush();
    // A tenth of this limit would be 2,000 records at once; no more than 1,000 wait, and each trim removes about that.
    expect(most).toBeLessThanOrEqual(21_000);
    expect(trims.length).toBeGreaterThanOrEqual(6);
    expect(Math.max(...trims)).toBeLessThanOrEqual(1_500);
    expect(log.size()).toBeGreaterThanOrEqual(20_000);
    log.close();
  });

  it('removes records older than maxAge', () => {
    let now = 1_700_000_000_000;
    const repo = new SqliteAuditRepository(db, new CommitGroup(db));
    const log = new AuditLog<number>({
      repository: repo,
      build: (n) => row({ time: now, userAgent: String(n) }),
      retention: { maxRecords: 1000, maxAgeMs: 60_000 },
      now: () => now,
    });
    log.observe(1);
    log.flush();
    now += 45_000;
    log.observe(2);
    log.flush();
    now += 30_000;
    log.enforceRetention();
    expect(log.query({}, { limit: 10, order: 'asc' }).map((r) => Number(r.userAgent))).toEqual([2]);
    now += 60_001;
    log.enforceRetention();
    expect(log.size()).toBe(0);
    log.close();
  });
});
