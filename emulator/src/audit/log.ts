// The audit log: keeps one record per observed request, never in the way of the answer. A request is
// observed after its answer is sent (the HTTP layer pushes what it saw, nothing more); records are built
// and written in batches, a short while later, in a transaction of their own that no answer waits for.
// Kept by count and by age; readers (the admin API, the live stream, the JSON-lines file) see records
// once they are written. Reads write what is pending first, so a client that got its answer finds the
// record of it.
// When the storage fails (a full disk, a read-only file system), the batches that cannot be written are
// dropped: the requests they describe were answered all the same, and nothing is retried (a failing disk
// would only fail again, and pending records would pile up). The operator hears it once per cause when
// batches start failing, and once when one is written again, with the count of records dropped.

import type { AuditFilter, AuditRow } from './filter.js';
import { matches } from './filter.js';

/** A record about to be written: its searchable fields and its JSON. */
export type NewAuditRow = Omit<AuditRow, 'seq'>;

/** Where records are kept (store/audit-repository.ts). */
export interface AuditRepository {
  /**
   * Writes rows in one transaction and answers them with their sequence numbers; undefined when the
   * store cannot write outside the current group of writes now (try again after this turn).
   */
  append(rows: NewAuditRow[]): AuditRow[] | undefined;
  query(filter: AuditFilter, page: AuditPageRequest): AuditRow[];
  count(): number;
  /** Removes the oldest records beyond `keep`; answers how many were removed. */
  trimToCount(keep: number): number;
  /** Removes records older than `time` (wall-clock ms). */
  trimOlderThan(time: number): number;
  clear(): number;
}

export interface AuditPageRequest {
  limit: number;
  order: 'asc' | 'desc';
  /** Continue after this sequence number (in the page's order). */
  after?: number;
}

export interface AuditRetention {
  maxRecords: number;
  maxAgeMs: number;
}

export interface AuditLogOptions<T> {
  repository: AuditRepository;
  /** Builds the row of an observed request (undefined: not recorded). Runs when a batch is written. */
  build: (observed: T) => NewAuditRow | undefined;
  retention: AuditRetention;
  /** Wall clock (ms). */
  now?: () => number;
  /** How long after the first observed request a batch is written. */
  flushDelayMs?: number;
  /** A batch of this many is written without waiting. */
  maxBatch?: number;
  /** Called with each written batch (the JSON-lines file). */
  sink?: (rows: AuditRow[]) => void;
  /** A record that could not be built, or a failure of a subscriber or of the sink. */
  onError?: (error: unknown) => void;
  /** Names why records could not be written (a storage cause), asked once per error code; undefined: not storage. */
  causeOf?: (error: unknown) => string | undefined;
  /** Records cannot be written (they are dropped): called when this starts, and again only for another cause. */
  onWriteFailure?: (error: unknown, cause: string | undefined) => void;
  /** Records are written again after onWriteFailure; `dropped` records were lost meanwhile. */
  onWriteRecovered?: (dropped: number) => void;
}

/** While records cannot be written: the last failure's code and cause, and how many were dropped. */
interface Failing {
  code: string | undefined;
  cause: string | undefined;
  dropped: number;
}

export interface AuditSubscription {
  filter: AuditFilter;
  deliver: (rows: AuditRow[]) => void;
}

/** Age-based trimming runs at most this often. */
const AGE_CHECK_MS = 60_000;

/**
 * How many records beyond maxRecords wait for the next trim: a tenth of the limit, at most this many. A
 * trim is one DELETE on the event loop; 10,000 records at once (a tenth of the default limit) held it
 * 4 to 7 ms, every second and a half under a steady 7,000 requests a second.
 */
const MAX_TRIM_SLACK = 1000;

export class AuditLog<T> {
  private pending: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private retry: NodeJS.Immediate | undefined;
  private readonly subscribers = new Set<AuditSubscription>();
  private stored: number;
  private lastAgeCheck = 0;
  private closed = false;
  private failing: Failing | undefined;
  private readonly now: () => number;
  private readonly flushDelayMs: number;
  private readonly maxBatch: number;

  constructor(private readonly options: AuditLogOptions<T>) {
    this.now = options.now ?? Date.now;
    this.flushDelayMs = options.flushDelayMs ?? 50;
    this.maxBatch = options.maxBatch ?? 1000;
    this.stored = options.repository.count();
    this.trim(true);
  }

  /** Takes note of an answered request: the hot path, a push and at most one timer. */
  observe(observed: T): void {
    if (this.closed) return;
    this.pending.push(observed);
    if (this.pending.length === this.maxBatch) {
      this.schedule(0);
    } else if (this.timer === undefined && this.retry === undefined) {
      this.schedule(this.flushDelayMs);
    }
  }

  /** Writes what is pending now (before a read, and at close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.retry) clearImmediate(this.retry);
    this.retry = undefined;
    if (this.pending.length === 0) return;
    const observed = this.pending;
    let rows: NewAuditRow[] = [];
    for (const entry of observed) {
      try {
        const row = this.options.build(entry);
        if (row) rows.push(row);
      } catch (error) {
        // One record that cannot be built does not take its batch with it.
        this.options.onError?.(error);
      }
    }
    if (rows.length === 0) {
      this.pending = [];
      return;
    }
    let written: AuditRow[] | undefined;
    try {
      written = this.options.repository.append(rows);
    } catch (error) {
      // The records of this batch are lost; the requests they describe were answered all the same.
      this.pending = [];
      this.writeFailed(error, rows.length);
      return;
    }
    if (written === undefined) {
      // A group of writes is open on the connection: write after it commits (this turn's end).
      if (!this.closed) this.retry = setImmediate(() => this.flush());
      return;
    }
    this.pending = [];
    rows = [];
    if (this.failing) {
      const { dropped } = this.failing;
      this.failing = undefined;
      this.options.onWriteRecovered?.(dropped);
    }
    this.stored += written.length;
    this.trim(false);
    try {
      this.options.sink?.(written);
    } catch (error) {
      this.options.onError?.(error);
    }
    for (const subscriber of this.subscribers) {
      const chosen = written.filter((row) => matches(subscriber.filter, row));
      if (chosen.length === 0) continue;
      try {
        subscriber.deliver(chosen);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }

  query(filter: AuditFilter, page: AuditPageRequest): AuditRow[] {
    this.flush();
    return this.options.repository.query(filter, page);
  }

  /** New records that pass `filter`, as they are written; returns the unsubscribe function. */
  subscribe(subscription: AuditSubscription): () => void {
    this.subscribers.add(subscription);
    return () => this.subscribers.delete(subscription);
  }

  /** Removes every record, those pending included; answers how many. */
  clear(): number {
    this.flush();
    this.pending = [];
    const removed = this.options.repository.clear();
    this.stored = 0;
    return removed;
  }

  /** How many records are kept (for the dashboard and tests). */
  size(): number {
    this.flush();
    return this.stored;
  }

  close(): void {
    this.flush();
    this.closed = true;
    if (this.retry) clearImmediate(this.retry);
    this.retry = undefined;
    this.subscribers.clear();
  }

  /**
   * Records could not be written (a batch of `dropped`, or none for a trim): told once when this starts,
   * and again only for another cause. The cause is asked for once per error code: naming an I/O error
   * may take a probe write, which a failing disk must not get at every batch.
   */
  private writeFailed(error: unknown, dropped: number): void {
    const raw = (error as { code?: unknown } | null | undefined)?.code;
    const code = typeof raw === 'string' ? raw : undefined;
    const previous = this.failing;
    if (previous !== undefined && previous.code === code) {
      previous.dropped += dropped;
      return;
    }
    const cause = this.options.causeOf?.(error);
    this.failing = { code, cause, dropped: (previous?.dropped ?? 0) + dropped };
    if (previous === undefined || previous.cause !== cause || cause === undefined) this.options.onWriteFailure?.(error, cause);
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Keeps at most maxRecords (trimmed once a tenth more, or MAX_TRIM_SLACK more, have accumulated: a trim
   * neither runs at every batch nor removes so many at once that it holds the event loop) and nothing
   * older than maxAgeMs (checked once a minute).
   */
  private trim(force: boolean): void {
    const { maxRecords, maxAgeMs } = this.options.retention;
    try {
      if (force || this.stored > maxRecords + Math.min(MAX_TRIM_SLACK, Math.max(1, Math.floor(maxRecords / 10)))) {
        if (this.stored > maxRecords) this.stored -= this.options.repository.trimToCount(maxRecords);
      }
      const now = this.now();
      if (force || now - this.lastAgeCheck >= AGE_CHECK_MS) {
        this.lastAgeCheck = now;
        this.stored -= this.options.repository.trimOlderThan(now - maxAgeMs);
      }
    } catch (error) {
      this.writeFailed(error, 0);
    }
  }

  /** Applies the retention now (tests, and after the clock of a test moved). */
  enforceRetention(): void {
    this.flush();
    this.stored = this.options.repository.count();
    this.trim(true);
  }
}
