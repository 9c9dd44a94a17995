// Why the emulator's storage cannot take a write: the causes a client and an operator are told about,
// recognized from Node's errno codes and SQLite's result codes. SQLite reports most failures of the
// file system as a generic I/O error (SQLITE_IOERR_*), so such an error is diagnosed by looking at the
// data directory: gone or replaced, on a read-only file system, or on a full one.
import { accessSync, closeSync, constants, existsSync, fsyncSync, openSync, rmSync, statfsSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type StorageCause =
  /** The data directory, or its database, was removed or replaced while the emulator ran. */
  | 'lost'
  | 'full'
  | 'readOnly'
  | 'permission'
  | 'io';

/** What a cause means, for a client (no paths) and for the operator's log. */
export const CAUSE_TEXT: Record<StorageCause, string> = {
  lost: 'the data directory was removed or replaced while the emulator was running',
  full: 'the disk holding the data directory is full',
  readOnly: 'the data directory is on a read-only file system',
  permission: 'the emulator is not permitted to write to its data directory',
  io: 'the disk holding the data directory reported an I/O error',
};

const BY_CODE: Record<string, StorageCause | 'diagnose'> = {
  ENOSPC: 'full',
  EDQUOT: 'full',
  SQLITE_FULL: 'full',
  EROFS: 'readOnly',
  EACCES: 'permission',
  EPERM: 'permission',
  SQLITE_PERM: 'permission',
  SQLITE_READONLY_DBMOVED: 'lost',
  ENOENT: 'diagnose',
  EIO: 'diagnose',
};

/** The error's code, Node's (ENOSPC) or SQLite's extended one (SQLITE_IOERR_WRITE). */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether the error comes from storage at all (undefined: an ordinary error, not a storage fault). */
function kindOf(code: string | undefined): StorageCause | 'diagnose' | undefined {
  if (code === undefined) return undefined;
  const known = BY_CODE[code];
  if (known) return known;
  if (code.startsWith('SQLITE_READONLY')) return 'readOnly';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) return 'diagnose';
  return undefined;
}

export interface DiagnosisProbe {
  /** The data directory whose file system is looked at. */
  dataDir: string;
  /** Whether the database files the emulator opened are still the ones at their paths. */
  lost?: () => boolean;
}

/**
 * The storage cause behind `error`, or undefined if it is not a storage failure. A generic I/O error is
 * diagnosed from the data directory: lost, read-only (access(2) answers EROFS), full (no block left for
 * this user), otherwise an I/O error.
 */
export function causeOf(error: unknown, probe: DiagnosisProbe): StorageCause | undefined {
  const kind = kindOf(codeOf(error));
  if (kind !== 'diagnose') return kind;
  return diagnose(probe);
}

export function diagnose(probe: DiagnosisProbe): StorageCause {
  if (probe.lost?.()) return 'lost';
  return probeWrite(probe.dataDir) ?? 'io';
}

/**
 * What the file system does to a write in `dataDir` now: undefined if a byte written to a new file (and
 * synced) is taken; otherwise the cause. A file system that went read-only after an error can still pass
 * access(2), so a real write is what tells. The file is removed at once.
 */
export function probeWrite(dataDir: string): StorageCause | undefined {
  const file = join(dataDir, `.kv-emulator-probe-${process.pid}`);
  try {
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, 'x');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
      rmSync(file, { force: true });
    }
  } catch (error) {
    const code = codeOf(error);
    if (code === 'ENOENT') return 'lost';
    const cause = kindOf(code);
    return cause === undefined || cause === 'diagnose' ? 'io' : cause;
  }
  try {
    if (statfsSync(dataDir).bavail === 0) return 'full';
  } catch {
    // no answer about space: the write was taken, which is what matters
  }
  return undefined;
}

/** Why a directory cannot be made in the nearest existing ancestor of `path` (at start, nothing is written). */
function causeAbove(path: string): StorageCause {
  let parent = dirname(path);
  while (!existsSync(parent) && dirname(parent) !== parent) parent = dirname(parent);
  try {
    accessSync(parent, constants.W_OK);
  } catch (error) {
    const cause = kindOf(codeOf(error));
    if (cause !== undefined && cause !== 'diagnose') return cause;
  }
  try {
    // A file system without blocks (/proc, /sys) is not full: nothing can be made there at all.
    const space = statfsSync(parent);
    if (space.bavail === 0 && space.blocks > 0) return 'full';
  } catch {
    // nothing more is known
  }
  return 'lost';
}

/**
 * One line for a start that failed on its data directory (the CLI prints it instead of a stack), or
 * undefined if the error is not a storage failure.
 */
export function startFailure(error: unknown, dataDir: string): string | undefined {
  // A file where the directory (or one above it) should be (data-dir.ts makeDirectory).
  if (codeOf(error) === 'ENOTDIR' || codeOf(error) === 'EEXIST') {
    const file = (error as { path?: unknown }).path;
    const part = typeof file === 'string' && file !== dataDir ? ` (${file} is a file)` : '';
    return `cannot start: the data directory ${dataDir} cannot be made: ${part ? `a part of its path is not a directory${part}` : 'it is a file, not a directory'}. Give a directory with --data-dir (it is made if missing), or start with --in-memory.`;
  }
  // Node's recursive mkdir reports ENOENT for a parent it could not create (on a read-only file system
  // too): the directory that does exist says why.
  const above = codeOf(error) === 'ENOENT' && !existsSync(dataDir);
  const cause = above ? causeAbove(dataDir) : causeOf(error, { dataDir });
  if (cause === undefined) return undefined;
  const code = above ? undefined : codeOf(error);
  const what: Record<StorageCause, string> = {
    lost: `the data directory ${dataDir} (or a file in it) is missing or cannot be created`,
    full: `the disk holding the data directory ${dataDir} is full`,
    readOnly: `the data directory ${dataDir} is on a read-only file system`,
    permission: `this user may not write to the data directory ${dataDir}`,
    io: `the data directory ${dataDir} could not be read or written (I/O error)`,
  };
  const advice: Record<StorageCause, string> = {
    lost: 'Check the path, or give another --data-dir.',
    full: 'Free some space, or give another --data-dir (--in-memory keeps nothing on disk).',
    readOnly: 'Give a writable --data-dir, or start with --in-memory (which keeps nothing on disk).',
    permission: 'Fix its ownership or permissions, or give another --data-dir.',
    io: 'Check the disk, or give another --data-dir.',
  };
  return `cannot start: ${what[cause]}${code ? ` (${code})` : ''}. ${advice[cause]}`;
}
