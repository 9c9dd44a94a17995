// What the storage guard (emulator/src/durability/guard.ts) costs on the write path: before a group of
// writes starts it stats the database, and before the group is acknowledged it stats the database and its
// log once it is committed (before its sync), to see they are still the files the emulator opened.
// Durable groups of one write (commit, log
// synced off the event loop, answer released) on two databases taking turns group by group, without the
// guard and with it: for each, the median time of a group and the event loop's busy time per group
// (performance.eventLoopUtilization; what a write costs the emulator's throughput). Looking at the files
// on libuv's pool while the log is synced measured worse on both counts (p50 ×1.16-1.21, event loop
// ×1.7-2.2, against ×1.03-1.07 and ×1.2-1.4 on the event loop after the sync), so the guard stats on the
// event loop; before the sync rather than after it, where a stat cost the event loop twice as much.
// A group here follows the last one's sync at once, so each figure includes the wake-up from that wait.
// `node bench/storage-guard.mjs` (after `npm run build`) prints them and their ratios. Not part of `npm test`.
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
function store(mode) {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-guard-'));
  const storage = openStorage({
    file: join(dir, 'emulator.db'),
    durability: 'full',
    ...(mode === 'guard' && { guard: (files) => new StorageGuard({ dataDir: dir, files }) }),
  });
  storage.db.exec('CREATE TABLE IF NOT EXISTS bench (k INTEGER PRIMARY KEY, v TEXT)');
  const insert = storage.db.prepare('INSERT INTO bench (v) VALUES (?)');
  return {
    /** One durable group of one write (run, commit, sync, released): its time and event-loop time, in µs. */
    async group() {
      const loop = performance.eventLoopUtilization();
      const start = performance.now();
      storage.commits.run(() => insert.run('bench-value-0123456789abcdef'));
      await storage.commits.settled();
      return { micros: (performance.now() - start) * 1000, loopMicros: performance.eventLoopUtilization(loop).active * 1000 };
    },
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The guard's own work per group, alone: beforeWrite (1 stat) and beforeAcknowledge (2 stats), in µs. */
function guardChecks() {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-guard-'));
  const storage = openStorage({ file: join(dir, 'emulator.db'), durability: 'normal' });
  const guard = new StorageGuard({ dataDir: dir, files: [join(dir, 'emulator.db'), join(dir, 'emulator.db-wal')] });
  const n = 50_000;
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
// The stores take turns group by group, so that what else the machine does weighs on each alike.
const modes = ['none', 'guard'];
const stores = Object.fromEntries(modes.map((mode) => [mode, store(mode)]));
const samples = Object.fromEntries(modes.map((mode) => [mode, { micros: [], loopMicros: [] }]));
for (let g = 0; g < GROUPS; g++) {
  // Each goes first every other turn: the first of a turn finds the machine in another state than the second.
  for (const mode of g % 2 === 0 ? modes : [...modes].reverse()) {
    const { micros, loopMicros } = await stores[mode].group();
    if (g < GROUPS / 10) continue; // warm-up
    samples[mode].micros.push(micros);
    samples[mode].loopMicros.push(loopMicros);
  }
}
for (const mode of modes) await stores[mode].close();
const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
const label = { none: 'without the guard', guard: 'with the guard' };
console.log(`Storage guard, durable groups of one write (commit, log synced, released), ${GROUPS} per store taking turns (Node ${process.version}):`);
for (const mode of modes) {
  const { micros, loopMicros } = samples[mode];
  console.log(`  ${label[mode]}: p50 ${round(median(micros), 1)} µs, event loop ${round(mean(loopMicros), 1)} µs per group`);
}
const ratio = (mode, key, of) => round(of(samples[mode][key]) / of(samples.none[key]), 3);
console.log(`  with / without: p50 ${ratio('guard', 'micros', median)}, event loop time ${ratio('guard', 'loopMicros', mean)}`);
console.log(`  the guard's own checks per group, alone (3 stats; median of 3 x 50,000): ${round(median(checks), 2)} µs`);
