// SQLite storage of audit records (audit/log.ts AuditRepository). Batches are written in a transaction of
// their own, outside the group commits of the data plane (store/commit-group.ts runDetached), so no answer
// waits for them. Filters are applied in SQL on the searchable columns, newest or oldest first.
import type { AuditFilter, AuditRow } from '../audit/filter.js';
import type { AuditPageRequest, AuditRepository, NewAuditRow } from '../audit/log.js';
import type { CommitGroup } from './commit-group.js';
import type { SqliteDatabase } from './database.js';

interface Stored {
  seq: number;
  time: number;
  vault: string | null;
  operation: string;
  status: number;
  principal: string | null;
  appid: string | null;
  correlation_id: string | null;
  record: string;
}

function toRow(s: Stored): AuditRow {
  return {
    seq: s.seq,
    time: s.time,
    ...(s.vault !== null && { vault: s.vault }),
    operation: s.operation,
    status: s.status,
    ...(s.principal !== null && { principal: s.principal }),
    ...(s.appid !== null && { appid: s.appid }),
    ...(s.correlation_id !== null && { correlationId: s.correlation_id }),
    record: s.record,
  };
}

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

export class SqliteAuditRepository implements AuditRepository {
  private readonly stmt;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly commits: CommitGroup,
  ) {
    this.stmt = {
      insert: db.prepare(
        'INSERT INTO audit_records (time, vault, operation, status, principal, appid, correlation_id, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      count: db.prepare('SELECT count(*) FROM audit_records').pluck(),
      maxSeq: db.prepare('SELECT max(seq) FROM audit_records').pluck(),
      trimTo: db.prepare('DELETE FROM audit_records WHERE seq <= ?'),
      // Records are written in time order (near enough), so the scan stops at the first young record.
      firstYoung: db.prepare('SELECT seq FROM audit_records WHERE time >= ? ORDER BY seq LIMIT 1').pluck(),
      clear: db.prepare('DELETE FROM audit_records'),
    };
  }

  append(rows: NewAuditRow[]): AuditRow[] | undefined {
    return this.commits.runDetached(() =>
      rows.map((row) => {
        const result = this.stmt.insert.run(
          row.time,
          row.vault ?? null,
          row.operation,
          row.status,
          row.principal ?? null,
          row.appid ?? null,
          row.correlationId ?? null,
          row.record,
        );
        return { ...row, seq: Number(result.lastInsertRowid) };
      }),
    );
  }

  query(filter: AuditFilter, page: AuditPageRequest): AuditRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.vaults) {
      where.push(`vault IN (${placeholders(filter.vaults.length)})`);
      args.push(...filter.vaults);
    }
    if (filter.operations) {
      where.push(`operation COLLATE NOCASE IN (${placeholders(filter.operations.length)})`);
      args.push(...filter.operations);
    }
    if (filter.statuses || filter.statusClasses) {
      const either: string[] = [];
      if (filter.statuses) {
        either.push(`status IN (${placeholders(filter.statuses.length)})`);
        args.push(...filter.statuses);
      }
      if (filter.statusClasses) {
        either.push(`status / 100 IN (${placeholders(filter.statusClasses.length)})`);
        args.push(...filter.statusClasses);
      }
      where.push(`(${either.join(' OR ')})`);
    }
    if (filter.principals) {
      const ids = filter.principals.map((p) => p.toLowerCase());
      where.push(`(lower(principal) IN (${placeholders(ids.length)}) OR lower(appid) IN (${placeholders(ids.length)}))`);
      args.push(...ids, ...ids);
    }
    if (filter.correlationId !== undefined) {
      where.push('correlation_id = ?');
      args.push(filter.correlationId);
    }
    if (filter.since !== undefined) {
      where.push('time >= ?');
      args.push(filter.since);
    }
    if (filter.until !== undefined) {
      where.push('time <= ?');
      args.push(filter.until);
    }
    if (page.after !== undefined) {
      where.push(page.order === 'asc' ? 'seq > ?' : 'seq < ?');
      args.push(page.after);
    }
    const sql =
      `SELECT * FROM audit_records${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ` +
      `ORDER BY seq ${page.order === 'asc' ? 'ASC' : 'DESC'} LIMIT ?`;
    args.push(page.limit);
    return (this.db.prepare(sql).all(...args) as Stored[]).map(toRow);
  }

  count(): number {
    return this.stmt.count.get() as number;
  }

  trimToCount(keep: number): number {
    const max = this.stmt.maxSeq.get() as number | null;
    if (max === null) return 0;
    return this.commits.runDetached(() => this.stmt.trimTo.run(max - keep).changes) ?? 0;
  }

  trimOlderThan(time: number): number {
    const firstYoung = this.stmt.firstYoung.get(time) as number | undefined;
    const bound = firstYoung === undefined ? ((this.stmt.maxSeq.get() as number | null) ?? 0) : firstYoung - 1;
    if (bound <= 0) return 0;
    return this.commits.runDetached(() => this.stmt.trimTo.run(bound).changes) ?? 0;
  }

  /** An admin change: written in the current group, so its answer waits until it is committed. */
  clear(): number {
    return this.commits.run(() => this.stmt.clear.run().changes);
  }
}
