// `npm run bench`: the emulator's published speed and footprint figures, each beside its own reference,
// measured in the same run (the machine may be shared: ratios between runs seconds apart are what is
// compared), each a median of several runs, through the real CLI over real HTTPS, load generators in
// their own processes:
//   - starts: spawn to listening and to the first SDK read on an existing data directory; the first start
//     on a new data directory against a bare Fastify HTTPS server's cold start (bench/first-start.mjs);
//     `start --in-memory` to the first SDK read (bench/memory-first-read.mjs);
//   - what a user feels: the SDK journeys of the 61 real-Azure recordings replayed, against the time they
//     took on Azure (bench/journeys.mjs); the time of `npm test`'s contract project;
//   - throughput and latency of get, set and list-a-page against a bare Fastify HTTPS server answering
//     the same bodies (bench/bare-server.mjs); gets also with the autocannon command at 16 connections;
//     durable sets against the least durable write (bench/durable-floor-server.mjs: one row synced before
//     the answer) and against the emulator's own storage work (bench/storage-server.mjs); `--in-memory`
//     sets against bare Fastify; service times one request at a time, servers taking turns;
//   - scale: get and page latency with 100 and with 100,000 secrets, and resident memory;
//   - commits: event-loop time of a commit, SQLite's checkpoints against the background ones (bench/commits.mjs);
//   - the HTTPS proxy (bench/proxy.mjs).
// Prints what it will do and about how long it will take, its progress, then a table of each figure with
// its reference and budget. Options:
//   --quick          shorter runs (a few minutes), for trying changes; the contract project is not timed
//   --only=a,b       only these parts: starts, journeys, contracts, load, scale, commits, proxy
//   --write          store the figures: bench/results.json, the table in docs/performance.md and the
//                    headline figures in README.md (nothing is written without it; not with --quick)
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { commitStalls } from './commits.mjs';
import { firstStartFigures, memoryFirstReadFigures } from './first-start.mjs';
import { journeyFigures } from './journeys.mjs';
import { PROXY_BUDGET, proxyFigures, proxyTable } from './proxy.mjs';
import {
  childEnv,
  clientOf,
  cpuTimeMs,
  dataDirSharingKeys,
  kvHeadersOf,
  median,
  Progress,
  RESOLVER,
  residentMemory,
  ROOT,
  round,
  runAutocannonCli,
  runLoad,
  startBare,
  startEmulator,
} from './lib.mjs';

const QUICK = process.argv.includes('--quick');
const WRITE = process.argv.includes('--write');
/** Only rewrite the tables of docs/performance.md and README.md from bench/results.json (after a change of their layout). */
const REWRITE = process.argv.includes('--rewrite');
const PARTS = ['starts', 'journeys', 'contracts', 'load', 'scale', 'commits', 'proxy'];
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
const ROUNDS = QUICK ? 1 : 5;
const PACED_ROUNDS = QUICK ? 1 : 3;
const COLD_RUNS = QUICK ? 3 : 9;
const LOAD_SECONDS = QUICK ? 2 : 5;
const CONNECTIONS = 10;
/** The autocannon command's connections for the second get figure. */
const CLI_CONNECTIONS = 16;
const SCALE_SIZES = QUICK ? [100, 10_000] : [100, 100_000];
const SEQUENTIAL_MS = QUICK ? 3000 : 6000;

/**
 * Budgets, each against its own reference (same run). Writes: no durable store reaches half a bare
 * server's rate on this machine (docs/performance.md), so durable sets are judged against the least
 * durable write, and sets that write nothing to disk (--in-memory) against the bare server.
 */
const BUDGET = {
  listeningMs: 300,
  firstReadMs: 800,
  firstStartRatio: 1.3,
  getRatio: 0.75,
  getCliRatio: 0.6,
  listRatio: 0.5,
  setFloorRatio: 0.5,
  setMemoryRatio: 0.5,
  p99AtHalfPeakMs: 10,
  scaleRatio: 1.3,
  rssBytes: 150 * 1024 * 1024,
};

/** About how long each part takes on the 2-core machine the figures come from, in seconds. */
const ESTIMATES = QUICK
  ? { starts: 20, journeys: 5, contracts: 0, load: 125, scale: 30, commits: 5, proxy: 15 }
  : { starts: 25, journeys: 5, contracts: 75, load: 640, scale: 75, commits: 10, proxy: 25 };

const selected = PARTS.filter((part) => (ONLY ? ONLY.includes(part) : true) && !(QUICK && part === 'contracts'));
if (ONLY?.some((part) => !PARTS.includes(part))) {
  process.stderr.write(`--only takes ${PARTS.join(', ')}\n`);
  process.exit(2);
}
const progress = new Progress(Object.fromEntries(selected.map((part) => [part, ESTIMATES[part]])));
const log = (line) => progress.log(line);
const scratch = [];
const tempDir = (prefix) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  scratch.push(dir);
  return dir;
};

function machine() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    // not a git checkout
  }
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    os: `${process.platform} ${release()}`,
    commit,
    date: new Date().toISOString(),
    loadAverageAtStart: round(loadavg()[0], 1),
  };
}

/** A data directory with the emulator's keys and one secret for the cold-start reads. */
async function prepareBase() {
  const dataDir = tempDir('kv-bench-base-');
  const emulator = await startEmulator({ dataDir });
  try {
    const client = await clientOf(emulator);
    const res = await client.request('/secrets/cold-start', { method: 'PUT', body: { value: 'cold-start-value' } });
    if (res.status !== 200) throw new Error(`could not set the cold-start secret: ${res.status} ${res.body}`);
  } finally {
    await emulator.stop();
  }
  return dataDir;
}

async function starts(base) {
  log(`starts: ${COLD_RUNS} starts on an existing data directory, each read through the SDK`);
  const output = await new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench/sdk-cold-start.mjs'), base, 'cold-start', String(COLD_RUNS)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: childEnv({
        NODE_EXTRA_CA_CERTS: join(base, 'ca.pem'),
        NODE_OPTIONS: `--require "${RESOLVER}"`,
        IDENTITY_HEADER: readFileSync(join(base, 'identity-header'), 'utf8').trim(),
      }),
    });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`sdk-cold-start exited with ${code}: ${out}`))));
  });
  const samples = JSON.parse(output);
  const first = await firstStartFigures({ base, rounds: COLD_RUNS, log });
  const memory = await memoryFirstReadFigures({ runs: QUICK ? 3 : 7, log });
  return {
    runs: samples.length,
    listeningMs: round(median(samples.map((s) => s.listeningMs)), 0),
    firstSdkReadMs: round(median(samples.map((s) => s.firstReadMs)), 0),
    ...first,
    ...memory,
  };
}

/** The contract project of `npm test` (real SDKs against the CLI emulator), timed as it runs there. */
async function contractsTime() {
  log('contracts: running `vitest run --project contracts` (the emulator build is the one just made)');
  const started = performance.now();
  const env = childEnv();
  for (const key of Object.keys(env)) if (key.startsWith('npm_')) delete env[key];
  const output = await new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'contracts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.once('exit', (code) => (code === 0 ? resolvePromise(out) : reject(new Error(`the contract project failed (${code}):\n${out.slice(-3000)}`))));
  });
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const tests = /Tests\s+(.+?)\s*\(/.exec(plain)?.[1] ?? 'unknown';
  return { seconds: round((performance.now() - started) / 1000, 0), tests, files: /Test Files\s+(.+?)\s*\(/.exec(plain)?.[1] ?? 'unknown' };
}

/**
 * ROUNDS runs of each measurement, taking turns, each round starting one further along (with two: which
 * goes first alternates); resolves one array of runs per measurement.
 */
async function rotating(measurements, onRound = () => {}, rounds = ROUNDS) {
  const runs = measurements.map(() => []);
  for (let i = 0; i < rounds; i++) {
    const first = i % measurements.length;
    onRound(i, first);
    for (let k = 0; k < measurements.length; k++) {
      const j = (first + k) % measurements.length;
      runs[j].push(await measurements[j]());
    }
  }
  return runs;
}

const SECRET_VALUE = 'bench-value-0123456789abcdef0123456789abcdef0123';

async function throughput(base) {
  const dataDir = dataDirSharingKeys(base);
  scratch.push(dataDir);
  const emulator = await startEmulator({ dataDir });
  // The same emulator with `durability: "normal"` (no fsync per commit), for the write figures only.
  const normalDir = dataDirSharingKeys(base);
  scratch.push(normalDir);
  writeFileSync(join(normalDir, 'bench-config.json'), JSON.stringify({ durability: 'normal' }));
  const normal = await startEmulator({ dataDir: normalDir, args: ['--config', join(normalDir, 'bench-config.json')] });
  // And with --in-memory: writes that touch no disk, against the bare server.
  const memoryDir = dataDirSharingKeys(base);
  scratch.push(memoryDir);
  const memory = await startEmulator({ dataDir: memoryDir, args: ['--in-memory'] });
  const client = await clientOf(emulator);
  const auth = { authorization: `Bearer ${client.token}` };
  for (let i = 0; i < 30; i++) await client.request(`/secrets/bench-list-${String(i).padStart(2, '0')}`, { method: 'PUT', body: { value: SECRET_VALUE } });
  const setBody = { value: SECRET_VALUE, contentType: 'text/plain', tags: { env: 'bench' } };
  const getProbe = await client.request('/secrets/bench-list-00');
  const bodies = {
    get: getProbe.body,
    getHeaders: kvHeadersOf(getProbe.headers),
    list: (await client.request('/secrets?maxresults=25')).body,
    set: (await client.request('/secrets/bench-set-probe', { method: 'PUT', body: setBody })).body,
  };
  if (JSON.parse(bodies.list).value.length !== 25) throw new Error('the list page does not hold 25 secrets');
  const bodiesFile = join(dataDir, 'bare-bodies.json');
  writeFileSync(bodiesFile, JSON.stringify(bodies));
  const bare = await startBare(dataDir, bodiesFile);
  // The storage reference keeps its database in a directory of its own.
  const storageDir = dataDirSharingKeys(base);
  scratch.push(storageDir);
  const storage = await startBare(storageDir, bodiesFile, 'bench/storage-server.mjs');
  const floorDir = dataDirSharingKeys(base);
  scratch.push(floorDir);
  const floor = await startBare(floorDir, bodiesFile, 'bench/durable-floor-server.mjs');
  // Bare Fastify sending a get's answer with Key Vault's response headers too (bench/bare-server.mjs).
  const withHeaders = await startBare(dataDir, bodiesFile, 'bench/bare-server.mjs', ['--kv-headers']);
  const pids = {
    [emulator.origin]: emulator.pid,
    [normal.origin]: normal.pid,
    [memory.origin]: memory.pid,
    [bare.origin]: bare.child.pid,
    [storage.origin]: storage.child.pid,
    [floor.origin]: floor.child.pid,
    [withHeaders.origin]: withHeaders.child.pid,
  };

  const set = {
    label: 'PUT /secrets/{name} (setSecret, one write each)',
    method: 'PUT',
    pathTemplate: `/secrets/bench-set-{i}?api-version=7.6`,
    body: setBody,
    bodyBytes: Buffer.byteLength(bodies.set),
  };
  const operations = [
    { name: 'get', label: 'GET /secrets/{name}', method: 'GET', path: `/secrets/bench-list-00?api-version=7.6`, bodyBytes: Buffer.byteLength(bodies.get), target: emulator, withHeaders: true },
    { name: 'list', label: 'GET /secrets?maxresults=25 (a page of 25)', method: 'GET', path: `/secrets?api-version=7.6&maxresults=25`, bodyBytes: Buffer.byteLength(bodies.list), target: emulator },
    { name: 'set', ...set, target: emulator, withFloor: true },
    // Against the bare server only: the storage reference syncs as the default durability does.
    { name: 'setNormal', ...set, label: `${set.label}, durability "normal"`, target: normal, withoutStorage: true, withoutPaced: true },
    { name: 'setMemory', ...set, label: `${set.label}, --in-memory`, target: memory, withoutStorage: true, withoutPaced: true },
  ];
  const results = {};
  try {
    for (const op of operations) {
      // Each run also reports the server process's CPU time per request: unlike requests per second,
      // it does not depend on what else the machine is doing.
      const measure = async (origin, spec) => {
        const before = cpuTimeMs(pids[origin]);
        const result = await runLoad({
          origin,
          headers: auth,
          method: op.method,
          ...(op.path && { path: op.path }),
          ...(op.pathTemplate && { pathTemplate: op.pathTemplate }),
          ...(op.body && { body: op.body }),
          duration: LOAD_SECONDS,
          ...spec,
        });
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(`${op.name} (${spec.mode}): ${result.non2xx} non-2xx answers, ${result.errors} errors: ${JSON.stringify(result.statuses)}`);
        }
        return { ...result, cpuMicrosPerRequest: ((cpuTimeMs(pids[origin]) - before) * 1000) / result.total };
      };
      const load = (origin, extra = {}) => measure(origin, { mode: 'autocannon', connections: CONNECTIONS, warmupSeconds: 0, ...extra });
      // Warm both servers (JIT, caches) before anything is counted.
      await load(op.target.origin, { duration: 1 });
      await load(bare.origin, { duration: 1 });
      if (!op.withoutStorage) await load(storage.origin, { duration: 1 });
      if (op.withFloor) await load(floor.origin, { duration: 1 });
      if (op.withHeaders) await load(withHeaders.origin, { duration: 1 });
      // Rounds take turns at which server goes first, and each round's ratio compares runs seconds
      // apart: the figure is the median of those paired ratios, so a slow minute of a shared machine
      // moves one round, not the result.
      const servers = [
        ['emu', 'emulator', () => load(op.target.origin)],
        ['bare', 'bare Fastify', () => load(bare.origin)],
        ...(op.withoutStorage ? [] : [['storage', 'bare Fastify with the store', () => load(storage.origin)]]),
        ...(op.withFloor ? [['floor', 'bare Fastify with the least durable write', () => load(floor.origin)]] : []),
        ...(op.withHeaders ? [['headers', "bare Fastify with Key Vault's headers", () => load(withHeaders.origin)]] : []),
      ];
      const runsOf = await rotating(
        servers.map(([, , run]) => run),
        (i, first) => log(`${op.name}: round ${i + 1}/${ROUNDS} at full speed (${servers.map((_, k) => servers[(first + k) % servers.length][1]).join(', then ')})`),
      );
      const { emu: emuRuns, bare: bareRuns, storage: storageRuns, floor: floorRuns, headers: headersRuns } = Object.fromEntries(servers.map(([key], i) => [key, runsOf[i]]));
      const emuPeak = median(emuRuns.map((r) => r.rps));
      const barePeak = median(bareRuns.map((r) => r.rps));
      const halfRate = Math.max(1, Math.round(emuPeak / 2));
      let halfRuns;
      let bareHalfRuns;
      if (!op.withoutPaced) {
        log(`${op.name}: open-loop at half the emulator's peak (${halfRate} requests/s), emulator and bare Fastify alternating`);
        const paced = (origin) => measure(origin, { mode: 'paced', ca: client.ca, rate: halfRate });
        [halfRuns, bareHalfRuns] = await rotating([() => paced(op.target.origin), () => paced(bare.origin)], () => undefined, PACED_ROUNDS);
      }
      // Service time: one request at a time, taking turns request by request between the servers, so a
      // busy moment of the machine weighs on each alike. Steadier from run to run than rates are.
      let service;
      if (!op.withoutStorage) {
        log(`${op.name}: one request at a time, emulator, bare Fastify and bare Fastify with the store taking turns`);
        const target = (origin) => ({ origin, ca: client.ca, headers: auth, method: op.method, path: op.path, pathTemplate: op.pathTemplate, body: op.body });
        const [emu, bareOne, storageOne] = await runLoad({ mode: 'sequential', kind: 'fixed', durationMs: 2 * SEQUENTIAL_MS, targets: [target(op.target.origin), target(bare.origin), target(storage.origin)] });
        for (const [name, run] of [['emulator', emu], ['bare', bareOne], ['storage', storageOne]]) {
          const bad = Object.keys(run.statuses).filter((status) => status !== '200');
          if (bad.length > 0) throw new Error(`${op.name} one at a time (${name}): answers ${JSON.stringify(run.statuses)}`);
        }
        service = {
          serviceP50Ms: round(emu.latency.p50, 3),
          bareServiceP50Ms: round(bareOne.latency.p50, 3),
          storageServiceP50Ms: round(storageOne.latency.p50, 3),
          serviceRequests: emu.latency.count,
        };
      }
      results[op.name] = {
        operation: op.label,
        responseBytes: op.bodyBytes,
        emulatorRps: round(emuPeak, 0),
        bareRps: round(barePeak, 0),
        ratio: round(median(emuRuns.map((r, i) => r.rps / bareRuns[i].rps)), 2),
        roundRatios: emuRuns.map((r, i) => round(r.rps / bareRuns[i].rps, 2)),
        emulatorCpuMicrosPerRequest: round(median(emuRuns.map((r) => r.cpuMicrosPerRequest)), 0),
        bareCpuMicrosPerRequest: round(median(bareRuns.map((r) => r.cpuMicrosPerRequest)), 0),
        emulatorP99AtPeakMs: round(median(emuRuns.map((r) => r.latency.p99)), 2),
        bareP99AtPeakMs: round(median(bareRuns.map((r) => r.latency.p99)), 2),
        ...(halfRuns && {
          halfPeakRps: round(median(halfRuns.map((r) => r.rps)), 0),
          emulatorP50AtHalfPeakMs: round(median(halfRuns.map((r) => r.latency.p50)), 2),
          emulatorP99AtHalfPeakMs: round(median(halfRuns.map((r) => r.latency.p99)), 2),
          emulatorCpuMicrosPerRequestAtHalfPeak: round(median(halfRuns.map((r) => r.cpuMicrosPerRequest)), 0),
          bareCpuMicrosPerRequestAtHalfPeak: round(median(bareHalfRuns.map((r) => r.cpuMicrosPerRequest)), 0),
          bareP50AtHalfPeakMs: round(median(bareHalfRuns.map((r) => r.latency.p50)), 2),
          bareP99AtHalfPeakMs: round(median(bareHalfRuns.map((r) => r.latency.p99)), 2),
        }),
        ...(storageRuns && {
          storageRps: round(median(storageRuns.map((r) => r.rps)), 0),
          storageRatio: round(median(emuRuns.map((r, i) => r.rps / storageRuns[i].rps)), 2),
          storageRoundRatios: emuRuns.map((r, i) => round(r.rps / storageRuns[i].rps, 2)),
          storageCpuMicrosPerRequest: round(median(storageRuns.map((r) => r.cpuMicrosPerRequest)), 0),
          storageVsBareRatio: round(median(storageRuns.map((r, i) => r.rps / bareRuns[i].rps)), 2),
        }),
        ...(floorRuns && {
          floorRps: round(median(floorRuns.map((r) => r.rps)), 0),
          floorRatio: round(median(emuRuns.map((r, i) => r.rps / floorRuns[i].rps)), 2),
          floorRoundRatios: emuRuns.map((r, i) => round(r.rps / floorRuns[i].rps, 2)),
          floorCpuMicrosPerRequest: round(median(floorRuns.map((r) => r.cpuMicrosPerRequest)), 0),
          floorVsBareRatio: round(median(floorRuns.map((r, i) => r.rps / bareRuns[i].rps)), 2),
          floorVsBareRoundRatios: floorRuns.map((r, i) => round(r.rps / bareRuns[i].rps, 2)),
        }),
        ...(headersRuns && {
          headersRps: round(median(headersRuns.map((r) => r.rps)), 0),
          headersRatio: round(median(emuRuns.map((r, i) => r.rps / headersRuns[i].rps)), 2),
          headersRoundRatios: emuRuns.map((r, i) => round(r.rps / headersRuns[i].rps, 2)),
          headersCpuMicrosPerRequest: round(median(headersRuns.map((r) => r.cpuMicrosPerRequest)), 0),
          headersVsBareRatio: round(median(headersRuns.map((r, i) => r.rps / bareRuns[i].rps)), 2),
        }),
        ...service,
      };
    }
    // Gets again, with the autocannon command at 16 connections: no per-answer bookkeeping in the load
    // generator, which so leaves the servers more of the machine than bench/load.mjs does.
    const cliLoad = (origin) => {
      const before = cpuTimeMs(pids[origin]);
      return runAutocannonCli({ origin, path: '/secrets/bench-list-00?api-version=7.6', headers: auth, connections: CLI_CONNECTIONS, duration: LOAD_SECONDS, ca: join(base, 'ca.pem') }).then((r) => {
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`get (autocannon command): ${r.non2xx} non-2xx answers, ${r.errors} errors`);
        return { ...r, cpuMicrosPerRequest: ((cpuTimeMs(pids[origin]) - before) * 1000) / r.total };
      });
    };
    const [cliEmu, cliBare] = await rotating([() => cliLoad(emulator.origin), () => cliLoad(bare.origin)], (i) =>
      log(`get: round ${i + 1}/${ROUNDS} with the autocannon command at ${CLI_CONNECTIONS} connections, emulator and bare Fastify alternating`),
    );
    results.getCli = {
      operation: 'GET /secrets/{name}, autocannon command',
      connections: CLI_CONNECTIONS,
      emulatorRps: round(median(cliEmu.map((r) => r.rps)), 0),
      bareRps: round(median(cliBare.map((r) => r.rps)), 0),
      ratio: round(median(cliEmu.map((r, i) => r.rps / cliBare[i].rps)), 2),
      roundRatios: cliEmu.map((r, i) => round(r.rps / cliBare[i].rps, 2)),
      emulatorCpuMicrosPerRequest: round(median(cliEmu.map((r) => r.cpuMicrosPerRequest)), 0),
      bareCpuMicrosPerRequest: round(median(cliBare.map((r) => r.cpuMicrosPerRequest)), 0),
    };
    results.emulatorRssAfterLoadBytes = residentMemory(emulator.pid).rss;
  } finally {
    await bare.stop();
    await storage.stop();
    await floor.stop();
    await withHeaders.stop();
    await normal.stop();
    await memory.stop();
    await emulator.stop();
  }
  return { connections: CONNECTIONS, seconds: LOAD_SECONDS, rounds: ROUNDS, pacedRounds: PACED_ROUNDS, ...results };
}

/** An exported state whose default vault holds `count` secrets of one version each. */
function stateWith(exported, count) {
  const now = Math.floor(Date.now() / 1000);
  const vault = exported.vaults.find((v) => v.name === 'default') ?? exported.vaults[0];
  const secrets = [];
  for (let i = 0; i < count; i++) {
    secrets.push({
      name: `scale-${i}`,
      managed: false,
      versions: [{ version: (i.toString(16).padStart(8, '0') + 'a'.repeat(24)).slice(0, 32), value: SECRET_VALUE, attributes: { enabled: true, created: now, updated: now } }],
    });
  }
  return { ...exported, vaults: [{ ...vault, secrets }] };
}

/** An emulator whose default vault holds `size` secrets, loaded through the admin import, then restarted. */
async function emulatorWith(base, size) {
  const dataDir = dataDirSharingKeys(base);
  scratch.push(dataDir);
  const loading = await startEmulator({ dataDir });
  try {
    const client = await clientOf(loading);
    const imported = await client.admin('/import', { method: 'POST', body: stateWith(await client.admin('/export'), size) });
    if (imported.secrets !== size) throw new Error(`imported ${imported.secrets} secrets, expected ${size}`);
  } finally {
    await loading.stop();
  }
  const emulator = await startEmulator({ dataDir });
  return { emulator, client: await clientOf(emulator) };
}

async function scale(base) {
  log(`scale: ${SCALE_SIZES.join(' and ')} secrets (loaded through the admin import, then a restart)`);
  const targets = [];
  try {
    for (const size of SCALE_SIZES) targets.push({ size, ...(await emulatorWith(base, size)) });
    const runs = Object.fromEntries(SCALE_SIZES.map((size) => [size, { gets: [], pages: [] }]));
    // The load generator alternates between the sizes request by request, so a busy moment of the
    // machine weighs on both alike.
    const sequential = (kind) =>
      runLoad({
        mode: 'sequential',
        kind,
        durationMs: SEQUENTIAL_MS,
        targets: targets.map(({ size, emulator, client }) => ({
          origin: emulator.origin,
          ca: client.ca,
          headers: { authorization: `Bearer ${client.token}` },
          prefix: 'scale-',
          total: size,
          firstPath: '/secrets?api-version=7.6&maxresults=25',
        })),
      });
    for (let r = 0; r < ROUNDS; r++) {
      log(`scale: round ${r + 1}/${ROUNDS}`);
      const gets = await sequential('get-random');
      const pages = await sequential('pages');
      targets.forEach(({ size }, i) => {
        runs[size].gets.push(gets[i]);
        runs[size].pages.push(pages[i]);
      });
    }
    const bySize = {};
    for (const { size, emulator } of targets) {
      const { gets, pages } = runs[size];
      for (const run of [...gets, ...pages]) {
        const bad = Object.keys(run.statuses).filter((s) => s !== '200');
        if (bad.length > 0) throw new Error(`scale ${size}: answers ${JSON.stringify(run.statuses)}`);
      }
      const memory = residentMemory(emulator.pid);
      bySize[size] = {
        getP50Ms: round(median(gets.map((g) => g.latency.p50)), 3),
        getP99Ms: round(median(gets.map((g) => g.latency.p99)), 3),
        pageP50Ms: round(median(pages.map((p) => p.latency.p50)), 3),
        pageP99Ms: round(median(pages.map((p) => p.latency.p99)), 3),
        pagesFollowed: Math.max(...pages.map((p) => p.pagesFollowed)),
        rssBytes: memory.rss,
        peakRssBytes: memory.peak,
      };
    }
    const [small, large] = SCALE_SIZES;
    return {
      sizes: SCALE_SIZES,
      bySize,
      getRatio: round(bySize[large].getP50Ms / bySize[small].getP50Ms, 2),
      pageRatio: round(bySize[large].pageP50Ms / bySize[small].pageP50Ms, 2),
    };
  } finally {
    for (const { emulator } of targets) await emulator.stop();
  }
}

/**
 * Every figure as a row: the emulator's value, its reference (measured in the same run) and the ratio to
 * it, and the budget that judges it, if any. `headline` rows go into the README.
 */
function figures(results) {
  const rows = [];
  const row = (r) =>
    rows.push({
      unit: '',
      ...r,
      ...(r.budget !== undefined && { ok: r.check(r.ratio ?? r.value) }),
      ...(r.budget !== undefined && r.rounds && { roundsMet: r.rounds.filter((v) => r.check(v)).length }),
      check: undefined,
    });
  const ms = (v) => `${v} ms`;
  const { starts: c, journeys: j, contracts: k, load: l, scale: sc, commits: cm, proxy: px } = results;
  if (c) {
    row({ name: 'Spawn to listening, existing data directory', value: c.listeningMs, unit: 'ms', budget: `< ${BUDGET.listeningMs} ms`, check: (v) => v < BUDGET.listeningMs });
    row({ name: 'Spawn to the first getSecret through the SDK, existing data directory', value: c.firstSdkReadMs, unit: 'ms', budget: `< ${BUDGET.firstReadMs} ms`, check: (v) => v < BUDGET.firstReadMs, headline: 'Start to the first SDK read (existing data directory)' });
    row({
      name: 'First start on a new data directory (CA, certificate and keys made), spawn to the first HTTPS answer',
      value: c.firstStartNewDataDirMs,
      unit: 'ms',
      reference: `bare Fastify HTTPS cold start ${ms(c.bareColdStartMs)}`,
      ratio: c.firstStartRatio,
      budget: `≤ ${BUDGET.firstStartRatio}`,
      check: (v) => v <= BUDGET.firstStartRatio,
      headline: 'First start on a new data directory (every CI job, every new container)',
    });
    row({ name: '`start --in-memory` in an empty directory to the first SDK read (what a test suite pays per emulator)', value: c.memoryStartToFirstReadMs, unit: 'ms', headline: '`start --in-memory` to the first SDK read (per test suite)' });
  }
  if (j) {
    row({
      name: `The SDK journeys of the ${j.recordings} real-Azure recordings (${j.requests} requests), replayed`,
      value: j.emulatorSeconds,
      unit: 's',
      reference: `real Azure, from their Date headers: ${j.realAzureSeconds} s`,
      ratio: j.speedup,
      ratioText: `${j.speedup}× faster`,
      headline: `The ${j.recordings} recorded real-Azure SDK journeys`,
    });
  }
  if (k) row({ name: `\`npm test\`'s contract project (${k.tests})`, value: k.seconds, unit: 's', headline: 'The contract tests (real SDKs against the emulator)' });
  if (l) {
    // A budgeted rate also keeps its rounds' ratios: the verdict is told beside how far they spread.
    const rate = (r, reference, refRps, ratio, budget, check, headline, rounds) =>
      row({ name: r.operation, value: r.emulatorRps, unit: 'requests/s', reference: `${reference} ${refRps}/s`, ratio, ...(budget && { budget, check }), ...(headline && { headline }), ...(rounds && { rounds }) });
    rate(l.get, 'bare Fastify', l.get.bareRps, l.get.ratio, `≥ ${BUDGET.getRatio}`, (v) => v >= BUDGET.getRatio, 'Authenticated gets against bare Fastify (bench load generator)', l.get.roundRatios);
    if (l.get.headersRps !== undefined) {
      rate(l.get, "bare Fastify sending Key Vault's response headers too", l.get.headersRps, l.get.headersRatio);
      row({ name: "Bare Fastify sending Key Vault's response headers too, against bare Fastify (what the headers cost)", value: l.get.headersRps, unit: 'requests/s', reference: `bare Fastify ${l.get.bareRps}/s`, ratio: l.get.headersVsBareRatio });
    }
    if (l.getCli) rate({ operation: `GET /secrets/{name}, the autocannon command at ${l.getCli.connections} connections` , emulatorRps: l.getCli.emulatorRps }, 'bare Fastify', l.getCli.bareRps, l.getCli.ratio, `≥ ${BUDGET.getCliRatio}`, (v) => v >= BUDGET.getCliRatio, `Authenticated gets against bare Fastify (autocannon, ${l.getCli.connections} connections)`, l.getCli.roundRatios);
    rate(l.list, 'bare Fastify', l.list.bareRps, l.list.ratio, `≥ ${BUDGET.listRatio}`, (v) => v >= BUDGET.listRatio, 'A page of 25 against bare Fastify', l.list.roundRatios);
    rate(l.set, 'the least durable write', l.set.floorRps, l.set.floorRatio, `≥ ${BUDGET.setFloorRatio}`, (v) => v >= BUDGET.setFloorRatio, 'Durable sets against the least durable write', l.set.floorRoundRatios);
    rate(l.setMemory, 'bare Fastify', l.setMemory.bareRps, l.setMemory.ratio, `≥ ${BUDGET.setMemoryRatio}`, (v) => v >= BUDGET.setMemoryRatio, '`--in-memory` sets against bare Fastify', l.setMemory.roundRatios);
    rate({ ...l.set, operation: `${l.set.operation}, durable` }, 'bare Fastify', l.set.bareRps, l.set.ratio);
    rate({ ...l.set, operation: `${l.set.operation}, durable` }, "bare Fastify doing the emulator's storage work", l.set.storageRps, l.set.storageRatio);
    rate(l.setNormal, 'bare Fastify', l.setNormal.bareRps, l.setNormal.ratio);
    row({ name: 'The least durable write (one row synced before the answer) against bare Fastify', value: l.set.floorRps, unit: 'requests/s', reference: `bare Fastify ${l.set.bareRps}/s`, ratio: l.set.floorVsBareRatio });
    for (const op of ['get', 'list']) rate(l[op], "bare Fastify doing the emulator's storage work", l[op].storageRps, l[op].storageRatio);
    for (const op of ['get', 'list', 'set']) {
      const r = l[op];
      row({ name: `${r.operation}, p99 at half the emulator's peak (${r.halfPeakRps}/s)`, value: r.emulatorP99AtHalfPeakMs, unit: 'ms', reference: `bare Fastify ${ms(r.bareP99AtHalfPeakMs)}`, budget: `< ${BUDGET.p99AtHalfPeakMs} ms`, check: (v) => v < BUDGET.p99AtHalfPeakMs });
      row({ name: `${r.operation}, one request at a time, p50 (servers taking turns)`, value: r.serviceP50Ms, unit: 'ms', reference: `bare Fastify ${ms(r.bareServiceP50Ms)}, with the store ${ms(r.storageServiceP50Ms)}`, ratio: round(r.bareServiceP50Ms / r.serviceP50Ms, 2) });
    }
    for (const op of ['get', 'list', 'set', 'setMemory', 'setNormal']) {
      const r = l[op];
      const also = [
        ...(r.headersCpuMicrosPerRequest !== undefined ? [`with Key Vault's headers ${r.headersCpuMicrosPerRequest} µs`] : []),
        ...(r.floorCpuMicrosPerRequest !== undefined ? [`the least durable write ${r.floorCpuMicrosPerRequest} µs`] : []),
      ];
      row({ name: `${r.operation}, server CPU per request at peak`, value: r.emulatorCpuMicrosPerRequest, unit: 'µs', reference: `bare Fastify ${r.bareCpuMicrosPerRequest} µs${also.map((text) => `, ${text}`).join('')}` });
    }
  }
  if (sc) {
    const [small, large] = sc.sizes;
    const s = sc.bySize[small];
    const lg = sc.bySize[large];
    row({ name: `Get latency p50, ${large} secrets`, value: lg.getP50Ms, unit: 'ms', reference: `${small} secrets ${ms(s.getP50Ms)}`, ratio: sc.getRatio, budget: `< ${BUDGET.scaleRatio}`, check: (v) => v < BUDGET.scaleRatio });
    row({ name: `Page-of-25 latency p50, ${large} secrets`, value: lg.pageP50Ms, unit: 'ms', reference: `${small} secrets ${ms(s.pageP50Ms)}`, ratio: sc.pageRatio, budget: `< ${BUDGET.scaleRatio}`, check: (v) => v < BUDGET.scaleRatio });
    row({ name: `Resident memory with ${large} secrets`, value: round(lg.rssBytes / 1024 ** 2, 0), unit: 'MB', reference: `${small} secrets ${round(s.rssBytes / 1024 ** 2, 0)} MB`, budget: `< ${BUDGET.rssBytes / 1024 ** 2} MB`, check: (v) => v < BUDGET.rssBytes / 1024 ** 2, headline: `Resident memory with ${large.toLocaleString('en')} secrets` });
  }
  if (cm) {
    row({ name: `Commit of ${cm.writesPerCommit} writes, event-loop time, mean / max (checkpoints on a worker)`, value: `${cm.workerCheckpoints.meanMicros} / ${cm.workerCheckpoints.maxMicros}`, unit: 'µs', reference: `SQLite's own checkpoints ${cm.sqliteCheckpoints.meanMicros} / ${cm.sqliteCheckpoints.maxMicros} µs`, ratio: cm.meanRatio });
  }
  if (px) {
    row({ name: 'Get p50 through the HTTPS proxy, added to the direct port', value: px.getAddedP50Ms, unit: 'ms', reference: `direct ${ms(px.getDirectP50Ms)}`, budget: `≤ ${PROXY_BUDGET.addedGetP50Ms} ms`, check: (v) => v <= PROXY_BUDGET.addedGetP50Ms });
  }
  return rows;
}

const valueText = (r) => `${r.value}${r.unit ? ` ${r.unit}` : ''}`;

/** How far a budgeted ratio's rounds spread, when it has rounds: a verdict inside that spread is the machine's as much as the code's. */
const spreadText = (r) => {
  if (!r.rounds || r.rounds.length < 2) return '';
  const low = Math.min(...r.rounds);
  const high = Math.max(...r.rounds);
  return `; its ${r.rounds.length} rounds ${low} to ${high}${r.roundsMet === undefined ? '' : `, ${r.roundsMet} within budget`}`;
};

/** The full table, for the terminal and docs/performance.md. */
function table(results, quick = QUICK) {
  const m = results.machine;
  const lines = [
    `Measured ${m.date.slice(0, 10)} at commit ${m.commit} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os} (load average ${m.loadAverageAtStart} at the start),`,
    `by \`npm run bench\`${quick ? ' --quick' : ''} in ${round(results.seconds / 60, 1)} minutes. Medians of ${results.load?.rounds ?? ROUNDS} rounds; a ratio is the median of the rounds' ratios, each round's runs seconds apart.`,
    '',
    '| Figure | Emulator | Reference (same run) | Ratio | Budget |',
    '|---|---|---|---|---|',
  ];
  for (const r of results.figures) {
    const budget = r.budget === undefined ? '' : `${r.budget} ${r.ok ? '(met)' : '(**missed**)'}`;
    lines.push(`| ${r.name} | ${valueText(r)} | ${r.reference ?? ''} | ${r.ratioText ?? r.ratio ?? ''} | ${budget} |`);
  }
  if (results.proxy) lines.push('', '| HTTPS proxy | Through the proxy | Direct | |', '|---|---|---|---|', ...proxyTable(results.proxy));
  const missed = results.figures.filter((r) => r.ok === false);
  lines.push('', missed.length === 0 ? 'Every budget was met in this run.' : `Missed in this run: ${missed.map((r) => `${r.name} (${r.ratio ?? valueText(r)}, budget ${r.budget})`).join('; ')}.`);
  return lines.join('\n');
}

/** The README's short table. */
function headlines(results) {
  const lines = ['| Figure | Emulator | Against | Budget |', '|---|---|---|---|'];
  for (const r of results.figures.filter((x) => x.headline)) {
    const against = !r.reference ? '' : r.ratioText ? `${r.ratioText} (${r.reference})` : r.ratio !== undefined ? `${r.ratio} of ${r.reference}` : r.reference;
    lines.push(`| ${r.headline} | ${valueText(r)} | ${against} | ${r.budget === undefined ? '' : `${r.budget}${r.ok ? '' : ' (missed)'}`} |`);
  }
  lines.push('', `Measured ${results.machine.date.slice(0, 10)} on ${results.machine.cpus} × ${results.machine.cpuModel} (\`npm run bench\`; every figure, its reference and the measurement record: [docs/performance.md](docs/performance.md)).`);
  return lines.join('\n');
}

/** Replaces the block between the markers in `file`; false if it has none. */
function replaceBlock(file, block) {
  const path = join(ROOT, file);
  if (!existsSync(path)) return false;
  const text = readFileSync(path, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) return false;
  writeFileSync(path, `${text.slice(0, start + begin.length)}\n${block}\n${text.slice(stop)}`);
  return true;
}

async function main() {
  if (REWRITE) {
    const stored = JSON.parse(readFileSync(join(ROOT, 'bench/results.json'), 'utf8'));
    stored.figures = figures(stored);
    writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(stored, null, 2)}\n`);
    replaceBlock('docs/performance.md', table(stored, stored.quick));
    replaceBlock('README.md', headlines(stored));
    process.stderr.write('rewrote the tables of docs/performance.md and README.md from bench/results.json\n');
    return;
  }
  const started = performance.now();
  const results = { machine: machine() };
  const minutes = Math.round(progress.estimateSeconds / 60);
  process.stderr.write(
    `npm run bench${QUICK ? ' --quick' : ''}: ${selected.join(', ')}; about ${minutes <= 1 ? 'a minute' : `${minutes} minutes`} on a quiet 2-core machine (longer on a busy one).\n` +
      (WRITE ? 'The figures will be stored (--write).\n' : 'Nothing is written (--write stores the figures).\n'),
  );
  log(`machine: ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}, load average ${results.machine.loadAverageAtStart}`);
  const base = await prepareBase();
  if (selected.includes('starts')) {
    progress.phase('starts');
    results.starts = await starts(base);
  }
  if (selected.includes('journeys')) {
    progress.phase('journeys');
    results.journeys = await journeyFigures({ log });
  }
  if (selected.includes('contracts')) {
    progress.phase('contracts');
    results.contracts = await contractsTime();
  }
  if (selected.includes('load')) {
    progress.phase('load');
    results.load = await throughput(base);
  }
  if (selected.includes('scale')) {
    progress.phase('scale');
    results.scale = await scale(base);
  }
  if (selected.includes('commits')) {
    progress.phase('commits');
    results.commits = commitStalls({ rounds: QUICK ? 1 : 3, log });
  }
  if (selected.includes('proxy')) {
    progress.phase('proxy');
    results.proxy = await proxyFigures({ quick: QUICK, log });
  }
  results.seconds = round((performance.now() - started) / 1000, 0);
  results.quick = QUICK;
  results.figures = figures(results);
  process.stdout.write(`\n${table(results)}\n\n`);
  for (const r of results.figures.filter((x) => x.budget !== undefined)) {
    process.stdout.write(`${r.ok ? 'ok    ' : 'MISSED'}  ${r.name}: ${r.ratio !== undefined ? `${r.ratio} (${valueText(r)}, ${r.reference})` : valueText(r)}, budget ${r.budget}${spreadText(r)}\n`);
  }
  log(`done in ${round(results.seconds / 60, 1)} minutes`);
  if (!WRITE || QUICK) {
    log(WRITE ? '--quick: nothing written' : 'nothing written (--write stores the figures in bench/results.json, docs/performance.md and README.md)');
    return;
  }
  const file = join(ROOT, 'bench/results.json');
  // With --only, the parts not run this time keep their previous figures.
  const previous = ONLY && existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const merged = { ...previous, ...results };
  merged.figures = figures(merged);
  writeFileSync(file, `${JSON.stringify(merged, null, 2)}\n`);
  const wrote = ['bench/results.json'];
  if (replaceBlock('docs/performance.md', table(merged))) wrote.push('docs/performance.md');
  if (replaceBlock('README.md', headlines(merged))) wrote.push('README.md');
  log(`wrote ${wrote.join(', ')}`);
}

try {
  await main();
} finally {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}
