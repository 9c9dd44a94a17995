// Helpers of the storage fault tests: data directories holding ready-made keys (so each start is quick),
// small file systems mounted for a test (tmpfs, or ext4 on a loop device for a file system that turns
// read-only under the emulator), and the checks every storage failure answer must pass.
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadMaterial } from '../../src/data-dir.js';
import { envelopeProblem, type Answer, type ChildEmulator } from '../robustness/support.js';

let keys: Promise<string> | undefined;

/** A directory of generated keys and certificates (no database), made once per test file. */
function keysDir(): Promise<string> {
  return (keys ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-keys-'));
    // The token-signing key is written once it is generated, after loadMaterial resolves.
    await (await loadMaterial({ dataDir: dir, persist: true })).signingKey;
    return dir;
  })());
}

/** Makes `dir` a data directory holding the shared keys (and no database yet). */
export async function withKeys(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const source = await keysDir();
  for (const file of readdirSync(source)) copyFileSync(join(source, file), join(dir, file));
  return dir;
}

export function removeKeys(): void {
  if (keys) void keys.then((dir) => rmSync(dir, { recursive: true, force: true }));
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: 'pipe' });
}

/** Why this machine cannot mount a test file system (undefined: it can). Checked by mounting a tiny tmpfs. */
export function cannotMount(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'kv-mount-probe-'));
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]);
    run('umount', [dir]);
    return undefined;
  } catch (error) {
    return `mounting a tmpfs is not permitted here (${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim() || 'mount failed'})`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Why an ext4 file system on a loop device cannot be used here (undefined: it can). */
export function cannotLoopMountExt4(): string | undefined {
  const mounted = cannotMount();
  if (mounted) return mounted;
  for (const tool of ['mkfs.ext4', 'losetup']) {
    try {
      run('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed (Debian package e2fsprogs / mount)`;
    }
  }
  if (!existsSync('/dev/loop-control')) return 'this machine has no loop devices (/dev/loop-control)';
  try {
    mountExt4(2).unmount();
  } catch (error) {
    return `an ext4 image cannot be loop-mounted here (${String((error as { stderr?: Buffer }).stderr ?? (error as Error).message).trim()})`;
  }
  return undefined;
}

export interface Mounted {
  dir: string;
  /** The block device under an ext4 mount (loop0), for /sys/fs/ext4/<dev>. */
  device?: string;
  unmount(): void;
}

/** A tmpfs of `size` (e.g. "8m") mounted on a new directory. */
export function mountTmpfs(size: string): Mounted {
  const dir = mkdtempSync(join(tmpdir(), 'kv-tmpfs-'));
  run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return { dir, unmount: () => unmount(dir) };
}

/**
 * An ext4 file system of `sizeMb` on a loop device, mounted with errors=remount-ro: writing 1 to
 * /sys/fs/ext4/<dev>/trigger_fs_error makes it read-only under open files, as a failing disk does.
 */
export function mountExt4(sizeMb: number): Mounted {
  const dir = mkdtempSync(join(tmpdir(), 'kv-ext4-'));
  const image = `${dir}.img`;
  run('truncate', ['-s', `${sizeMb}M`, image]);
  run('mkfs.ext4', ['-q', '-F', image]);
  try {
    run('mount', ['-o', 'loop,errors=remount-ro', image, dir]);
  } catch (error) {
    rmSync(image, { force: true });
    throw error;
  }
  const device = execFileSync('findmnt', ['-n', '-o', 'SOURCE', dir], { encoding: 'utf8' }).trim().split('/').pop()!;
  return {
    dir,
    device,
    unmount: () => {
      unmount(dir);
      rmSync(image, { force: true });
    },
  };
}

function unmount(dir: string): void {
  try {
    run('umount', [dir]);
  } catch {
    // still busy (a process that has not exited yet): detach it now, it goes once unused
    run('umount', ['-l', dir]);
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Fills the file system holding `dir` with one file until a write fails with ENOSPC; returns the file. */
export function fill(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(fd);
  }
  // The last blocks, smaller than a chunk.
  const small = openSync(join(dir, 'filler-tail'), 'w');
  try {
    for (;;) writeSync(small, Buffer.alloc(512, 1));
  } catch (error) {
    if ((error as { code?: string }).code !== 'ENOSPC') throw error;
  } finally {
    closeSync(small);
  }
  return file;
}

export function unfill(dir: string): void {
  rmSync(join(dir, 'filler'), { force: true });
  rmSync(join(dir, 'filler-tail'), { force: true });
}

/** A storage failure answer: 503 ServiceUnavailable in the Key Vault envelope, naming `cause`, no path or stack. */
export function expectStorage503(answer: Answer, cause: RegExp, dataDir: string): void {
  expect(answer.status, answer.text).toBe(503);
  expect(envelopeProblem(answer)).toBeUndefined();
  const { error } = JSON.parse(answer.text) as { error: { code: string; message: string } };
  expect(error.code).toBe('ServiceUnavailable');
  expect(error.message).toMatch(cause);
  expect(error.message).not.toContain(dataDir);
  expect(error.message).not.toMatch(/\n\s+at |SQLITE_|E[A-Z]{3,}\b/);
}

/**
 * The emulator's output once it holds a line matching `pattern`, or as it is after 5 s: a process's
 * output arrives on its own time, after the answer that follows what it logs.
 */
export async function outputOnce(emulator: ChildEmulator, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 100 && !pattern.test(emulator.output()); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  return emulator.output();
}
