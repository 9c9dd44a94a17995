// `npm run bench`: the emulator's published speed and footprint figures, each a median of several runs,
// measured through the real CLI over real HTTPS, with the load generator in its own process:
//   - cold start: spawn to listening, and spawn to the first authenticated getSecret through the real SDK;
//   - throughput and latency of get, set and list-a-page against a bare Fastify HTTPS server started in
//     the same run that answers the same bodies (ratios within one run: the machine may be shared), and
//     against that server doing the emulator's storage work as well (bench/storage-server.mjs), which
//     tells the emulator's own layers apart from what its durable store costs; for writes, against the
//     least durable write too (bench/durable-floor-server.mjs: one row synced before the answer), the
//     most any server that syncs its writes in SQLite reaches on the machine; and the three servers'
//     service times, one request at a time, taking turns request by request (steadier than rates);
//   - scale: get and page latency with 100 and with 100,000 secrets, and resident memory at 100,000;
//   - commits: event-loop time of a commit, SQLite's automatic checkpoints against the emulator's
//     background checkpoints (bench/commits.mjs);
//   - the HTTPS proxy: a get through a tunnel against the direct port, handshakes, start time
//     (bench/proxy.mjs, which also runs on its own).
// Prints a table, writes bench/results.json and refreshes the figures block of the README.
// Options: --quick (shorter runs, for trying the script; results are not written).
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { commitStalls } from './commits.mjs';
import { PROXY_BUDGET, proxyFigures, proxyTable } from './proxy.mjs';
import { childEnv, clientOf, cpuTimeMs, dataDirSharingKeys, median, RESOLVER, residentMemory, ROOT, round, runLoad, startEmulator, stopChild } from './lib.mjs';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 5;
const COLD_RUNS = QUICK ? 3 : 9;
const LOAD_SECONDS = QUICK ? 2 : 5;
const CONNECTIONS = 10;
const SCALE_SIZES = QUICK ? [100, 10_000] : [100, 100_000];
const SEQUENTIAL_MS = QUICK ? 3000 : 6000;

const BUDGET = {
  listeningMs: 300,
  firstReadMs: 800,
  rpsRatio: 0.5,
  p99AtHalfPeakMs: 10,
  scaleRatio: 1.3,
  rssBytes: 150 * 1024 * 1024,
};

const log = (line) => process.stderr.write(`${line}\n`);
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

async function coldStart(base) {
  log(`cold start: ${COLD_RUNS} starts, each read through the SDK`);
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
  log('first start: a new data directory (CA, keys and certificate generated)');
  const firstStarts = [];
  for (let i = 0; i < Math.min(3, COLD_RUNS); i++) {
    const emulator = await startEmulator({ dataDir: tempDir('kv-bench-first-') });
    firstStarts.push(emulator.listeningAt - emulator.spawnedAt);
    await emulator.stop();
  }
  return {
    runs: samples.length,
    listeningMs: round(median(samples.map((s) => s.listeningMs)), 0),
    firstSdkReadMs: round(median(samples.map((s) => s.firstReadMs)), 0),
    firstStartNewDataDirMs: round(median(firstStarts), 0),
  };
}

/** bench/bare-server.mjs, or bench/storage-server.mjs with `script`. */
function startBare(dataDir, bodiesFile, script = 'bench/bare-server.mjs') {
  const child = spawn(process.execPath, [join(ROOT, script), dataDir, bodiesFile], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const match = /listening on (https:\/\/\S+)/.exec(out);
      if (match) resolvePromise({ child, origin: match[1], stop: () => stopChild(child) });
    });
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
}

/**
 * ROUNDS runs of each measurement, taking turns, each round starting one further along (with two: which
 * goes first alternates); resolves one array of runs per measurement.
 */
async function rotating(measurements, onRound = () => {}) {
  const runs = measurements.map(() => []);
  for (let i = 0; i < ROUNDS; i++) {
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
  const client = await clientOf(emulator);
  const auth = { authorization: `Bearer ${client.token}` };
  for (let i = 0; i < 30; i++) await client.request(`/secrets/bench-list-${String(i).padStart(2, '0')}`, { method: 'PUT', body: { value: SECRET_VALUE } });
  const setBody = { value: SECRET_VALUE, contentType: 'text/plain', tags: { env: 'bench' } };
  const bodies = {
    get: (await client.request('/secrets/bench-list-00')).body,
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
  const pids = {
    [emulator.origin]: emulator.pid,
    [normal.origin]: normal.pid,
    [bare.origin]: bare.child.pid,
    [storage.origin]: storage.child.pid,
    [floor.origin]: floor.child.pid,
  };

  const set = {
    label: 'PUT /secrets/{name} (setSecret, one write each)',
    method: 'PUT',
    pathTemplate: `/secrets/bench-set-{i}?api-version=7.6`,
    body: setBody,
    bodyBytes: Buffer.byteLength(bodies.set),
  };
  const operations = [
    { name: 'get', label: 'GET /secrets/{name}', method: 'GET', path: `/secrets/bench-list-00?api-version=7.6`, bodyBytes: Buffer.byteLength(bodies.get), target: emulator },
    { name: 'list', label: 'GET /secrets?maxresults=25 (a page of 25)', method: 'GET', path: `/secrets?api-version=7.6&maxresults=25`, bodyBytes: Buffer.byteLength(bodies.list), target: emulator },
    { name: 'set', ...set, target: emulator, withFloor: true },
    // Against the bare server only: the storage reference syncs as the default durability does.
    { name: 'setNormal', ...set, label: `${set.label}, durability "normal"`, target: normal, withoutStorage: true },
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
      // Rounds take turns at which server goes first, and each round's ratio compares runs seconds
      // apart: the figure is the median of those paired ratios, so a slow minute of a shared machine
      // moves one round, not the result.
      const servers = [
        ['emulator', () => load(op.target.origin)],
        ['bare Fastify', () => load(bare.origin)],
        ...(op.withoutStorage ? [] : [['bare Fastify with the store', () => load(storage.origin)]]),
        ...(op.withFloor ? [['bare Fastify with the least durable write', () => load(floor.origin)]] : []),
      ];
      const [emuRuns, bareRuns, storageRuns, floorRuns] = await rotating(
        servers.map(([, run]) => run),
        (i, first) => log(`${op.name}: round ${i + 1}/${ROUNDS} at full speed (${servers.map((_, k) => servers[(first + k) % servers.length][0]).join(', then ')})`),
      );
      const emuPeak = median(emuRuns.map((r) => r.rps));
      const barePeak = median(bareRuns.map((r) => r.rps));
      const halfRate = Math.max(1, Math.round(emuPeak / 2));
      log(`${op.name}: open-loop at half the emulator's peak (${halfRate} requests/s), emulator and bare Fastify alternating`);
      const paced = (origin) => measure(origin, { mode: 'paced', ca: client.ca, rate: halfRate });
      const [halfRuns, bareHalfRuns] = await rotating([() => paced(op.target.origin), () => paced(bare.origin)]);
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
        halfPeakRps: round(median(halfRuns.map((r) => r.rps)), 0),
        emulatorP50AtHalfPeakMs: round(median(halfRuns.map((r) => r.latency.p50)), 2),
        emulatorP99AtHalfPeakMs: round(median(halfRuns.map((r) => r.latency.p99)), 2),
        emulatorCpuMicrosPerRequestAtHalfPeak: round(median(halfRuns.map((r) => r.cpuMicrosPerRequest)), 0),
        bareCpuMicrosPerRequestAtHalfPeak: round(median(bareHalfRuns.map((r) => r.cpuMicrosPerRequest)), 0),
        bareP50AtHalfPeakMs: round(median(bareHalfRuns.map((r) => r.latency.p50)), 2),
        bareP99AtHalfPeakMs: round(median(bareHalfRuns.map((r) => r.latency.p99)), 2),
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
          floorCpuMicrosPerRequest: round(median(floorRuns.map((r) => r.cpuMicrosPerRequest)), 0),
          floorVsBareRatio: round(median(floorRuns.map((r, i) => r.rps / bareRuns[i].rps)), 2),
          floorVsBareRoundRatios: floorRuns.map((r, i) => round(r.rps / bareRuns[i].rps, 2)),
        }),
        ...service,
      };
    }
    results.emulatorRssAfterLoadBytes = residentMemory(emulator.pid).rss;
  } finally {
    await bare.stop();
    await storage.stop();
    await floor.stop();
    await normal.stop();
    await emulator.stop();
  }
  return { connections: CONNECTIONS, seconds: LOAD_SECONDS, rounds: ROUNDS, ...results };
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

function budgets(results) {
  const { cold, load, scale: sc } = results;
  const large = sc.bySize[sc.sizes[1]];
  const rows = [
    ['spawn to listening', cold.listeningMs, `< ${BUDGET.listeningMs} ms`, cold.listeningMs < BUDGET.listeningMs, 'ms'],
    ['spawn to first SDK getSecret', cold.firstSdkReadMs, `< ${BUDGET.firstReadMs} ms`, cold.firstSdkReadMs < BUDGET.firstReadMs, 'ms'],
  ];
  for (const op of ['get', 'set', 'list']) {
    rows.push([`${op}: emulator / bare Fastify requests/s`, load[op].ratio, `>= ${BUDGET.rpsRatio}`, load[op].ratio >= BUDGET.rpsRatio, '']);
    rows.push([`${op}: p99 at half the emulator's peak`, load[op].emulatorP99AtHalfPeakMs, `< ${BUDGET.p99AtHalfPeakMs} ms`, load[op].emulatorP99AtHalfPeakMs < BUDGET.p99AtHalfPeakMs, 'ms']);
  }
  rows.push([`get p50 latency, ${sc.sizes[1]} / ${sc.sizes[0]} secrets`, sc.getRatio, `< ${BUDGET.scaleRatio}`, sc.getRatio < BUDGET.scaleRatio, '']);
  rows.push([`page p50 latency, ${sc.sizes[1]} / ${sc.sizes[0]} secrets`, sc.pageRatio, `< ${BUDGET.scaleRatio}`, sc.pageRatio < BUDGET.scaleRatio, '']);
  if (results.proxy) {
    const added = results.proxy.getAddedP50Ms;
    rows.push(['get p50 through the HTTPS proxy, added to the direct port', added, `<= ${PROXY_BUDGET.addedGetP50Ms} ms`, added <= PROXY_BUDGET.addedGetP50Ms, 'ms']);
  }
  const mb = round(large.rssBytes / 1024 ** 2, 0);
  rows.push([`resident memory with ${sc.sizes[1]} secrets`, mb, `< ${BUDGET.rssBytes / 1024 ** 2} MB`, large.rssBytes < BUDGET.rssBytes, 'MB']);
  return rows.map(([name, value, budget, ok, unit]) => ({ name, value, unit, budget, ok }));
}

function markdown(results) {
  const { machine: m, cold, load, scale: sc } = results;
  const [small, large] = sc.sizes;
  const s = sc.bySize[small];
  const l = sc.bySize[large];
  const lines = [
    `Measured ${m.date.slice(0, 10)} at commit ${m.commit} on ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}, ${m.os}`,
    `(\`npm run bench\`; medians of ${load.rounds} runs of ${load.seconds} s over HTTPS with a bearer token, emulator, bare server and bare server with the emulator's store taking turns; a ratio is the median of the ${load.rounds} rounds' ratios; peak rates by autocannon with ${load.connections} connections, latencies at half the peak by an open-loop client at that fixed rate; load generators in their own processes).`,
    '',
    '| Figure | Emulator | Bare Fastify (same body) | Ratio / budget |',
    '|---|---|---|---|',
    `| Spawn to listening (median of ${cold.runs}) | ${cold.listeningMs} ms | | budget < ${BUDGET.listeningMs} ms |`,
    `| Spawn to first \`getSecret\` through the SDK | ${cold.firstSdkReadMs} ms | | budget < ${BUDGET.firstReadMs} ms |`,
    `| First start on a new data directory (keys generated) | ${cold.firstStartNewDataDirMs} ms | | |`,
  ];
  for (const op of ['get', 'set', 'setNormal', 'list']) {
    const r = load[op];
    // The durability "normal" figures are for comparison: the budgets apply to the default.
    const budgeted = op !== 'setNormal';
    lines.push(`| ${r.operation}, requests/s | ${r.emulatorRps} | ${r.bareRps} | ${r.ratio}${budgeted ? ` (budget ≥ ${BUDGET.rpsRatio})` : ''} |`);
    if (r.storageRps !== undefined) {
      lines.push(
        `| ${r.operation}, requests/s against bare Fastify doing the emulator's storage work (bench/storage-server.mjs) | ${r.emulatorRps} | ${r.storageRps} | ${r.storageRatio} (that server against bare Fastify: ${r.storageVsBareRatio}) |`,
      );
    }
    if (r.floorRps !== undefined) {
      lines.push(
        `| ${r.operation}, requests/s against bare Fastify doing the least durable write, one row synced before the answer (bench/durable-floor-server.mjs) | ${r.emulatorRps} | ${r.floorRps} | ${r.floorRatio} (that server against bare Fastify: ${r.floorVsBareRatio}: the most a write synced in SQLite reached on this machine) |`,
      );
    }
    if (r.serviceP50Ms !== undefined) {
      lines.push(
        `| ${r.operation}, p50 one request at a time, servers taking turns: emulator / bare Fastify / bare Fastify with the store | ${r.serviceP50Ms} ms | ${r.bareServiceP50Ms} / ${r.storageServiceP50Ms} ms | bare / emulator ${round(r.bareServiceP50Ms / r.serviceP50Ms, 2)}, with the store / emulator ${round(r.storageServiceP50Ms / r.serviceP50Ms, 2)} |`,
      );
    }
    lines.push(`| ${r.operation}, server CPU per request at peak / at half peak | ${r.emulatorCpuMicrosPerRequest} / ${r.emulatorCpuMicrosPerRequestAtHalfPeak} µs | ${r.bareCpuMicrosPerRequest} / ${r.bareCpuMicrosPerRequestAtHalfPeak} µs | |`);
    lines.push(`| ${r.operation}, p50 / p99 at ${r.halfPeakRps} requests/s (half peak) | ${r.emulatorP50AtHalfPeakMs} / ${r.emulatorP99AtHalfPeakMs} ms | ${r.bareP50AtHalfPeakMs} / ${r.bareP99AtHalfPeakMs} ms | ${budgeted ? `budget p99 < ${BUDGET.p99AtHalfPeakMs} ms` : ''} |`);
  }
  lines.push(`| Get latency p50 / p99, ${small} → ${large} secrets | ${s.getP50Ms} / ${s.getP99Ms} → ${l.getP50Ms} / ${l.getP99Ms} ms | | ${sc.getRatio} (budget < ${BUDGET.scaleRatio}) |`);
  lines.push(`| Page-of-25 latency p50 / p99, ${small} → ${large} secrets | ${s.pageP50Ms} / ${s.pageP99Ms} → ${l.pageP50Ms} / ${l.pageP99Ms} ms | | ${sc.pageRatio} (budget < ${BUDGET.scaleRatio}) |`);
  lines.push(`| Resident memory with ${small} → ${large} secrets | ${round(s.rssBytes / 1024 ** 2, 0)} → ${round(l.rssBytes / 1024 ** 2, 0)} MB | | budget < ${BUDGET.rssBytes / 1024 ** 2} MB |`);
  const c = results.commits;
  const stalls = (x) => `${x.meanMicros} / ${x.p999Micros} / ${x.maxMicros} µs, ${x.overOneMs} over 1 ms`;
  lines.push(
    `| Commit of ${c.writesPerCommit} writes, time on the event loop, mean / p99.9 / max of ${c.workerCheckpoints.commits} | ${stalls(c.workerCheckpoints)} (checkpoints on a worker) | | against SQLite's own checkpoints (${stalls(c.sqliteCheckpoints)}): mean ${c.meanRatio}, max ${c.maxRatio} |`,
  );
  if (results.proxy) lines.push(...proxyTable(results.proxy));
  const missed = results.budgets.filter((b) => !b.ok);
  lines.push('');
  lines.push(missed.length === 0 ? 'Every budget was met in this run.' : `Over budget in this run: ${missed.map((b) => `${b.name} (${b.value}${b.unit ? ` ${b.unit}` : ''}, budget ${b.budget})`).join('; ')}.`);
  return lines.join('\n');
}

function updateReadme(block) {
  const file = join(ROOT, 'README.md');
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) {
    log('README.md has no bench block; figures not copied there');
    return;
  }
  writeFileSync(file, `${text.slice(0, start + begin.length)}\n${block}\n${text.slice(stop)}`);
}

async function main() {
  const results = { machine: machine() };
  log(`machine: ${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}`);
  const base = await prepareBase();
  results.cold = await coldStart(base);
  results.load = await throughput(base);
  results.scale = await scale(base);
  results.commits = commitStalls({ rounds: QUICK ? 1 : 3, log });
  results.proxy = await proxyFigures({ quick: QUICK, log });
  results.budgets = budgets(results);
  const block = markdown(results);
  process.stdout.write(`\n${block}\n\n`);
  for (const b of results.budgets) process.stdout.write(`${b.ok ? 'ok  ' : 'OVER'}  ${b.name}: ${b.value}${b.unit ? ` ${b.unit}` : ''} (budget ${b.budget})\n`);
  if (QUICK) {
    log('--quick: results not written');
    return;
  }
  writeFileSync(join(ROOT, 'bench/results.json'), `${JSON.stringify(results, null, 2)}\n`);
  updateReadme(block);
  log('wrote bench/results.json and the README figures');
}

try {
  await main();
} finally {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}
