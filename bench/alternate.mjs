// `node bench/alternate.mjs [options] [build ...]`: compares builds of the emulator (before and after a
// change, or one build with different settings) by their rate of authenticated gets, or of sets, against
// bare Fastify (bench/bare-server.mjs) answering the same bytes. All of them run side by side and are
// measured in turns, round after round, each round starting one further along the list, so a slow minute
// of a shared machine falls on all of them: what is compared is each round's ratio to bare Fastify, and
// the CPU time each server spent per request (read from /proc, which moves far less with the machine's
// load than rates do). On a busy 2-core machine a difference of a few percent needs 20 rounds or more.
//
// A build is a checkout holding a built emulator (emulator/dist/cli.mjs); the default is this one.
// `build#args` starts it with more arguments, for instance `.#--in-memory` or `.#--config=audit-off.json`.
// Options:
//   --rounds=N       rounds (default 10)
//   --seconds=S      seconds of load per server and round (default 3)
//   --set            PUT /secrets/{name} (a new version each) instead of GET /secrets/{name}
//   --connections=C  autocannon connections (default 10)
//   --kv-headers     gets only: also bare Fastify sending Key Vault's response headers with its answer
// Example: node bench/alternate.mjs --rounds=20 /tmp/before .
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { API_VERSION, clientOf, cpuTimeMs, dataDirSharingKeys, kvHeadersOf, median, round, runLoad, startBare, startEmulator } from './lib.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '10' }, seconds: { type: 'string', default: '3' }, set: { type: 'boolean', default: false }, connections: { type: 'string', default: '10' }, 'kv-headers': { type: 'boolean', default: false } },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
for (const [name, value] of [['--rounds', rounds], ['--seconds', seconds], ['--connections', connections]]) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`${name} must be a whole number from 1.\n`);
    process.exit(2);
  }
}
if (values['kv-headers'] && values.set) {
  process.stderr.write('--kv-headers compares gets; it does not go with --set.\n');
  process.exit(2);
}
const builds = (positionals.length ? positionals : ['.']).map((spec) => {
  const [dir, ...rest] = spec.split('#');
  return { name: spec, cli: join(resolve(dir), 'emulator/dist/cli.mjs'), args: rest.join('#').split(' ').filter(Boolean) };
});
for (const build of builds) {
  if (!existsSync(build.cli)) {
    process.stderr.write(`${build.name}: no built emulator at ${build.cli} (run npm run build in that checkout).\n`);
    process.exit(2);
  }
}

const base = mkdtempSync(join(tmpdir(), 'kv-alternate-'));
const servers = [];
try {
  // The first build makes the CA and keys, and is stopped (which waits until its token-signing key is
  // written); every build then starts on a copy of them, so one token is good for all.
  const first = await startEmulator({ dataDir: base, args: ['--proxy-port', 'off', '--log-level', 'error'], cli: builds[0].cli });
  await first.stop();
  for (const build of builds) {
    const emulator = await startEmulator({ dataDir: dataDirSharingKeys(base), args: ['--proxy-port', 'off', '--log-level', 'error', ...build.args], cli: build.cli });
    servers.push({ name: build.name, ...emulator });
  }
  const client = await clientOf(servers[0]);
  const setBody = { value: 'bench-value-0123456789abcdef0123456789abcdef0123', contentType: 'text/plain', tags: { env: 'bench' } };
  await client.request('/secrets/alternate', { method: 'PUT', body: setBody });
  const probe = await client.request('/secrets/alternate');
  const body = probe.body;
  for (const server of servers.slice(1)) {
    const answer = await (await clientOf(server)).request('/secrets/alternate', { method: 'PUT', body: setBody });
    if (answer.status !== 200) throw new Error(`${server.name} answered ${answer.status} to a set`);
  }
  const bodiesFile = join(base, 'bodies.json');
  writeFileSync(bodiesFile, JSON.stringify({ get: body, getHeaders: kvHeadersOf(probe.headers), set: body, list: body }));
  if (values['kv-headers']) servers.push({ name: "bare Fastify with Key Vault's headers", ...(await startBare(base, bodiesFile, 'bench/bare-server.mjs', ['--kv-headers'])) });
  // Bare Fastify last: each round's ratios are to it.
  servers.push({ name: 'bare Fastify', ...(await startBare(base, bodiesFile)) });

  const work = values.set
    ? (r) => ({ method: 'PUT', pathTemplate: `/secrets/alternate-${r}-{i}?api-version=${API_VERSION}`, body: setBody })
    : () => ({ path: `/secrets/alternate?api-version=${API_VERSION}` });
  const results = servers.map(() => ({ rps: [], cpu: [], ratio: [] }));
  process.stdout.write(`${servers.length} servers, ${rounds} rounds of ${seconds} s each, ${values.set ? 'sets' : 'gets'} at ${connections} connections: about ${Math.ceil((servers.length * rounds * (seconds + 1) + 10) / 60)} min\n`);
  for (let r = 0; r < rounds; r++) {
    const rates = [];
    for (let k = 0; k < servers.length; k++) {
      const i = (k + r) % servers.length;
      const before = cpuTimeMs(servers[i].pid);
      const out = await runLoad({ mode: 'autocannon', origin: servers[i].origin, headers: { authorization: `Bearer ${client.token}` }, ...work(r), connections, duration: seconds, warmupSeconds: r === 0 ? 1 : 0 });
      if (out.non2xx > 0 || out.errors > 0) throw new Error(`${servers[i].name}: ${out.non2xx} non-2xx answers (${JSON.stringify(out.statuses)}), ${out.errors} errors`);
      rates[i] = out.rps;
      results[i].rps.push(out.rps);
      results[i].cpu.push(((cpuTimeMs(servers[i].pid) - before) * 1000) / out.total);
    }
    const bareRate = rates.at(-1);
    rates.forEach((rate, i) => results[i].ratio.push(rate / bareRate));
    process.stdout.write(`round ${r + 1}/${rounds}: ${servers.slice(0, -1).map((s, i) => `${s.name} ${round(rates[i] / bareRate)}`).join(', ')}\n`);
  }
  process.stdout.write('\n| Server | Requests/s (median) | Ratio to bare Fastify (median of the rounds) | CPU per request (median) |\n|---|---|---|---|\n');
  servers.forEach((server, i) => {
    process.stdout.write(`| ${server.name} | ${Math.round(median(results[i].rps))} | ${round(median(results[i].ratio), 3)} | ${round(median(results[i].cpu), 1)} µs |\n`);
  });
} finally {
  await Promise.all(servers.map((server) => server.stop()));
}
