// Storage that fails under the emulator: a full file system and one that turns read-only, on small file
// systems mounted for the test (a tmpfs, and ext4 on a loop device, which goes read-only under open files
// when told it has an error, as a failing disk does), and starts on such storage. Before, a read-only
// file system reached clients as Fastify's own body (`{"statusCode":500,"code":"EROFS",...}`) and a full
// disk as a generic 500. Now: 503 ServiceUnavailable in the Key Vault envelope naming the cause, with no
// path, code or stack; never a 200 for a write that was not stored; reads keep working; writes resume once
// the cause goes; a start on such storage exits 1 with one line. Needs root (mount); skipped, saying
// why, where mounting is not permitted.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearerToken, call, CLI, startChild, type Answer, type ChildEmulator } from '../robustness/support.js';
import { cannotLoopMountExt4, cannotMount, expectStorage503, fill, mountExt4, mountTmpfs, outputOnce, removeKeys, unfill, withKeys, type Mounted } from './support.js';

const V = 'api-version=7.6';
const FULL = /The write was not stored: the disk holding the emulator's data directory is full/;
const READ_ONLY = /The write was not stored: the emulator's data directory is on a read-only file system/;
/** The audit log's line when its records cannot be written (store/commit-group.ts runDetached), and its catch-all. */
const AUDIT_FAILS = 'audit: records cannot be written because';
const AUDIT_ERROR = 'audit records could not be written';
const linesWith = (output: string, text: string) => output.split('\n').filter((line) => line.includes(text));

const mountProblem = cannotMount();
const ext4Problem = cannotLoopMountExt4();
if (mountProblem) console.log(`[hardening] storage fault tests skipped: ${mountProblem}`);
else if (ext4Problem) console.log(`[hardening] read-only file system test skipped: ${ext4Problem}`);

const mounts: Mounted[] = [];
const children: ChildEmulator[] = [];
afterAll(async () => {
  // Processes first: a file system with open files cannot be unmounted.
  for (const child of children) if (child.alive()) await child.kill();
  for (const mounted of mounts) mounted.unmount();
  removeKeys();
});

async function started(dataDir: string): Promise<{ emulator: ChildEmulator; auth: Record<string, string> }> {
  const emulator = await startChild({ dataDir, args: ['--log-level', 'info'] });
  children.push(emulator);
  return { emulator, auth: { authorization: `Bearer ${await bearerToken(emulator)}`, 'content-type': 'application/json' } };
}

const put = (emulator: ChildEmulator, auth: Record<string, string>, name: string, value: string) =>
  call(emulator, `/secrets/${name}?${V}`, { method: 'PUT', headers: auth, body: JSON.stringify({ value }) });

/** The value read back, or the status when it cannot be. */
async function read(emulator: ChildEmulator, auth: Record<string, string>, name: string): Promise<string | number> {
  const res = await call(emulator, `/secrets/${name}?${V}`, { headers: auth });
  return res.status === 200 ? (JSON.parse(res.text) as { value: string }).value : res.status;
}

/** Each answer is either 200 (and then the value reads back) or the storage 503; returns the 503s. */
async function onlyStoredOr503(emulator: ChildEmulator, auth: Record<string, string>, writes: Array<[string, string, Answer]>, cause: RegExp, dataDir: string): Promise<number> {
  let refused = 0;
  for (const [name, value, answer] of writes) {
    if (answer.status === 200) expect(await read(emulator, auth, name)).toBe(value);
    else {
      expectStorage503(answer, cause, dataDir);
      refused += 1;
    }
  }
  return refused;
}

const BIG = 'x'.repeat(25_000);

describe.skipIf(mountProblem !== undefined)('a full file system', () => {
  it('answers 503 naming a full disk, never 200 for a write it did not store, keeps reads, and takes writes again once space is freed', async () => {
    const mounted = mountTmpfs('8m');
    mounts.push(mounted);
    const dataDir = await withKeys(join(mounted.dir, 'data'));
    const { emulator, auth } = await started(dataDir);
    expect((await put(emulator, auth, 'before', 'v')).status).toBe(200);

    fill(mounted.dir);
    // SQLite may still find room in pages its log already holds: every write is stored or refused, and
    // large ones soon need more than is left.
    const writes: Array<[string, string, Answer]> = [];
    for (let i = 0; i < 20; i++) {
      const answers = await Promise.all(Array.from({ length: 5 }, (_, j) => put(emulator, auth, `full-${i}-${j}`, `${BIG}${i}-${j}`)));
      answers.forEach((answer, j) => writes.push([`full-${i}-${j}`, `${BIG}${i}-${j}`, answer]));
      if (answers.some((answer) => answer.status === 503)) break;
    }
    expect(await onlyStoredOr503(emulator, auth, writes, FULL, dataDir)).toBeGreaterThan(0);
    expect(await read(emulator, auth, 'before')).toBe('v');
    expectStorage503(await call(emulator, '/_emulator/health'), /The emulator cannot store writes: the disk holding the emulator's data directory is full/, dataDir);
    const full = 'storage: writes fail because the disk holding the data directory is full';
    const logged = (await outputOnce(emulator, new RegExp(full))).split('\n').filter((line) => line.includes(full));
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged.length).toBeLessThanOrEqual(2);
    // Audit records that do not fit are dropped, said once; those that fit tell the guard nothing (health above).
    const auditFailures = linesWith(emulator.output(), AUDIT_FAILS);
    expect(auditFailures.length).toBeLessThanOrEqual(1);
    for (const line of auditFailures) expect(line).toContain(`${AUDIT_FAILS} the disk holding the data directory is full`);
    expect(linesWith(emulator.output(), AUDIT_ERROR)).toEqual([]);

    unfill(mounted.dir);
    expect((await put(emulator, auth, 'after', BIG)).status).toBe(200);
    expect(await read(emulator, auth, 'after')).toBe(BIG);
    expect((await call(emulator, '/_emulator/health')).status).toBe(200);
    const recovered = /storage: writes to .* are stored again \(after: the disk holding the data directory is full\)/;
    expect(await outputOnce(emulator, recovered)).toMatch(recovered);
    if (auditFailures.length > 0) expect(await outputOnce(emulator, /audit: records are written again \(\d+ could not be written/)).toMatch(/audit: records are written again/);
    await emulator.stop();

    // Everything acknowledged is there after a restart.
    const again = await started(dataDir);
    expect(await read(again.emulator, again.auth, 'before')).toBe('v');
    expect(await read(again.emulator, again.auth, 'after')).toBe(BIG);
    for (const [name, value, answer] of writes) if (answer.status === 200) expect(await read(again.emulator, again.auth, name)).toBe(value);
    await again.emulator.stop();
  });

  it('refuses to start on it, in one line, with status 1', async () => {
    const mounted = mountTmpfs('4m');
    mounts.push(mounted);
    const dataDir = await withKeys(join(mounted.dir, 'data'));
    const { emulator } = await started(dataDir);
    await emulator.stop();
    fill(mounted.dir);
    expectOneLineFailure(dataDir, /^kv-emulator: cannot start: the disk holding the data directory .* is full \(\w+\)\. Free some space/);
    unfill(mounted.dir);
  });
});

describe.skipIf(mountProblem !== undefined || ext4Problem !== undefined)('a file system that turns read-only under the emulator', () => {
  it('answers 503 naming a read-only file system, never 200 for a write it did not store, and keeps reads', async () => {
    const mounted = mountExt4(32);
    mounts.push(mounted);
    const dataDir = await withKeys(join(mounted.dir, 'data'));
    const { emulator, auth } = await started(dataDir);
    expect((await put(emulator, auth, 'before', 'v')).status).toBe(200);

    spawnSync('sh', ['-c', `echo 1 > /sys/fs/ext4/${mounted.device}/trigger_fs_error`]);
    const writes = await Promise.all(Array.from({ length: 10 }, (_, i) => put(emulator, auth, `ro-${i}`, `v${i}`)));
    expect(await onlyStoredOr503(emulator, auth, writes.map((answer, i) => [`ro-${i}`, `v${i}`, answer]), READ_ONLY, dataDir)).toBe(10);
    expect(await read(emulator, auth, 'before')).toBe('v');
    expectStorage503(await put(emulator, auth, 'later', 'v'), READ_ONLY, dataDir);
    const update = await call(emulator, `/secrets/before?${V}`, { method: 'DELETE', headers: auth });
    expectStorage503(update, READ_ONLY, dataDir);
    expect(await read(emulator, auth, 'before')).toBe('v');
    expectStorage503(await call(emulator, '/_emulator/health'), /read-only file system/, dataDir);
    const readOnly = 'storage: writes fail because the data directory is on a read-only file system';
    const logged = (await outputOnce(emulator, new RegExp(readOnly))).split('\n').filter((line) => line.includes(readOnly));
    expect(logged).toHaveLength(1);
    // The audit records of all these requests are dropped, said in one line, with no stack.
    const auditFailure = `${AUDIT_FAILS} the data directory is on a read-only file system`;
    expect(linesWith(await outputOnce(emulator, new RegExp(auditFailure)), AUDIT_FAILS)).toEqual([expect.stringContaining(auditFailure)]);
    expect(linesWith(emulator.output(), AUDIT_ERROR)).toEqual([]);
    await emulator.stop();
  });
});

describe.skipIf(mountProblem !== undefined)('a start on a read-only file system', () => {
  it('exits 1 with one line, for an existing data directory and for a new one', async () => {
    const mounted = mountTmpfs('4m');
    mounts.push(mounted);
    const dataDir = await withKeys(join(mounted.dir, 'data'));
    const { emulator } = await started(dataDir);
    await emulator.stop();
    mkdirSync(join(mounted.dir, 'empty'));
    spawnSync('mount', ['-o', 'remount,ro', mounted.dir]);
    expectOneLineFailure(dataDir, /^kv-emulator: cannot start: the data directory .* is on a read-only file system( \(\w+\))?\. Give a writable --data-dir, or start with --in-memory/);
    expectOneLineFailure(join(mounted.dir, 'new'), /^kv-emulator: cannot start: the data directory .*\/new is on a read-only file system( \(EROFS\))?\. /);
    expect(existsSync(join(mounted.dir, 'new'))).toBe(false);
    spawnSync('mount', ['-o', 'remount,rw', mounted.dir]);
  });
});

function expectOneLineFailure(dataDir: string, line: RegExp): void {
  const result = spawnSync(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dataDir], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '' } });
  expect(result.status, `${result.stdout}${result.stderr}`).toBe(1);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(line);
}
