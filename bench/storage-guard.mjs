// What the storage guard (emulator/src/durability/guard.ts) costs on the write path: before a group of
// writes starts and before it is acknowledged, it stats the database and its log to see they are still
// the files the emulator opened. Measured two ways, in this process on a real file:
//   1. the guard's two checks alone, per group, against a group's commit (event loop time);
//   2. durable groups of one write (commit, log synced off the event loop, answer released), with the
//      guard and without it, two databases taking turns group by group: the ratio of the medians is what
//      a durable write pays for the guard.
// `node bench/storage-guard.mjs` (after `npm run build`) prints both. Not part of `npm test`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { median, ROOT, round } from './lib.mjs';

const dist = (path) => import(pathToFileURL(join(ROOT, 'emulator/dist', path)).href);
const { openStorage } = await dist('store/storage.js');
const { StorageGuard } = await dist('durability/guard.js');

const GROUPS = 3000;

/** A store on a new database, with the guard or without it. */
function store(withGuard) {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-guard-'));
  const storage = openStorage({
    file: join(dir, 'emulator.db'),
    durability: 'full',
    ...(withGuard && { guard: (files) => new StorageGuard({ dataDir: dir, files }) }),
  });
  storage.db.exec('CREATE TABLE IF NOT EXISTS bench (k INTEGER PRIMARY KEY, v TEXT)');
  const insert = storage.db.prepare('INSERT INTO bench (v) VALUES (?)');
  return {
    /** One durable group of one write: run, commit, sync, released; its time in µs. */
    async group() {
      const start = performance.now();
      storage.commits.run(() => insert.run('bench-value-0123456789abcdef'));
      await storage.commits.settled();
      return (performance.now() - start) * 1000;
    },
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function guardChecks() {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-guard-'));
  const storage = openStorage({ file: join(dir, 'emulator.db'), durability: 'normal' });
  const guard = new StorageGuard({ dataDir: dir, files: [join(dir, 'emulator.db'), join(dir, 'emulator.db-wal')] });
  const n = 20_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    guard.beforeWrite();
    guard.beforeAcknowledge();
  }
  const micros = ((performance.now() - start) * 1000) / n;
  void storage.close().then(() => rmSync(dir, { recursive: true, force: true }));
  return micros;
}

const checks = [guardChecks(), guardChecks(), guardChecks()];
// The two stores take turns group by group, so that what else the machine does weighs on both alike.
const plain = store(false);
const guarded = store(true);
const without = [];
const withGuard = [];
for (let g = 0; g < GROUPS; g++) {
  without.push(await plain.group());
  withGuard.push(await guarded.group());
}
await plain.close();
await guarded.close();
const p50 = (values) => median(values.slice(GROUPS / 10));
console.log(`Storage guard (Node ${process.version}):`);
console.log(`  the guard's checks per group (beforeWrite + beforeAcknowledge: 3 stats), median of 3 x 20,000: ${round(median(checks), 2)} µs`);
console.log(`  a durable group of one write (commit, log synced, released), p50 of ${GROUPS} taking turns, without / with the guard: ${round(p50(without), 1)} / ${round(p50(withGuard), 1)} µs`);
console.log(`  ratio with / without: ${round(p50(withGuard) / p50(without), 3)}`);
