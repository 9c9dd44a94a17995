// SQLite storage of audit records (audit/log.ts AuditRepository): one row of facts per answered request.
// Batches are written in a transaction of their own, outside the group commits of the data plane
// (store/commit-group.ts runDetached), so no answer waits for them, with statements of many rows each
// (a row costs a few bindings, not a statement); the facts no filter searches share one column. Filters
// are applied in SQL on the searchable columns, newest or oldest first.
import type { AuditFilter, AuditRow } from '../audit/filter.js';
import type { AuditPageRequest, AuditRepository, NewAuditRow } from '../audit/log.js';
import type { CommitGroup } from './commit-group.js';
import type { SqliteDatabase } from './database.js';

const COLUMNS = ['time', 'vault', 'operation', 'status', 'principal', 'appid', 'correlation_id', 'details'] as const;

/**
 * The facts no filter searches, in one column: their values joined by a separator that none of them can
 * hold (header values, URLs and JSON text carry no control characters; any there are dropped).
 */
const DETAILS = [
  'durationMs',
  'apiVersion',
  'origin',
  'url',
  'objectPath',
  'callerIp',
  'userAgent',
  'identity',
  'decision',
  'allowed',
  'assignmentId',
  'errorBody',
  'tlsVersion',
  'resourceGroup',
] as const;
const SEPARATOR = '\u001f';

/** Rows per INSERT statement (8 columns each: 256 bindings, far below SQLite's limit). */
const ROWS_PER_STATEMENT = 32;

interface Stored {
  seq: number;
  time: number;
  vault: string | null;
  operation: string;
  status: number;
  principal: string | null;
  appid: string | null;
  correlation_id: string | null;
  details: string;
}

/** Marks a reference to audit_strings in the details column (no stored value holds control characters). */
const REFERENCE = '\u001e';
/** Values kept once in audit_strings; past this many, values are written out in full again. */
const MAX_STRINGS = 10_000;

const clean = (value: string) => (/[\u001e\u001f]/.test(value) ? value.replace(/[\u001e\u001f]/g, '') : value);

/**
 * `clean` for a field that holds the same value row after row (a client's api-version, its address): the
 * last value and its clean form are kept.
 */
function cleaner(): (value: string) => string {
  let last = '';
  let lastClean = '';
  return (value) => {
    if (value !== last) {
      last = value;
      lastClean = clean(value);
    }
    return lastClean;
  };
}

/** The long values that repeat from request to request, kept once each (audit_strings). */
class Strings {
  private readonly ids = new Map<string, number>();
  private readonly texts = new Map<number, string>();
  /** Ids inserted by the transaction under way: forgotten if it is rolled back. */
  private added: number[] = [];
  private readonly upsert;
  private readonly byId;
  private readonly all;
  private readonly remove;

  constructor(db: SqliteDatabase) {
    this.upsert = db.prepare('INSERT INTO audit_strings (text) VALUES (?) ON CONFLICT(text) DO UPDATE SET text = excluded.text RETURNING id').pluck();
    this.byId = db.prepare('SELECT text FROM audit_strings WHERE id = ?').pluck();
    this.all = db.prepare('SELECT id, text FROM audit_strings');
    this.remove = db.prepare('DELETE FROM audit_strings');
    this.reload();
  }

  reload(): void {
    this.ids.clear();
    this.texts.clear();
    for (const { id, text } of this.all.all() as Array<{ id: number; text: string }>) this.remember(id, text);
  }

  /** The value as the details column holds it: a reference, or the value itself once the table is full. */
  encode(value: string): string {
    // A value found as it is holds no separator (only clean values are kept).
    const found = this.ids.get(value);
    if (found !== undefined) return REFERENCE + found;
    const clean_ = clean(value);
    let id = this.ids.get(clean_);
    if (id === undefined) {
      if (this.ids.size >= MAX_STRINGS) return clean_;
      id = this.upsert.get(clean_) as number;
      this.remember(id, clean_);
      this.added.push(id);
    }
    return REFERENCE + id;
  }

  decode(value: string): string {
    if (!value.startsWith(REFERENCE)) return value;
    const id = Number(value.slice(1));
    let text = this.texts.get(id);
    if (text === undefined) {
      text = (this.byId.get(id) as string | undefined) ?? '';
      this.remember(id, text);
    }
    return text;
  }

  /** The transaction that inserted strings committed: they are kept. */
  kept(): void {
    this.added = [];
  }

  /**
   * The transaction that inserted strings was rolled back: they are gone again (their ids may be given to
   * other strings). Forgets only those, without reading the table (a failing disk fails every batch).
   */
  rolledBack(): void {
    for (const id of this.added) {
      const text = this.texts.get(id);
      this.texts.delete(id);
      if (text !== undefined && this.ids.get(text) === id) this.ids.delete(text);
    }
    this.added = [];
  }

  clear(): void {
    this.remove.run();
    this.ids.clear();
    this.texts.clear();
  }

  private remember(id: number, text: string): void {
    this.ids.set(text, id);
    this.texts.set(id, text);
  }
}

const S = SEPARATOR;

/** The details column of a row (DETAILS, in order). */
function detailsOf(row: NewAuditRow, strings: Strings, cleaned: Cleaners): string {
  return (
    String(Math.round(row.durationMs * 100) / 100) +
    S +
    cleaned.apiVersion(row.apiVersion) +
    S +
    strings.encode(row.origin) +
    S +
    strings.encode(row.url) +
    S +
    (row.objectPath === undefined ? '' : cleaned.objectPath(row.objectPath)) +
    S +
    cleaned.callerIp(row.callerIp) +
    S +
    (row.userAgent === undefined ? '' : strings.encode(row.userAgent)) +
    S +
    (row.identity === undefined ? '' : strings.encode(row.identity)) +
    S +
    (row.decision ?? '') +
    S +
    (row.allowed === undefined ? '' : row.allowed ? '1' : '0') +
    S +
    (row.assignmentId === undefined ? '' : strings.encode(row.assignmentId)) +
    S +
    (row.errorBody === undefined ? '' : clean(row.errorBody)) +
    S +
    (row.tlsVersion ?? '') +
    S +
    (row.resourceGroup === undefined ? '' : cleaned.resourceGroup(row.resourceGroup))
  );
}

interface Cleaners {
  apiVersion: (value: string) => string;
  objectPath: (value: string) => string;
  callerIp: (value: string) => string;
  resourceGroup: (value: string) => string;
}

function toRow(s: Stored, strings: Strings): AuditRow {
  const d = s.details.split(SEPARATOR);
  const at = (name: (typeof DETAILS)[number]) => strings.decode(d[DETAILS.indexOf(name)] ?? '');
  const row: AuditRow = {
    seq: s.seq,
    time: s.time,
    operation: s.operation,
    status: s.status,
    durationMs: Number(at('durationMs')),
    apiVersion: at('apiVersion'),
    origin: at('origin'),
    url: at('url'),
    callerIp: at('callerIp'),
  };
  if (s.vault !== null) row.vault = s.vault;
  if (s.principal !== null) row.principal = s.principal;
  if (s.appid !== null) row.appid = s.appid;
  if (s.correlation_id !== null) row.correlationId = s.correlation_id;
  const optional = (name: (typeof DETAILS)[number]) => {
    const value = at(name);
    return value === '' ? undefined : value;
  };
  const objectPath = optional('objectPath');
  if (objectPath !== undefined) row.objectPath = objectPath;
  const userAgent = optional('userAgent');
  if (userAgent !== undefined) row.userAgent = userAgent;
  const identity = optional('identity');
  if (identity !== undefined) row.identity = identity;
  const decision = optional('decision');
  if (decision === 'rbac' || decision === 'accessPolicy') row.decision = decision;
  const allowed = optional('allowed');
  if (allowed !== undefined) row.allowed = allowed === '1';
  const assignmentId = optional('assignmentId');
  if (assignmentId !== undefined) row.assignmentId = assignmentId;
  const errorBody = optional('errorBody');
  if (errorBody !== undefined) row.errorBody = errorBody;
  const tlsVersion = optional('tlsVersion');
  if (tlsVersion !== undefined) row.tlsVersion = tlsVersion;
  // Rows written before the field existed have no such part: the default group.
  const resourceGroup = optional('resourceGroup');
  if (resourceGroup !== undefined) row.resourceGroup = resourceGroup;
  return row;
}

function bind(values: unknown[], row: NewAuditRow, strings: Strings, cleaned: Cleaners): void {
  values.push(row.time, row.vault ?? null, row.operation, row.status, row.principal ?? null, row.appid ?? null, row.correlationId ?? null, detailsOf(row, strings, cleaned));
}

const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');
const insertOf = (rows: number) =>
  `INSERT INTO audit_records (${COLUMNS.join(', ')}) VALUES ${Array.from({ length: rows }, () => `(${placeholders(COLUMNS.length)})`).join(', ')}`;

export class SqliteAuditRepository implements AuditRepository {
  private readonly stmt;
  private readonly strings: Strings;
  private readonly cleaned: Cleaners = { apiVersion: cleaner(), objectPath: cleaner(), callerIp: cleaner(), resourceGroup: cleaner() };
  private readonly inserts = new Map<number, { run(...values: unknown[]): { lastInsertRowid: number | bigint } }>();

  constructor(
    private readonly db: SqliteDatabase,
    private readonly commits: CommitGroup,
  ) {
    this.stmt = {
      count: db.prepare('SELECT count(*) FROM audit_records').pluck(),
      maxSeq: db.prepare('SELECT max(seq) FROM audit_records').pluck(),
      trimTo: db.prepare('DELETE FROM audit_records WHERE seq <= ?'),
      // Records are written in time order (near enough), so the scan stops at the first young record.
      firstYoung: db.prepare('SELECT seq FROM audit_records WHERE time >= ? ORDER BY seq LIMIT 1').pluck(),
      clear: db.prepare('DELETE FROM audit_records'),
    };
    this.strings = new Strings(db);
  }

  private insertFor(rows: number) {
    let statement = this.inserts.get(rows);
    if (statement === undefined) this.inserts.set(rows, (statement = this.db.prepare<unknown[]>(insertOf(rows))));
    return statement;
  }

  append(rows: NewAuditRow[]): AuditRow[] | undefined {
    try {
      const written = this.commits.runDetached(() => this.insert(rows));
      this.strings.kept();
      return written;
    } catch (error) {
      // Strings written by the rolled-back transaction are gone again: forget what it added.
      this.strings.rolledBack();
      throw error;
    }
  }

  private insert(rows: NewAuditRow[]): AuditRow[] {
    {
      const written: AuditRow[] = [];
      for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
        const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
        const values: unknown[] = [];
        for (const row of chunk) bind(values, row, this.strings, this.cleaned);
        const last = Number(this.insertFor(chunk.length).run(...values).lastInsertRowid);
        // One statement's rows get consecutive sequence numbers (INTEGER PRIMARY KEY: max + 1 each).
        // The rows become the written records (they are the caller's to give: built for this write).
        chunk.forEach((row, i) => {
          (row as AuditRow).seq = last - chunk.length + 1 + i;
          written.push(row as AuditRow);
        });
      }
      return written;
    }
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
    return (this.db.prepare(sql).all(...args) as Stored[]).map((stored) => toRow(stored, this.strings));
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
    return this.commits.run(() => {
      const removed = this.stmt.clear.run().changes;
      this.strings.clear();
      return removed;
    });
  }
}
