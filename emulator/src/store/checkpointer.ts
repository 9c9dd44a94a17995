// Checkpoints of the write-ahead log, mostly on a worker thread. SQLite's automatic checkpoint runs inside
// the commit that crosses its threshold (1,000 pages), on the connection that commits: every few hundred
// writes, one commit copied the log into the database file and synced both, blocking the event loop for
// milliseconds (measured: about 1 commit in 170 took over 1 ms, up to 8 ms, and checkpoints were half of
// all the time spent committing). Here the emulator's connection does not checkpoint on its own
// (wal_autocheckpoint=0). Every `everyCommits` commits, and once writes go quiet:
//   1. a second connection, on a worker thread, runs a PASSIVE checkpoint: it takes no lock a reader or a
//      writer waits for, and copies the bulk of the log;
//   2. once it has copied all it saw, the emulator's connection, between two commits, copies the few
//      frames committed meanwhile (PASSIVE too). The log is then fully copied at the start of the next
//      write, and only then does SQLite reuse it from the beginning: under a steady stream of writes a
//      checkpoint on the worker alone never catches up, and the log would grow without end.
// SQLite syncs the database file before it reuses the log, so durability is unchanged.
// Once writes go quiet, the emulator's connection checkpoints the little that is left and the worker is
// stopped: the worker starts with a stream of writes, not with the emulator, so starts stay as fast as
// they were and an emulator that is only read keeps no extra thread or memory.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.js';

/** The worker: one connection, one PASSIVE checkpoint per message, its result posted back. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message) });
  }
});
`;

export interface CheckpointResult {
  /** Frames in the log when the checkpoint ran. */
  log: number;
  /** Frames copied into the database file (all of them: the log can be reused). */
  checkpointed: number;
}

export interface CheckpointerOptions {
  /** The emulator's connection (opened with autoCheckpoint: false). */
  db: SqliteDatabase;
  /** Its database file (in WAL mode). */
  file: string;
  /** Checkpoint after this many commits (SQLite's own threshold is 1,000 pages; a commit writes 3 to 5 and more). */
  everyCommits?: number;
  /** ...and this long after the last commit, so a quiet emulator leaves no log behind. */
  idleMs?: number;
  /** The worker could not run checkpoints; SQLite's automatic ones are back on (diagnostics). */
  onUnavailable?: (error: unknown) => void;
  /** Each checkpoint's outcome on the worker (tests, diagnostics). */
  onCheckpoint?: (result: CheckpointResult) => void;
  /** Each checkpoint on the emulator's connection: a catch-up, or once writes went quiet (tests, diagnostics). */
  onMainCheckpoint?: (result: CheckpointResult) => void;
}

export class WalCheckpointer {
  private worker: Worker | undefined;
  /** Workers closing (retired when writes went quiet, or at close), until they have exited. */
  private readonly exiting = new Set<Promise<void>>();
  private commits = 0;
  private running = false;
  private idle: NodeJS.Timeout | undefined;
  private unavailable = false;
  /** The worker copied all it saw: the emulator's connection copies the rest between two commits. */
  private catchUpDue = false;
  private closed = false;
  private readonly everyCommits: number;
  private readonly idleMs: number;

  constructor(private readonly options: CheckpointerOptions) {
    this.everyCommits = options.everyCommits ?? 100;
    this.idleMs = options.idleMs ?? 1000;
  }

  /** Whether a worker thread is up (it starts with a stream of writes and stops when they go quiet). */
  get workerActive(): boolean {
    return this.worker !== undefined;
  }

  /** Counts a commit; starts a checkpoint when enough have piled up, or schedules one for when writes stop. */
  committed(): void {
    if (this.unavailable || this.closed) return;
    if (this.catchUpDue) this.checkpointHere();
    this.commits++;
    if (this.commits >= this.everyCommits) this.checkpoint();
    if (this.idle) this.idle.refresh();
    else {
      this.idle = setTimeout(() => this.quiet(), this.idleMs);
      this.idle.unref();
    }
  }

  /** Stops the worker; the emulator's connection, closing last, checkpoints what is left and removes the log. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idle) clearTimeout(this.idle);
    this.retire();
    await Promise.all([...this.exiting]);
  }

  /**
   * Writes went quiet: what is left of the log is small, so the emulator's connection checkpoints it
   * itself (the worker would cost more to start than this), and the worker, if one is up, is stopped: an
   * emulator that is only read keeps no thread for checkpoints, nor its memory.
   */
  private quiet(): void {
    this.idle = undefined;
    if (this.running) {
      // The worker's checkpoint ends first; look again later.
      this.idle = setTimeout(() => this.quiet(), this.idleMs);
      this.idle.unref();
      return;
    }
    if (this.commits > 0 || this.catchUpDue) {
      if (this.options.db.inTransaction) {
        // A group is open: it commits within this turn, and so schedules this again.
        return;
      }
      this.commits = 0;
      this.checkpointHere();
    }
    this.retire();
  }

  private checkpoint(): void {
    if (this.running || this.unavailable || this.closed) return;
    const worker = this.workerOf();
    if (!worker) return;
    this.commits = 0;
    this.running = true;
    worker.postMessage('checkpoint');
  }

  /** A PASSIVE checkpoint on the emulator's connection, between two commits. */
  private checkpointHere(): void {
    this.catchUpDue = false;
    try {
      const [result] = this.options.db.pragma('wal_checkpoint(PASSIVE)') as Array<CheckpointResult & { busy: number }>;
      if (result) this.options.onMainCheckpoint?.({ log: result.log, checkpointed: result.checkpointed });
    } catch {
      // Busy or closing: the next checkpoint catches up instead.
    }
  }

  /** Stops the current worker (it closes its connection first); a later stream of writes starts another. */
  private retire(): void {
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    this.running = false;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.exiting.add(exited);
    void exited.then(() => this.exiting.delete(exited));
    // Kept alive until it has closed its connection, even if nothing else is left to do.
    worker.ref();
    worker.postMessage('close');
  }

  private workerOf(): Worker | undefined {
    if (this.worker) return this.worker;
    let worker: Worker;
    try {
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // A script (CommonJS), whatever flags the emulator's process was started with (--input-type=module...).
        execArgv: [],
        workerData: { driver, file: this.options.file },
      });
    } catch (error) {
      this.giveUp(error);
      return undefined;
    }
    worker.unref();
    worker.on('message', (result: CheckpointResult | { error: string }) => {
      if (worker !== this.worker) return;
      this.running = false;
      if ('error' in result) {
        // A checkpoint that could not run now (the log is busy) runs with the next one; the log keeps everything.
        return;
      }
      this.options.onCheckpoint?.(result);
      if (result.log > 0 && result.checkpointed === result.log) {
        this.catchUpDue = true;
        if (!this.options.db.inTransaction) this.checkpointHere();
      }
      // A catch-up still due runs at the next commit, and the next checkpoint after it: the two would contend.
      if (!this.catchUpDue && this.commits >= this.everyCommits) this.checkpoint();
    });
    worker.on('error', (error) => {
      if (worker !== this.worker) return; // a retired worker's end matters to nobody
      this.worker = undefined;
      this.giveUp(error);
    });
    worker.on('exit', () => {
      // Ended without being retired: the next checkpoint starts another.
      if (worker !== this.worker) return;
      this.worker = undefined;
      this.running = false;
    });
    this.worker = worker;
    return worker;
  }

  /** Without a worker, the emulator's connection goes back to SQLite's automatic checkpoints. */
  private giveUp(error: unknown): void {
    this.running = false;
    this.unavailable = true;
    if (this.idle) clearTimeout(this.idle);
    try {
      this.options.db.pragma('wal_autocheckpoint = 1000');
    } catch {
      // closing: nothing is left to checkpoint
    }
    this.options.onUnavailable?.(error);
  }
}
