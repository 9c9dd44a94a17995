// Guards the durability of what the emulator acknowledges. The store asks it before it takes a write
// (store/commit-group.ts) and before it acknowledges a commit:
//   - the data directory removed or replaced while the emulator runs: SQLite keeps writing to the files
//     it opened, which no path names any more, so every later write would be answered 200 and lost at
//     the next start. The guard compares the open database's files (device and inode) with the files
//     at their paths (a stat each) after a group of writes is committed and before it is synced and
//     acknowledged, and the database file before a group starts (SQLite keeps both files open, so no new
//     file can be given their inode numbers while the emulator runs); once
//     they differ, writes are refused for good (503): nothing written now would survive a restart.
//   - a storage failure (disk full, read-only file system, permission, I/O error): the failed write is
//     answered 503 naming the cause; the next write tries again, and once one made after the failure is
//     stored (committed and synced) the storage is healthy again. A write stored before the failure, a
//     sync that carried no data, or an audit record written says nothing of it (store/commit-group.ts).
// Reads never ask: they keep answering from the open database. The health endpoint and a periodic check
// look at the files too, so that a lost directory is noticed without a write.
import { statSync } from 'node:fs';
import { errors, type KvError } from '../errors.js';
import { CAUSE_TEXT, causeOf, codeOf, probeWrite, type StorageCause } from './causes.js';

interface FileIdentity {
  path: string;
  dev: number;
  ino: number;
}

const PROBE_INTERVAL_MS = 1_000;

export type StorageState = { healthy: true } | { healthy: false; cause: StorageCause; code?: string };

export interface StorageGuardOptions {
  dataDir: string;
  /** The files the open database lives in (the database and its write-ahead log), as opened. */
  files: readonly string[];
  /** Each change of state, with the one before (the log says what happened, once). */
  onChange?: (state: StorageState, previous: StorageState) => void;
}

export class StorageGuard {
  private readonly identities: FileIdentity[];
  private state: StorageState = { healthy: true };
  private lastProbe = 0;
  /** Storage failures named so far: a write stored counts only if it was committed after the last one. */
  private failureCount = 0;

  constructor(private readonly options: StorageGuardOptions) {
    this.identities = options.files.flatMap((path) => {
      const found = statSync(path, { throwIfNoEntry: false });
      return found ? [{ path, dev: found.dev, ino: found.ino }] : [];
    });
  }

  get current(): StorageState {
    return this.state;
  }

  /**
   * Looks at the files (health, periodic check): lost if they moved; after a storage failure, healthy
   * again once a probe write in the data directory is taken. The state after looking.
   */
  check(): StorageState {
    if (this.isLost()) return this.state;
    if (this.filesMoved()) this.enter({ healthy: false, cause: 'lost' });
    else if (!this.state.healthy && this.probeDue() && probeWrite(this.options.dataDir) === undefined) this.enter({ healthy: true });
    return this.state;
  }

  /** Probe writes (a file created, written, synced, removed) at most once a second, however often health is asked. */
  private probeDue(): boolean {
    const now = Date.now();
    if (now - this.lastProbe < PROBE_INTERVAL_MS) return false;
    this.lastProbe = now;
    return true;
  }

  /**
   * Before a group of writes starts: refused while the storage is lost (other failures: the write tries).
   * Only the database file is looked at here (a removed directory takes it along); every file is looked
   * at before the group is acknowledged.
   */
  beforeWrite(): void {
    if (!this.isLost() && this.filesMoved(1)) this.enter({ healthy: false, cause: 'lost' });
    if (this.isLost()) throw errors.storageUnavailable('lost');
  }

  /** After a commit, before its sync: the error to answer instead, if it would not last where it must. */
  beforeAcknowledge(): KvError | undefined {
    if (this.isLost()) return errors.storageUnavailable('lost');
    if (this.filesMoved()) {
      this.enter({ healthy: false, cause: 'lost' });
      return errors.storageUnavailable('lost');
    }
    return undefined;
  }

  failing(): boolean {
    return !this.state.healthy;
  }

  failures(): number {
    return this.failureCount;
  }

  /** A write committed when `failures()` answered `seen` was stored: storage that failed before it works again. */
  acknowledged(seen: number): void {
    if (!this.state.healthy && seen === this.failureCount) this.enter({ healthy: true });
  }

  /** A storage operation failed: what a client is answered (a 503 naming the cause), or `error` itself if it is not a storage failure. */
  failed(error: unknown): unknown {
    if (codeOf(error) === 'ServiceUnavailable') return error;
    const code = codeOf(error);
    // The same failure again (a burst of writes on a broken disk): the cause is known, nothing is probed.
    const known = !this.state.healthy && code !== undefined && this.state.code === code ? this.state.cause : undefined;
    const cause = known ?? causeOf(error, { dataDir: this.options.dataDir, lost: () => this.filesMoved() });
    if (cause === undefined) return error;
    this.failureCount += 1;
    // Once lost, that is what every storage failure is answered with: it is what the user must fix.
    if (this.isLost()) return errors.storageUnavailable('lost');
    this.enter({ healthy: false, cause, ...(code !== undefined && { code }) });
    return errors.storageUnavailable(cause);
  }

  /**
   * The storage cause behind an error of a write that is not the data's (an audit record), or undefined
   * if it is not a storage failure. Changes nothing: such writes neither make the storage unhealthy nor
   * healthy again. The cause the guard already knows for the same code is reused (no probe write).
   */
  nameCause(error: unknown): StorageCause | undefined {
    const code = codeOf(error);
    if (!this.state.healthy && code !== undefined && this.state.code === code) return this.state.cause;
    const cause = causeOf(error, { dataDir: this.options.dataDir, lost: () => this.filesMoved() });
    return cause !== undefined && this.isLost() ? 'lost' : cause;
  }

  /** The health endpoint's answer: undefined when writes are taken. */
  problem(): KvError | undefined {
    const state = this.check();
    return state.healthy ? undefined : errors.storageUnavailable(state.cause, 'health');
  }

  private isLost(): boolean {
    return !this.state.healthy && this.state.cause === 'lost';
  }

  /** Whether a file the database was opened from (the first `count`) is gone from its path, or another file is there now. */
  private filesMoved(count = this.identities.length): boolean {
    for (const identity of this.identities.slice(0, count)) {
      let found;
      try {
        found = statSync(identity.path, { throwIfNoEntry: false });
      } catch {
        continue; // the path cannot be looked at now (EIO, EACCES): that says nothing of the file itself
      }
      if (!found || found.ino !== identity.ino || found.dev !== identity.dev) return true;
    }
    return false;
  }

  /** Lost is for good: nothing brings back the files the database was opened from. */
  private enter(next: StorageState): void {
    const previous = this.state;
    if (this.isLost()) return;
    if (previous.healthy === next.healthy && (previous.healthy || (!next.healthy && previous.cause === next.cause))) return;
    this.state = next;
    this.options.onChange?.(next, previous);
  }
}

/** The one log line a change of state gets, for the operator (paths included). */
export function describeChange(state: StorageState, previous: StorageState, dataDir: string): { level: 'error' | 'info'; message: string } {
  if (state.healthy) {
    const was = previous.healthy ? '' : ` (after: ${CAUSE_TEXT[previous.cause]})`;
    return { level: 'info', message: `storage: writes to ${dataDir} are stored again${was}` };
  }
  if (state.cause === 'lost') {
    return {
      level: 'error',
      message:
        `storage: the data directory ${dataDir} was removed or replaced while the emulator was running (its database is not at its path any more): ` +
        'every write is refused with 503 from now on, since nothing written now would survive a restart; reads answer from the database opened at start. ' +
        'Restore the directory and restart the emulator (a start on an empty directory begins with no data and a new CA).',
    };
  }
  return {
    level: 'error',
    message:
      `storage: writes fail because ${CAUSE_TEXT[state.cause]} (${state.code ?? 'no code'}, ${dataDir}): ` +
      'they are answered 503 until one is stored again; reads still work.',
  };
}
