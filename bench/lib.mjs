// Helpers shared by the benchmark scripts: start the emulator through its real CLI, talk to it over
// HTTPS as a client would (trusting its CA, bearer token from its managed-identity endpoint), read a
// process's resident memory, and small statistics.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(ROOT, 'emulator/dist/cli.mjs');
export const RESOLVER = join(ROOT, 'emulator/dist/localhost-resolver.cjs');
export const API_VERSION = '7.6';

/** Environment for children: none of the caller's NODE_OPTIONS (a resolver or inspector would skew timings). */
export function childEnv(extra = {}) {
  const env = { ...process.env, NODE_OPTIONS: '' };
  delete env.NODE_EXTRA_CA_CERTS;
  return { ...env, ...extra };
}

/**
 * Spawns `kv-emulator start` (this checkout's, or the command `cli` names) and resolves once its banner
 * says it listens. `spawnedAt` and `listeningAt` are performance.now() readings of this process.
 */
export function startEmulator({ dataDir, args = [], env = {}, cli = CLI }) {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [cli, 'start', '--port', '0', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv(env),
  });
  return new Promise((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the emulator did not start:\n${output}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match && timer) {
        const listeningAt = performance.now();
        clearTimeout(timer);
        const port = Number(match[1]);
        resolvePromise({
          child,
          port,
          pid: child.pid,
          origin: `https://localhost:${port}`,
          dataDir,
          spawnedAt,
          listeningAt,
          stop: () => stopChild(child),
        });
      }
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited with ${code}:\n${output}`));
    });
  });
}

/** Headers Node and Fastify write themselves, or that change from answer to answer. */
const OWN_HEADERS = new Set(['date', 'content-length', 'content-type', 'connection', 'keep-alive', 'x-ms-request-id', 'x-ms-client-request-id']);

/**
 * The response headers of an emulator's answer that bare Fastify sends with --kv-headers
 * (bench/bare-server.mjs): Key Vault's own, as the emulator sent them.
 */
export function kvHeadersOf(headers) {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !OWN_HEADERS.has(name)));
}

/**
 * Starts bench/bare-server.mjs (or the reference server `script` names) answering the bodies in
 * `bodiesFile`, with the certificate of `dataDir`; resolves once it listens.
 */
export function startBare(dataDir, bodiesFile, script = 'bench/bare-server.mjs', args = []) {
  const child = spawn(process.execPath, [join(ROOT, script), dataDir, bodiesFile, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() });
  return new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
      const match = /listening on (https:\/\/\S+)/.exec(out);
      if (match) resolvePromise({ child, pid: child.pid, origin: match[1], stop: () => stopChild(child) });
    });
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
}

export function stopChild(child, signal = 'SIGTERM') {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill(signal);
  });
}

/** A data directory holding `from`'s CA, keys and identity secrets but not its database. */
export function dataDirSharingKeys(from) {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bench-'));
  for (const file of readdirSync(from)) if (!file.startsWith('emulator.db')) copyFileSync(join(from, file), join(dir, file));
  return dir;
}

/** One HTTPS request trusting the emulator's CA; resolves { status, headers, body (string) }. */
export function call(origin, path, { method = 'GET', headers = {}, body, ca } = {}) {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest(
      new URL(path, origin),
      {
        method,
        ca,
        headers: { ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolvePromise({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** What a benchmark needs to call an emulator's data plane: its origin, CA and a valid bearer token. */
export async function clientOf(emulator) {
  const ca = readFileSync(join(emulator.dataDir, 'ca.pem'), 'utf8');
  const identityHeader = readFileSync(join(emulator.dataDir, 'identity-header'), 'utf8').trim();
  const res = await call(emulator.origin, '/msi/token?api-version=2019-08-01&resource=https://vault.azure.net', {
    headers: { 'x-identity-header': identityHeader },
    ca,
  });
  if (res.status !== 200) throw new Error(`token endpoint answered ${res.status}: ${res.body}`);
  const token = JSON.parse(res.body).access_token;
  const auth = { authorization: `Bearer ${token}` };
  return {
    origin: emulator.origin,
    ca,
    token,
    async request(path, options = {}) {
      const full = path.includes('api-version=') ? path : `${path}${path.includes('?') ? '&' : '?'}api-version=${API_VERSION}`;
      const res = await call(emulator.origin, full, { ...options, headers: { ...auth, ...options.headers }, ca });
      return res;
    },
    async admin(path, options = {}) {
      const res = await call(emulator.origin, `/_emulator${path}`, { ...options, ca });
      if (res.status >= 300) throw new Error(`admin ${path}: ${res.status} ${res.body.slice(0, 300)}`);
      return res.body ? JSON.parse(res.body) : undefined;
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc), and its peak. */
export function residentMemory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Runs bench/load.mjs in its own process with `spec`; resolves its JSON result. */
export function runLoad(spec) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench/load.mjs')], { stdio: ['pipe', 'pipe', 'inherit'], env: childEnv() });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}: ${out}`));
      try {
        resolvePromise(JSON.parse(out));
      } catch (error) {
        reject(new Error(`load generator printed no result: ${out}`));
      }
    });
    child.stdin.end(JSON.stringify(spec));
  });
}

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const round = (value, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** CPU time (user + system) a process has used so far, in milliseconds (Linux /proc, 10 ms resolution). */
export function cpuTimeMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * The autocannon command itself (its own process, none of bench/load.mjs's per-answer bookkeeping), at
 * full speed on one path: what an outside load generator measures. Resolves { rps, total, non2xx, errors }.
 */
export function runAutocannonCli({ origin, path, headers = {}, connections = 16, duration = 5, ca }) {
  const args = [join(ROOT, 'node_modules/autocannon/autocannon.js'), '-j', '-c', String(connections), '-d', String(duration)];
  for (const [key, value] of Object.entries(headers)) args.push('-H', `${key}=${value}`);
  args.push(`${origin}${path}`);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv(ca ? { NODE_EXTRA_CA_CERTS: ca } : {}) });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${err}`));
      try {
        const result = JSON.parse(out);
        resolvePromise({ rps: result.requests.average, total: result.requests.total, non2xx: result.non2xx, errors: result.errors, p99Ms: result.latency.p99 });
      } catch {
        reject(new Error(`autocannon printed no result: ${out}${err}`));
      }
    });
  });
}

/**
 * Progress of a long run: each line says how long the run has taken and about how long it has left,
 * from the estimates of its phases (seconds, in order), so that a ten-minute run never looks stuck.
 */
export class Progress {
  constructor(phases) {
    this.phases = phases;
    this.names = Object.keys(phases);
    this.started = performance.now();
    this.index = -1;
    this.phaseStarted = this.started;
  }

  get estimateSeconds() {
    return Object.values(this.phases).reduce((a, b) => a + b, 0);
  }

  phase(name) {
    this.index = this.names.indexOf(name);
    this.phaseStarted = performance.now();
  }

  log(line) {
    const now = performance.now();
    const inPhase = (now - this.phaseStarted) / 1000;
    const current = this.names[this.index];
    const later = this.names.slice(this.index + 1).reduce((sum, name) => sum + this.phases[name], 0);
    const left = later + Math.max(0, (current ? this.phases[current] : 0) - inPhase);
    const clock = (s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
    process.stderr.write(`[${clock((now - this.started) / 1000)}, ~${clock(left)} left] ${line}\n`);
  }
}
