// The command's entry (src/launcher.ts, built as dist/cli.mjs) runs the bundle (dist/cli.cjs) from V8's
// code cache. Each test copies both into a directory of its own under dist/ (so that the bundle still
// finds its dependencies), and runs `--version`, which writes the cache at exit when there is none.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { EMULATOR_VERSION } from '../src/app.js';

const DIST = resolve(import.meta.dirname, '../dist');
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function copyOfCommand(): { dir: string; entry: string; bundle: string; cache: string } {
  const dir = mkdtempSync(join(DIST, 'launcher-test-'));
  dirs.push(dir);
  copyFileSync(join(DIST, 'cli.mjs'), join(dir, 'cli.mjs'));
  copyFileSync(join(DIST, 'cli.cjs'), join(dir, 'cli.cjs'));
  return { dir, entry: join(dir, 'cli.mjs'), bundle: join(dir, 'cli.cjs'), cache: join(dir, 'cli.cjs.cache') };
}

async function version(entry: string, nodeFlags: string[] = []): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, entry, '--version'], { timeout: 20_000 });
  return stdout.trim();
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest();
/** The file's identity: a cache written again is a new file renamed over the old one. */
const identity = (file: string) => {
  const s = statSync(file);
  return `${s.ino}/${s.mtimeMs}`;
};

describe('the code cache of the command', () => {
  it('is written on the first run, headed by the SHA-256 of the bundle, and then used as it is', async () => {
    const { entry, bundle, cache } = copyOfCommand();
    expect(await version(entry)).toBe(EMULATOR_VERSION);
    const written = readFileSync(cache);
    expect(written.subarray(0, 32).equals(sha256(bundle))).toBe(true);
    expect(written.length).toBeGreaterThan(32 + 10_000);
    const first = identity(cache);
    // V8 accepted it: a rejected cache would have been written again.
    expect(await version(entry)).toBe(EMULATOR_VERSION);
    expect(identity(cache)).toBe(first);
  });

  it('is not used for a changed bundle of the same length, and is made again from that bundle', async () => {
    const { entry, bundle, cache } = copyOfCommand();
    await version(entry);
    const before = readFileSync(cache);
    // The same number of bytes, other code: V8's own check (the length) would take the old cache.
    const source = readFileSync(bundle, 'utf8');
    const changed = source.replace(`EMULATOR_VERSION = "${EMULATOR_VERSION}"`, `EMULATOR_VERSION = "${'9'.repeat(EMULATOR_VERSION.length)}"`);
    expect(changed).not.toBe(source);
    expect(Buffer.byteLength(changed)).toBe(Buffer.byteLength(source));
    writeFileSync(bundle, changed);
    expect(await version(entry)).toBe('9'.repeat(EMULATOR_VERSION.length));
    const after = readFileSync(cache);
    expect(after.subarray(0, 32).equals(sha256(bundle))).toBe(true);
    expect(after.subarray(0, 32).equals(before.subarray(0, 32))).toBe(false);
  });

  it('is made again when V8 rejects it (other flags), and a damaged cache is replaced', async () => {
    const { entry, bundle, cache } = copyOfCommand();
    await version(entry);
    const first = identity(cache);
    expect(await version(entry, ['--no-opt'])).toBe(EMULATOR_VERSION);
    expect(identity(cache)).not.toBe(first);
    // Right header, damaged body: V8 rejects it, the command still runs, and writes a good one.
    const good = readFileSync(cache);
    writeFileSync(cache, Buffer.concat([good.subarray(0, 32), Buffer.alloc(good.length - 32, 7)]));
    expect(await version(entry, ['--no-opt'])).toBe(EMULATOR_VERSION);
    expect(readFileSync(cache).subarray(0, 32).equals(sha256(bundle))).toBe(true);
    expect(readFileSync(cache).subarray(32, 64).equals(Buffer.alloc(32, 7))).toBe(false);
  });

  it('leaves nothing behind when it cannot be written, and the command runs all the same', async () => {
    const { dir, entry, cache } = copyOfCommand();
    mkdirSync(cache); // the cache's name taken by a directory: reading it and renaming over it both fail
    expect(await version(entry)).toBe(EMULATOR_VERSION);
    expect(statSync(cache).isDirectory()).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['cli.cjs', 'cli.cjs.cache', 'cli.mjs']);
  });

  it('runs the bundle in strict mode, as the ES modules it is built from', () => {
    // The launcher wraps the bundle in a function: a directive there must be its first statement.
    const body = readFileSync(join(DIST, 'cli.cjs'), 'utf8').replace(/^#!.*/, '');
    expect(body).toMatch(/^\s*['"]use strict['"];/);
  });
});
