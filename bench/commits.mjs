// Event-loop time of a commit, with SQLite's automatic checkpoints against the emulator's background
// checkpoints (emulator/src/store/checkpointer.ts). Each run is a child process with a new database that
// commits groups of 4 writes (a write: read the secret, insert a version, move the secret to it), one group
// per turn of the event loop, and times each group's commit on the event loop, any checkpoint work the
// event loop does included. The two modes alternate; each figure is the median of the rounds.
// Used by bench/run.mjs; `node bench/commits.mjs` prints the comparison alone.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, ROOT, round } from './lib.mjs';

const GROUPS = 6000;
const WARMUP_GROUPS = 1000;
const WRITES_PER_GROUP = 4;

async function child(mode) {
  const dist = (path) => import(pathToFileURL(join(ROOT, 'emulator/dist', path)).href);
  const { openDatabase } = await dist('store/database.js');
  const { CommitGroup } = await dist('store/commit-group.js');
  const { WalCheckpointer } = await dist('store/checkpointer.js');
  const { SqliteSecretRepository } = await dist('store/secret-repository.js');
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-commits-'));
  const file = join(dir, 'emulator.db');
  const db = openDatabase({ file, synchronous: 'NORMAL', autoCheckpoint: mode === 'sqlite' });
  const commits = new CommitGroup(db);
  let checkpointer;
  if (mode === 'worker') {
    checkpointer = new WalCheckpointer({ db, file });
    commits.onCommit(() => checkpointer.committed());
  }
  const repo = new SqliteSecretRepository(db, commits);
  const now = Math.floor(Date.now() / 1000);
  const version = () => `${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}`.padEnd(32, '0').slice(0, 32);
  const times = [];
  let n = 0;
  for (let g = 0; g < GROUPS; g++) {
    for (let k = 0; k < WRITES_PER_GROUP; k++) {
      const name = `bench-set-${n++ % 1000}`;
      commits.run(() => {
        repo.findHead('default', name);
        const attributes = { enabled: true, created: now, updated: now };
        repo.addVersion('default', { name, managed: false }, { name, version: version(), value: 'bench-value-0123456789abcdef', contentType: 'text/plain', attributes });
      });
    }
    const start = process.hrtime.bigint();
    commits.flush();
    times.push(Number(process.hrtime.bigint() - start) / 1000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await checkpointer?.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
  const kept = times.slice(WARMUP_GROUPS).sort((a, b) => a - b);
  const at = (q) => kept[Math.floor(q * (kept.length - 1))];
  return {
    meanMicros: kept.reduce((a, b) => a + b, 0) / kept.length,
    p99Micros: at(0.99),
    p999Micros: at(0.999),
    maxMicros: kept.at(-1),
    overOneMs: kept.filter((t) => t > 1000).length,
    commits: kept.length,
  };
}

/** Alternating runs of both modes; medians per figure, and the ratios of the means and of the maxima. */
export function commitStalls({ rounds = 3, log = () => {} } = {}) {
  const runs = { sqlite: [], worker: [] };
  for (let r = 0; r < rounds; r++) {
    for (const mode of r % 2 === 0 ? ['sqlite', 'worker'] : ['worker', 'sqlite']) {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode], { encoding: 'utf8' });
      runs[mode].push(JSON.parse(out));
    }
    log(`commits: round ${r + 1}/${rounds}`);
  }
  const summary = (list) => ({
    meanMicros: round(median(list.map((x) => x.meanMicros)), 1),
    p99Micros: round(median(list.map((x) => x.p99Micros)), 0),
    p999Micros: round(median(list.map((x) => x.p999Micros)), 0),
    maxMicros: round(median(list.map((x) => x.maxMicros)), 0),
    overOneMs: median(list.map((x) => x.overOneMs)),
    commits: list[0].commits,
  });
  const sqlite = summary(runs.sqlite);
  const worker = summary(runs.worker);
  return {
    writesPerCommit: WRITES_PER_GROUP,
    rounds,
    sqliteCheckpoints: sqlite,
    workerCheckpoints: worker,
    meanRatio: round(worker.meanMicros / sqlite.meanMicros, 2),
    maxRatio: round(worker.maxMicros / sqlite.maxMicros, 2),
  };
}

if (process.argv[2] === '--child') {
  process.stdout.write(JSON.stringify(await child(process.argv[3])));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(commitStalls({ log: (m) => console.error(m) }), null, 2));
}
