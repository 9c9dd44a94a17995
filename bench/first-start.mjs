// Starts as CI jobs and test suites pay for them, against a reference in the same run:
//   - the first start on a new data directory (every CI job's, every new container's: CA, server
//     certificate and keys generated), spawn to the first HTTPS answer, against a bare Fastify HTTPS
//     server's cold start (bench/bare-server.mjs, spawn to its first HTTPS answer), the two taking turns;
//   - `kv-emulator start --in-memory` in an empty directory to the first SDK read (bench/memory-first-read.mjs):
//     what a test suite pays per emulator.
// Used by bench/run.mjs.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, median, ROOT, round, startEmulator } from './lib.mjs';

/** One HTTPS GET without verifying (the first answer is what is timed, not trust); resolves the status. */
function firstAnswer(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, path, rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Spawn of the bare server to its first HTTPS answer, in ms. */
function bareColdStart(dataDir, bodiesFile) {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'bench/bare-server.mjs'), dataDir, bodiesFile], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', async (chunk) => {
      out += chunk;
      const match = /listening on https:\/\/localhost:(\d+)/.exec(out);
      if (!match || child.answered) return;
      child.answered = true;
      try {
        const status = await firstAnswer(Number(match[1]), '/secrets/cold-start');
        const ms = performance.now() - spawnedAt;
        if (status !== 200) throw new Error(`the bare server answered ${status}`);
        child.once('exit', () => resolve(ms));
        child.kill();
      } catch (error) {
        child.kill();
        reject(error);
      }
    });
    child.once('exit', (code) => {
      if (!child.answered) reject(new Error(`the bare server exited with ${code}`));
    });
  });
}

/** Spawn of `kv-emulator start` on a new data directory to its first HTTPS answer (health), in ms. */
async function emulatorFirstStart() {
  const dataDir = mkdtempSync(join(tmpdir(), 'kv-bench-first-'));
  try {
    const emulator = await startEmulator({ dataDir });
    const status = await firstAnswer(emulator.port, '/_emulator/health');
    const ms = performance.now() - emulator.spawnedAt;
    await emulator.stop();
    if (status !== 200) throw new Error(`the emulator answered ${status}`);
    return { ms, listeningMs: emulator.listeningAt - emulator.spawnedAt };
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/**
 * `rounds` of each, taking turns (which goes first alternates). `base` is a data directory holding a
 * server certificate for the bare server.
 */
export async function firstStartFigures({ base, rounds, log }) {
  const bodiesFile = join(base, 'first-start-bodies.json');
  writeFileSync(bodiesFile, JSON.stringify({ get: '{}', set: '{}', list: '{}' }));
  const emulator = [];
  const bare = [];
  // One of each first, not counted: the files each reads are then in the page cache for both.
  await bareColdStart(base, bodiesFile);
  await emulatorFirstStart();
  for (let i = 0; i < rounds; i++) {
    log(`first start: round ${i + 1}/${rounds}, a new data directory and a bare Fastify server taking turns`);
    const pair = [async () => emulator.push(await emulatorFirstStart()), async () => bare.push(await bareColdStart(base, bodiesFile))];
    if (i % 2) pair.reverse();
    for (const run of pair) await run();
  }
  const emulatorMs = median(emulator.map((e) => e.ms));
  const bareMs = median(bare);
  return {
    rounds,
    firstStartNewDataDirMs: round(emulatorMs, 0),
    firstStartNewDataDirListeningMs: round(median(emulator.map((e) => e.listeningMs)), 0),
    bareColdStartMs: round(bareMs, 0),
    // Each round's pair, so a slow moment of the machine weighs on both.
    firstStartRatio: round(median(emulator.map((e, i) => e.ms / bare[i])), 2),
    roundRatios: emulator.map((e, i) => round(e.ms / bare[i], 2)),
  };
}

/** `kv-emulator start --in-memory` to the first SDK read, `runs` times, in a warm client process. */
export function memoryFirstReadFigures({ runs, log }) {
  log(`in-memory start to the first SDK read: ${runs} starts`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench/memory-first-read.mjs'), String(runs)], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`memory-first-read exited with ${code}: ${out}`));
      const samples = JSON.parse(out);
      resolve({
        runs: samples.length,
        memoryStartToFirstReadMs: round(median(samples.map((s) => s.firstReadMs)), 0),
        memoryStartListeningMs: round(median(samples.map((s) => s.listeningMs)), 0),
      });
    });
  });
}
