// Reads kept in memory until the next write. A secret read by name is what clients ask for again and
// again, unchanged in between (an app reads its connection string at every start, a config provider at
// every refresh); each read costs SQLite a join and the emulator a row turned into objects. The repository
// (store/secret-repository.ts) clears the cache on every write it makes and whenever a unit of work or a
// group commit is rolled back, so a cached read is always what SQLite would answer. Writes by another
// connection to the same file (a second emulator on the same data directory) are seen through SQLite's
// data_version, checked at the first read of each turn of the event loop (a statement, and two file
// locks, per look: what a read cost the most under load, beyond the answer itself); a commit another
// process makes while one turn runs is seen from the next, as if it had come that much later. A database
// in memory (--in-memory) has no other connection: nothing is looked at. Values are frozen: they are
// shared by every request that reads them.
// The cache also counts its clearings (`changes`): whatever else is kept of the store's answers (the
// serialized pages of lists, http/page-answers.ts) is valid while that count stays the same.
import type { SqliteDatabase } from './database.js';

export class ReadCache<V extends object> {
  private readonly entries = new Map<string, V>();
  /** PRAGMA data_version; undefined in memory, where no other connection can commit. */
  private readonly dataVersion: { get(): unknown } | undefined;
  private seenDataVersion: number | undefined;
  private generation = 0;
  /** Whether data_version was looked at in this turn of the event loop. */
  private lookedThisTurn = false;
  private readonly nextTurn = () => {
    this.lookedThisTurn = false;
  };

  constructor(
    db: SqliteDatabase,
    /** More entries than this and the cache starts over (it holds what is read often, not everything). */
    private readonly capacity: number,
  ) {
    this.dataVersion = db.memory ? undefined : db.prepare('PRAGMA data_version').pluck();
    this.seenDataVersion = this.dataVersion?.get() as number | undefined;
  }

  /** The cached value, if any. Call it before reading SQLite for a value to `set`. */
  get(key: string): V | undefined {
    return this.seeOtherCommits() ? this.entries.get(key) : undefined;
  }

  /** A number that changes whenever the cache is cleared: a write, a rollback, another connection's commit. */
  changes(): number {
    this.seeOtherCommits();
    return this.generation;
  }

  /** Keeps what SQLite answered after `get` missed (another connection's later commit clears it at the next get). */
  set(key: string, value: V): V {
    if (this.entries.size >= this.capacity) this.entries.clear();
    this.entries.set(key, deepFreeze(value));
    return value;
  }

  clear(): void {
    this.entries.clear();
    this.generation += 1;
  }

  /** True if no other connection has committed since the last look; otherwise clears the cache and answers false. */
  private seeOtherCommits(): boolean {
    if (this.lookedThisTurn || this.dataVersion === undefined) return true;
    this.lookedThisTurn = true;
    setImmediate(this.nextTurn);
    const dataVersion = this.dataVersion.get() as number;
    if (dataVersion === this.seenDataVersion) return true;
    this.seenDataVersion = dataVersion;
    this.clear();
    return false;
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) deepFreeze(child as object);
  }
  return Object.freeze(value);
}
