// Group commit. Writes that arrive together share one SQLite transaction, and so one commit and one sync
// of the journal, instead of paying for a commit each:
//   - `run(work)` runs one atomic unit of work in a savepoint of the open group transaction, opening one
//     (BEGIN IMMEDIATE) if none is open, and schedules the group's COMMIT for the end of the current turn
//     of the event loop (setImmediate), after every request that arrived in this turn has done its work;
//   - `settled()` is what an answer waits for: a promise that resolves once everything written so far is
//     committed (on disk, with synchronous=FULL), or rejects if the commit failed and the group was rolled
//     back; undefined when nothing is waiting to be committed, so an answer that follows no write waits
//     for nothing.
// With a `sync` (store/database.ts walSync), the commit itself does not wait for the disk
// (synchronous=NORMAL) and the journal is synced off the event loop afterwards, once for every commit made
// before the sync started; answers wait for that sync. The guarantee is synchronous=FULL's, without
// blocking the event loop on the disk.
// A unit of work that throws is rolled back to its savepoint: the group keeps the others' writes. Anything
// else written on the connection while a group is open (an autocommit statement) joins the group; what is
// written and committed outside a group (the directory, role assignments) is synced before the next
// answer too: SQLite's count of changed rows tells that something was.
// Reads on the connection see the group's writes at once; answers are held until the commit, so no client
// is told about a write that a crash could still take away.
// With a guard (durability/guard.ts), a group does not start while the storage cannot keep it, a failed
// commit or sync reaches its waiters as the guard names it (a storage fault), and a commit is
// acknowledged only if the guard finds it durable where it must be. If SQLite rolls back the whole
// transaction on its own (a full disk can make it), the group's waiters fail at once: nothing of the
// group was kept, and a later group must not acknowledge it. The guard hears that storage works again
// only from a group that wrote something, committed after the last failure it saw and synced: not from
// a group whose units all failed (an empty commit), nor from a sync that carried only earlier commits or
// detached ones (audit records).
// Detached writes (runDetached: audit records) never change what the data's answers wait for or see:
// they are never synced on their own account, what they changed, committed or rolled back, is never
// taken for a data commit still to be synced, and their failures are their caller's, not the guard's.
import type { SqliteDatabase } from './database.js';

type Waiter = { resolve: () => void; reject: (error: unknown) => void };

/** Makes every commit made so far durable; calls back once it is (or with why not). */
export type Sync = (done: (error?: Error | null) => void) => void;

/** What the store asks about its storage before taking and acknowledging writes (durability/guard.ts). */
export interface CommitGuard {
  /** Throws to refuse a write before anything of it is written. */
  beforeWrite(): void;
  /** After a commit, before its sync: an error to fail its waiters with instead of acknowledging them. */
  beforeAcknowledge(): Error | undefined;
  /** Whether storage failed and no write has been stored since: only then do groups note whether they write. */
  failing(): boolean;
  /** How many storage failures the guard has named so far (taken when a group that wrote something commits). */
  failures(): number;
  /**
   * A group committed when `failures()` answered `seen` is stored (synced): storage that failed before
   * it works again. A failure named since then (a later write failed while it was synced) still stands.
   */
  acknowledged(seen: number): void;
  /** A write, commit or sync failed: the error its waiters and callers get instead. */
  failed(error: unknown): unknown;
}

export class CommitGroup {
  private open = false;
  private waiters: Waiter[] = [];
  private pending: Promise<void> | undefined;
  /** Committed, waiting for a sync that starts after their commit. */
  private unsynced: Waiter[] = [];
  private committedSinceSync = false;
  /** SQLite's total_changes() when the last sync started: every change counted up to it is covered. */
  private changesCovered = 0;
  private syncing = false;
  /** Whether a unit of the open group changed a row (and was kept). */
  private groupWrote = false;
  /** The guard's failure count when the last group that wrote something committed, until a sync carries it. */
  private storedAt: number | undefined;
  private readonly failureListeners: Array<(error: unknown) => void> = [];
  private readonly commitListeners: Array<() => void> = [];
  private readonly stmt;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly sync?: Sync,
    private readonly options: { guard?: CommitGuard } = {},
  ) {
    this.stmt = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT kv_unit'),
      release: db.prepare('RELEASE kv_unit'),
      rollbackTo: db.prepare('ROLLBACK TO kv_unit'),
      totalChanges: db.prepare('SELECT total_changes()').pluck(),
    };
    if (sync) this.changesCovered = this.changes();
  }

  private changes(): number {
    return this.stmt.totalChanges.get() as number;
  }

  /** Runs `work` atomically within the current group (see above). */
  run<T>(work: () => T): T {
    if (!this.db.inTransaction) {
      // A group still open without a transaction was rolled back by SQLite: nothing of it was kept.
      if (this.open) this.abandon(new Error('The group transaction was rolled back.'));
      this.options.guard?.beforeWrite();
      try {
        this.stmt.begin.run();
      } catch (error) {
        throw this.translate(error);
      }
      // Commits made outside a group since the last sync are still to be synced, whatever becomes of this group.
      if (this.sync && this.changes() !== this.changesCovered) this.committedSinceSync = true;
      this.open = true;
      this.groupWrote = false;
      setImmediate(() => this.flush());
      return this.runFirst(work);
    }
    let result: T;
    // Whether this unit changes a row: only a group that wrote something tells the guard storage works
    // again (asked only while it has failed: a healthy guard has nothing to be told).
    const before = !this.groupWrote && this.options.guard?.failing() ? this.changes() : undefined;
    try {
      this.stmt.savepoint.run();
      result = work();
      this.stmt.release.run();
      if (before !== undefined && this.changes() !== before) this.groupWrote = true;
    } catch (error) {
      const failure = this.translate(error);
      if (this.db.inTransaction) {
        try {
          this.stmt.rollbackTo.run();
          this.stmt.release.run();
        } catch (rollbackError) {
          this.abandonTransaction(rollbackError);
        }
      } else if (this.open) {
        this.abandon(failure);
      }
      throw failure;
    }
    return result;
  }

  /**
   * The first unit of a group is alone in its transaction: it needs no savepoint of its own (two
   * statements fewer, a tenth of what storing a version costs), and if it fails the transaction is rolled
   * back whole and the group closed, which leaves what a savepoint would have left: nothing.
   */
  private runFirst<T>(work: () => T): T {
    const before = this.options.guard?.failing() ? this.changes() : undefined;
    try {
      const result = work();
      if (before !== undefined && this.changes() !== before) this.groupWrote = true;
      return result;
    } catch (error) {
      const failure = this.translate(error);
      try {
        if (this.db.inTransaction) this.stmt.rollback.run();
      } catch {
        // the connection has rolled back on its own
      }
      // No answer waits on this group yet (answers ask after their work); the scheduled commit finds it closed.
      this.open = false;
      this.forgetRolledBack();
      throw failure;
    }
  }

  /** The error callers and waiters get for `error` (the guard's name for a storage failure). */
  private translate(error: unknown): unknown {
    return this.options.guard ? this.options.guard.failed(error) : error;
  }

  /** The open group cannot be committed: roll back what is left of it, and fail its waiters. */
  private abandonTransaction(error: unknown): void {
    try {
      if (this.db.inTransaction) this.stmt.rollback.run();
    } catch {
      // the connection has rolled back on its own
    }
    this.abandon(this.translate(error));
  }

  /** The open group's transaction is gone: its waiters fail (nothing of it was kept), and listeners hear why. */
  private abandon(failure: unknown): void {
    this.open = false;
    this.forgetRolledBack();
    const waiters = this.waiters;
    this.waiters = [];
    this.pending = undefined;
    for (const listener of this.failureListeners) listener(failure);
    for (const waiter of waiters) waiter.reject(failure);
  }

  /**
   * Runs `work` in a transaction of its own, outside any group, for writes no answer waits for (audit
   * records): they are committed but never synced on their own account, and the next answer does not
   * wait for a sync because of them (the next group's sync carries them to disk). Answers undefined,
   * without running `work`, while a group is open: the caller tries again once it has committed.
   * A failure (a full disk, a read-only file system) is thrown to the caller as SQLite raised it, after
   * the transaction is rolled back; the guard never hears of it: audit records are not the data, and
   * whether they can be written neither sets nor clears what the data's writes are told.
   */
  runDetached<T>(work: () => T): T | undefined {
    if (this.db.inTransaction) return undefined;
    // Data committed outside a group before this is still to be synced before the next answer.
    if (this.sync && !this.committedSinceSync && this.changes() !== this.changesCovered) this.committedSinceSync = true;
    let result: T;
    try {
      this.stmt.begin.run();
      result = work();
      this.stmt.commit.run();
    } catch (error) {
      try {
        if (this.db.inTransaction) this.stmt.rollback.run();
      } catch {
        // the connection has rolled back on its own
      }
      throw error;
    } finally {
      // What this transaction changed, committed or rolled back (SQLite counts both), needs no sync of its
      // own: an answer that follows (a read) must neither wait for one nor fail with it, and a sync that
      // follows is not a data write stored.
      if (this.sync) this.changesCovered = this.changes();
    }
    for (const listener of this.commitListeners) listener();
    return result;
  }

  /** Resolves once everything written so far is committed (and synced); undefined when nothing is waiting. */
  settled(): Promise<void> | undefined {
    if (this.open) {
      this.pending ??= new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
      return this.pending;
    }
    // Changes committed outside a group need a sync as well.
    if (this.sync && !this.committedSinceSync && this.changes() !== this.changesCovered) this.committedSinceSync = true;
    if (!this.committedSinceSync && !this.syncing) return undefined;
    // Committed but maybe not on disk yet: wait for the next sync.
    const promise = new Promise<void>((resolve, reject) => this.unsynced.push({ resolve, reject }));
    this.startSync();
    return promise;
  }

  /** Called with the error when a group's commit fails and its writes are rolled back. */
  onFailure(listener: (error: unknown) => void): void {
    this.failureListeners.push(listener);
  }

  /** Called after each group's commit (store/checkpointer.ts counts them). */
  onCommit(listener: () => void): void {
    this.commitListeners.push(listener);
  }

  /** Commits the open group now (the scheduled commit, or before the database is closed). */
  flush(): void {
    if (!this.open) return;
    this.open = false;
    const waiters = this.waiters;
    this.waiters = [];
    this.pending = undefined;
    let failure: unknown;
    try {
      this.stmt.commit.run();
    } catch (error) {
      failure = this.translate(error);
      try {
        if (this.db.inTransaction) this.stmt.rollback.run();
      } catch {
        // the connection has rolled back on its own
      }
    }
    if (failure !== undefined) {
      this.forgetRolledBack();
      for (const listener of this.failureListeners) listener(failure);
      for (const waiter of waiters) waiter.reject(failure);
      return;
    }
    for (const listener of this.commitListeners) listener();
    // A group that wrote something, committed now: once it is stored, storage that failed before works again.
    if (this.groupWrote && this.options.guard) this.storedAt = this.options.guard.failures();
    this.groupWrote = false;
    if (!this.sync) {
      const refused = this.options.guard?.beforeAcknowledge();
      const storedAt = this.storedAt;
      this.storedAt = undefined;
      if (!refused && storedAt !== undefined) this.options.guard?.acknowledged(storedAt);
      for (const waiter of waiters) {
        if (refused) waiter.reject(refused);
        else waiter.resolve();
      }
      return;
    }
    this.committedSinceSync = true;
    this.unsynced.push(...waiters);
    this.startSync();
  }

  /**
   * SQLite counts the changes of a rolled-back group too: they need no sync, and an answer that follows
   * them (a read) must not wait for one, nor fail with it. Commits made before the group are already
   * marked (run), so nothing that needs a sync is forgotten.
   */
  private forgetRolledBack(): void {
    if (this.sync) this.changesCovered = this.changes();
  }

  /** Starts a sync for the commits made so far, unless one is under way (its end starts the next). */
  private startSync(): void {
    if (this.syncing || !this.sync) return;
    if (!this.committedSinceSync) {
      const waiters = this.unsynced;
      this.unsynced = [];
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    const waiters = this.unsynced;
    this.unsynced = [];
    this.committedSinceSync = false;
    this.changesCovered = this.changes();
    // The last group that wrote something before this sync, if any: what its success proves.
    const storedAt = this.storedAt;
    this.storedAt = undefined;
    // Committed where the guard says nothing lasts (the data directory is gone): no sync, nobody is told.
    // Looked at before the sync rather than after it: a file looked at just after its sync costs the
    // event loop several times more, and a write that meets the directory's removal during its sync was
    // as good as acknowledged before it.
    const refused = this.options.guard?.beforeAcknowledge();
    if (refused) {
      for (const listener of this.failureListeners) listener(refused);
      for (const waiter of waiters) waiter.reject(refused);
      return;
    }
    this.syncing = true;
    this.sync((error) => {
      this.syncing = false;
      // Committed, but not known to be on disk: nobody is told it is.
      const failure = error ? this.translate(error) : undefined;
      if (failure) {
        for (const listener of this.failureListeners) listener(failure);
        for (const waiter of waiters) waiter.reject(failure);
      } else {
        if (storedAt !== undefined) this.options.guard?.acknowledged(storedAt);
        for (const waiter of waiters) waiter.resolve();
      }
      if (this.unsynced.length > 0 || this.committedSinceSync) this.startSync();
    });
  }
}
