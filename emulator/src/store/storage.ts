// The emulator's durable store, wired in one place (app.ts; bench/storage-server.mjs measures the same):
// one SQLite connection without automatic checkpoints, group commits, the log synced off the event loop
// before answers with durability "full" (store/commit-group.ts, store/database.ts walSync), and the log
// checkpointed in the background (store/checkpointer.ts).
import { WalCheckpointer, type CheckpointerOptions } from './checkpointer.js';
import { CommitGroup, type CommitGuard } from './commit-group.js';
import { openDatabase, walSync, type SqliteDatabase } from './database.js';

export interface StorageOptions {
  /** The database file; undefined for a private in-memory database (no log, no sync, no checkpoints). */
  file?: string;
  /** "full": every answer waits until its writes are on disk; "normal": they survive a process crash. */
  durability: 'full' | 'normal';
  /** Diagnostics of the background checkpoints. */
  checkpoints?: Pick<CheckpointerOptions, 'onCheckpoint' | 'onMainCheckpoint' | 'onUnavailable'>;
  /** Makes the guard of the commits from the files the database was opened in (durability/guard.ts). */
  guard?: (files: readonly string[]) => CommitGuard;
}

export interface Storage {
  db: SqliteDatabase;
  commits: CommitGroup;
  /** Commits what is open, stops the checkpoints and closes the database (the log is removed). */
  close(): Promise<void>;
}

export function openStorage(options: StorageOptions): Storage {
  const { file } = options;
  const wal = file !== undefined && options.durability === 'full' ? walSync(file) : undefined;
  const db = openDatabase({ ...(file !== undefined && { file }), synchronous: 'NORMAL', autoCheckpoint: false });
  const guard = file !== undefined && options.guard ? options.guard([file, `${file}-wal`]) : undefined;
  const commits = new CommitGroup(db, wal?.sync, guard ? { guard } : {});
  const checkpointer = file === undefined ? undefined : new WalCheckpointer({ db, file, ...options.checkpoints });
  if (checkpointer) commits.onCommit(() => checkpointer.committed());
  return {
    db,
    commits,
    async close() {
      commits.flush();
      await checkpointer?.close();
      db.close();
      wal?.close();
    },
  };
}
