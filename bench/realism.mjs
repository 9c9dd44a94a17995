// `node bench/realism.mjs [--baseline path/to/another/build/emulator/dist/cli.mjs] [--quick]`: what realism
// costs a request. Emulators started side by side through the real CLI, sharing keys, in one run:
//   - "off": this build as it starts by default (realism off: one flag check per request);
//   - "realistic": this build with --realistic (consistency windows and the request limits, the limits
//     scaled up 1000x so nothing is throttled: the cost of counting, not of 429s);
//   - "baseline" (with --baseline): another build, e.g. the commit before realism existed.
// For get, set and list-a-page: service time one request at a time, the emulators taking turns request
// by request (a busy moment of a shared machine weighs on each alike), then peak rates by autocannon in
// alternating rounds. Prints medians and ratios against "off"; writes nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { childEnv, CLI, clientOf, dataDirSharingKeys, median, round, runLoad, stopChild } from './lib.mjs';

const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const baselineAt = args.indexOf('--baseline');
const BASELINE = baselineAt >= 0 ? resolve(args[baselineAt + 1]) : undefined;
const ROUNDS = QUICK ? 2 : 5;
const SECONDS = QUICK ? 2 : 4;
const SEQUENTIAL_MS = QUICK ? 3000 : 8000;
const log = (line) => process.stderr.write(`${line}\n`);

function start(cli, dataDir, extra = []) {
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--data-dir', dataDir, '--log-level', 'error', ...extra], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv() });
  return new Promise((done, fail) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`did not start:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        done({ child, dataDir, origin: `https://localhost:${match[1]}`, stop: () => stopChild(child) });
      }
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => fail(new Error(`exited with ${code}:\n${output}`)));
  });
}

const scratch = [];
const firstDir = mkdtempSync(join(tmpdir(), 'kv-bench-realism-'));
scratch.push(firstDir);
const off = await start(CLI, firstDir);
const config = join(firstDir, 'realistic.json');
writeFileSync(config, JSON.stringify({ realism: { limits: { scale: 1000 } } }));
const sharedDir = () => {
  const dir = dataDirSharingKeys(firstDir);
  scratch.push(dir);
  return dir;
};
const realistic = await start(CLI, sharedDir(), ['--realistic', '--config', config]);
const baseline = BASELINE ? await start(BASELINE, sharedDir()) : undefined;
const servers = [['off', off], ['realistic', realistic], ...(baseline ? [['baseline', baseline]] : [])];

try {
  const client = await clientOf(off);
  const auth = { authorization: `Bearer ${client.token}` };
  for (const [, server] of servers) {
    for (let i = 0; i < 100; i++) {
      const res = await fetchJson(server, client, `/secrets/bench-${i}`, 'PUT', { value: `value-${i}` });
      if (res.status !== 200) throw new Error(`seeding answered ${res.status}`);
    }
  }
  const ops = [
    { name: 'get', method: 'GET', pathTemplate: '/secrets/bench-{i}/?api-version=7.6', modulo: 100 },
    { name: 'set', method: 'PUT', pathTemplate: '/secrets/bench-{i}?api-version=7.6', modulo: 100, body: { value: 'new-value' } },
    { name: 'list a page', method: 'GET', path: '/secrets?api-version=7.6&maxresults=25' },
  ];
  const rows = [];
  for (const op of ops) {
    log(`${op.name}: one request at a time, ${servers.map(([name]) => name).join(', ')} taking turns`);
    const target = (server) => ({ origin: server.origin, ca: client.ca, headers: auth, method: op.method, path: op.path, pathTemplate: op.pathTemplate, modulo: op.modulo, body: op.body });
    const sequential = await runLoad({ mode: 'sequential', kind: 'fixed', durationMs: SEQUENTIAL_MS * servers.length, targets: servers.map(([, s]) => target(s)) });
    sequential.forEach((run, i) => {
      const bad = Object.keys(run.statuses).filter((s) => s !== '200');
      if (bad.length > 0) throw new Error(`${op.name} (${servers[i][0]}): answers ${JSON.stringify(run.statuses)}`);
    });
    const peaks = servers.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      for (let k = 0; k < servers.length; k++) {
        const index = (r + k) % servers.length;
        const [, server] = servers[index];
        log(`${op.name}: round ${r + 1}/${ROUNDS} at full speed, ${servers[index][0]}`);
        const result = await runLoad({ mode: 'autocannon', origin: server.origin, headers: auth, method: op.method, path: op.path, pathTemplate: op.pathTemplate, modulo: op.modulo, body: op.body, connections: 10, duration: SECONDS, warmupSeconds: 1 });
        if (result.non2xx > 0) throw new Error(`${op.name} (${servers[index][0]}): ${result.non2xx} answers were not 2xx`);
        peaks[index].push(result.rps);
      }
    }
    rows.push({
      op: op.name,
      p50: sequential.map((run) => run.latency.p50),
      rps: peaks.map((p) => median(p)),
    });
  }
  const names = servers.map(([name]) => name);
  console.log(`\nrealism cost (${ROUNDS} rounds of ${SECONDS} s at full speed, 10 connections; service time one request at a time, taking turns; ratios against "off")\n`);
  console.log(`| operation | ${names.map((n) => `${n} p50 ms`).join(' | ')} | ${names.map((n) => `${n} req/s`).join(' | ')} | ${names.slice(1).map((n) => `${n}/off req/s`).join(' | ')} |`);
  console.log(`|---|${names.map(() => '---').join('|')}|${names.map(() => '---').join('|')}|${names.slice(1).map(() => '---').join('|')}|`);
  for (const row of rows) {
    console.log(
      `| ${row.op} | ${row.p50.map((v) => round(v, 3)).join(' | ')} | ${row.rps.map((v) => Math.round(v)).join(' | ')} | ${row.rps.slice(1).map((v) => round(v / row.rps[0], 2)).join(' | ')} |`,
    );
  }
} finally {
  for (const [, server] of servers) await server.stop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}

async function fetchJson(server, client, path, method, body) {
  const { call } = await import('./lib.mjs');
  return call(server.origin, `${path}?api-version=7.6`, { method, body, headers: { authorization: `Bearer ${client.token}` }, ca: client.ca });
}
