// What the HTTPS proxy costs, against the emulator's own port in the same run (one emulator through its
// CLI; this process is the client; the two ways take turns request by request):
//   - an authenticated GET /secrets/{name} on an open keep-alive connection, one request at a time:
//     p50 / p99 through a CONNECT tunnel against the direct port (the proxy's budget: at most 1 ms more
//     at p50);
//   - a TLS handshake on an open TCP connection: direct, through a tunnel to a vault name (the server
//     certificate), and through a tunnel to login.microsoftonline.com (a certificate made for the name on
//     its first handshake, then kept), and what that first handshake cost;
//   - the CONNECT round trip that opens a tunnel;
//   - spawn to listening with the proxy and with --proxy-port off, taking turns;
//   - a Node app's first read (process start to the value, bench/first-read.mjs) configured by
//     `kv-emulator env` (the *.vault.localhost form) and by `kv-emulator env --proxy`, taking turns.
// Usage: node bench/proxy.mjs [--quick] [--write] (after `npm run build`); with --write, stores the
// `proxy` figures into bench/results.json. `npm run bench` runs it too.
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { pathToFileURL } from 'node:url';
import { CLI, clientOf, dataDirSharingKeys, median, percentile, ROOT, round, startEmulator } from './lib.mjs';

export const PROXY_BUDGET = { addedGetP50Ms: 1 };

const VAULT_HOST = 'bench.vault.azure.net';
const AUTHORITY_HOST = 'login.microsoftonline.com';

/** A TCP connection to 127.0.0.1:port, connected. */
function tcp(port) {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends CONNECT host:443 on a connected socket; resolves once the proxy answers 200. */
function openTunnel(socket, host) {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk) => {
      received += chunk.toString('latin1');
      if (!received.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.pause();
      if (!received.startsWith('HTTP/1.1 200')) return reject(new Error(`the proxy answered ${received.split('\r\n')[0]}`));
      resolve(socket);
    };
    socket.on('data', onData);
    socket.write(`CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`);
  });
}

/** A TLS handshake over a connected socket; resolves the TLS socket. */
function handshake(socket, servername, ca) {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername, ca }, () => resolve(tls));
    tls.once('error', reject);
  });
}

/**
 * A minimal HTTP/1.1 client on one keep-alive TLS connection: one request at a time, the answer read by
 * its content-length (the emulator always sends one), so the client adds as little as it can.
 */
function rawClient(tls) {
  let buffer = Buffer.alloc(0);
  let pending;
  tls.on('data', (chunk) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    if (!pending) return;
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = buffer.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (buffer.length < end + 4 + length) return;
    const status = Number(head.slice(9, 12));
    buffer = buffer.subarray(end + 4 + length);
    const done = pending;
    pending = undefined;
    done(status);
  });
  return {
    request(text) {
      return new Promise((resolve) => {
        pending = resolve;
        tls.write(text);
      });
    },
    close: () => tls.destroy(),
  };
}

function stats(samples) {
  return { p50: round(percentile(samples, 50), 3), p99: round(percentile(samples, 99), 3) };
}

/** Spawn to listening, with and without the proxy, taking turns. */
async function startTimes(base, runs, log) {
  log(`proxy: ${runs} starts with the proxy and ${runs} with --proxy-port off, taking turns`);
  const withProxy = [];
  const without = [];
  for (let i = 0; i < runs; i++) {
    for (const [args, into] of i % 2 === 0 ? [[[], withProxy], [['--proxy-port', 'off'], without]] : [[['--proxy-port', 'off'], without], [[], withProxy]]) {
      const dataDir = dataDirSharingKeys(base);
      const emulator = await startEmulator({ dataDir, args: ['--in-memory', ...args] });
      into.push(emulator.listeningAt - emulator.spawnedAt);
      await emulator.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  return { withProxyMs: round(median(withProxy), 0), withoutProxyMs: round(median(without), 0) };
}

/** What `kv-emulator env [args] --format dotenv` prints, as variables. */
function envVariables(origin, args) {
  const out = execFileSync(process.execPath, [CLI, 'env', '--url', origin, '--format', 'dotenv', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  return Object.fromEntries(out.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), JSON.parse(line.slice(line.indexOf('=') + 1))]));
}

/** A Node app's first read with exactly `variables`, in milliseconds from its process start. */
function firstRead(variables, name) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT, 'bench/first-read.mjs'), name], { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...variables }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`first-read failed: ${error.message}\n${stderr}`));
      resolve(JSON.parse(stdout));
    });
  });
}

/** A Node app's first read configured by `env` and by `env --proxy`, taking turns. */
async function appFirstReads(emulator, runs, log) {
  log(`proxy: ${runs} first reads by a Node app configured by env and ${runs} by env --proxy, taking turns`);
  const client = await clientOf(emulator);
  const put = await client.request('/secrets/first-read', { method: 'PUT', body: { value: 'first-read-value' }, headers: { host: 'default.vault.localhost' } });
  if (put.status !== 200) throw new Error(`could not set the first-read secret: ${put.status}`);
  const modes = { direct: envVariables(emulator.origin, []), proxy: envVariables(emulator.origin, ['--proxy']) };
  const samples = { direct: [], proxy: [] };
  for (let i = 0; i <= runs; i++) {
    for (const mode of i % 2 === 0 ? ['direct', 'proxy'] : ['proxy', 'direct']) {
      const sample = await firstRead(modes[mode], 'first-read');
      // The first round warms the disk cache for both; it is not counted.
      if (i > 0) samples[mode].push(sample);
    }
  }
  const of = (mode, key) => round(median(samples[mode].map((s) => s[key])), 0);
  return {
    appFirstReadEnvMs: of('direct', 'ms'),
    appFirstReadEnvProxyMs: of('proxy', 'ms'),
    appFirstReadEnvCpuMs: of('direct', 'cpuMs'),
    appFirstReadEnvProxyCpuMs: of('proxy', 'cpuMs'),
  };
}

export async function proxyFigures({ quick = false, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const requests = quick ? 500 : 4000;
  const handshakes = quick ? 40 : 300;
  const base = mkdtempSync(join(tmpdir(), 'kv-bench-proxy-'));
  const emulator = await startEmulator({ dataDir: base });
  try {
    const client = await clientOf(emulator);
    const set = await client.request(`/secrets/bench-get`, { method: 'PUT', body: { value: 'bench-value-0123456789abcdef' }, headers: { host: VAULT_HOST } });
    if (set.status !== 200) throw new Error(`could not set the bench secret: ${set.status} ${set.body}`);
    const info = await client.admin('/info');
    if (!info.proxyUrl) throw new Error('the emulator reports no proxy');
    const proxyPort = Number(new URL(info.proxyUrl).port);
    const { ca, token } = client;

    // Handshakes. The first through the proxy to a name the server certificate does not cover makes its certificate.
    const firstStarted = performance.now();
    (await handshake(await openTunnel(await tcp(proxyPort), AUTHORITY_HOST), AUTHORITY_HOST, ca)).destroy();
    const firstMintHandshakeMs = round(performance.now() - firstStarted, 1);
    log(`proxy: ${handshakes} TLS handshakes each way, taking turns`);
    const ways = {
      direct: async () => ({ socket: await tcp(emulator.port), servername: VAULT_HOST }),
      vaultTunnel: async () => ({ socket: await openTunnel(await tcp(proxyPort), VAULT_HOST), servername: VAULT_HOST }),
      authorityTunnel: async () => ({ socket: await openTunnel(await tcp(proxyPort), AUTHORITY_HOST), servername: AUTHORITY_HOST }),
    };
    const handshakeSamples = { direct: [], vaultTunnel: [], authorityTunnel: [] };
    const connectSamples = [];
    const names = Object.keys(ways);
    for (let i = 0; i < handshakes; i++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length];
        const opened = performance.now();
        const { socket, servername } = await ways[name]();
        if (name !== 'direct') connectSamples.push(performance.now() - opened);
        const started = performance.now();
        const tls = await handshake(socket, servername, ca);
        handshakeSamples[name].push(performance.now() - started);
        tls.destroy();
      }
    }

    // Requests on open connections, one at a time, the two ways taking turns.
    log(`proxy: ${requests} authenticated gets each way, taking turns`);
    const direct = rawClient(await handshake(await tcp(emulator.port), VAULT_HOST, ca));
    const tunnelled = rawClient(await handshake(await openTunnel(await tcp(proxyPort), VAULT_HOST), VAULT_HOST, ca));
    const get = `GET /secrets/bench-get?api-version=7.6 HTTP/1.1\r\nHost: ${VAULT_HOST}\r\nAuthorization: Bearer ${token}\r\nAccept: application/json\r\n\r\n`;
    const samples = { direct: [], tunnelled: [] };
    const warmup = Math.min(300, requests / 5);
    for (let i = 0; i < requests + warmup; i++) {
      const order = i % 2 === 0 ? ['direct', 'tunnelled'] : ['tunnelled', 'direct'];
      for (const way of order) {
        const started = performance.now();
        const status = await (way === 'direct' ? direct : tunnelled).request(get);
        const elapsed = performance.now() - started;
        if (status !== 200) throw new Error(`GET answered ${status} (${way})`);
        if (i >= warmup) samples[way].push(elapsed);
      }
    }
    direct.close();
    tunnelled.close();

    const getDirect = stats(samples.direct);
    const getTunnelled = stats(samples.tunnelled);
    const figures = {
      requestsEachWay: requests,
      getDirectP50Ms: getDirect.p50,
      getDirectP99Ms: getDirect.p99,
      getProxyP50Ms: getTunnelled.p50,
      getProxyP99Ms: getTunnelled.p99,
      getAddedP50Ms: round(getTunnelled.p50 - getDirect.p50, 3),
      getP50Ratio: round(getTunnelled.p50 / getDirect.p50, 2),
      handshakesEachWay: handshakes,
      handshakeDirectP50Ms: stats(handshakeSamples.direct).p50,
      handshakeVaultTunnelP50Ms: stats(handshakeSamples.vaultTunnel).p50,
      handshakeAuthorityTunnelP50Ms: stats(handshakeSamples.authorityTunnel).p50,
      firstMintHandshakeMs,
      connectRoundTripP50Ms: stats(connectSamples).p50,
      ...(await appFirstReads(emulator, quick ? 3 : 9, log)),
      ...(await startTimes(base, quick ? 3 : 9, log)),
    };
    return figures;
  } finally {
    await emulator.stop();
    rmSync(base, { recursive: true, force: true });
  }
}

/** Lines for a table of the figures: the proxy's in the second column, the direct port's in the third. */
export function proxyTable(p) {
  return [
    `| Authenticated get on an open connection, one at a time, p50 / p99: through an HTTPS proxy tunnel / on the direct port | ${p.getProxyP50Ms} / ${p.getProxyP99Ms} ms | ${p.getDirectP50Ms} / ${p.getDirectP99Ms} ms | ${p.getAddedP50Ms >= 0 ? '+' : ''}${p.getAddedP50Ms} ms at p50 (budget ≤ ${PROXY_BUDGET.addedGetP50Ms} ms) |`,
    `| TLS handshake p50: through a tunnel to a vault name / to login.microsoftonline.com (its certificate kept) / direct | ${p.handshakeVaultTunnelP50Ms} / ${p.handshakeAuthorityTunnelP50Ms} ms | ${p.handshakeDirectP50Ms} ms | first handshake for a new name, its certificate made: ${p.firstMintHandshakeMs} ms |`,
    `| Opening a proxy tunnel (CONNECT round trip) p50 | ${p.connectRoundTripP50Ms} ms | | |`,
    `| Spawn to listening: with the HTTPS proxy / with --proxy-port off | ${p.withProxyMs} ms | ${p.withoutProxyMs} ms | |`,
    `| A Node app's first getSecret, process start to value (its CPU time): configured by \`env --proxy\` / by \`env\` | ${p.appFirstReadEnvProxyMs} ms (${p.appFirstReadEnvProxyCpuMs} ms) | ${p.appFirstReadEnvMs} ms (${p.appFirstReadEnvCpuMs} ms) | |`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const figures = await proxyFigures({ quick });
  process.stdout.write(`\n| Figure | Through the proxy | Direct | |\n|---|---|---|---|\n${proxyTable(figures).join('\n')}\n\n`);
  process.stdout.write(`${figures.getAddedP50Ms <= PROXY_BUDGET.addedGetP50Ms ? 'ok  ' : 'OVER'}  proxy adds ${figures.getAddedP50Ms} ms to the p50 of a get (budget ${PROXY_BUDGET.addedGetP50Ms} ms)\n`);
  if (quick || !process.argv.includes('--write')) {
    process.stderr.write(`results not written${quick ? ' (--quick)' : ' (--write stores them in bench/results.json)'}\n`);
  } else {
    const file = join(ROOT, 'bench/results.json');
    const results = JSON.parse(readFileSync(file, 'utf8'));
    let commit = 'unknown';
    try {
      commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      // not a git checkout
    }
    // The machine's load when measured: the proxy's figures are taken on their own, not with the full bench.
    results.proxy = { measured: new Date().toISOString(), commit, loadAverage: round(loadavg()[0], 1), ...figures };
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    process.stderr.write('wrote the proxy figures into bench/results.json\n');
  }
}
