// `npm run bench:audit`: what the audit log costs a read. Two emulators started through the real CLI in
// the same run, one with the audit log (the default) and one with `"auditLog": {"enabled": false}`, each
// answering GET /secrets/{name} at full speed from its own load-generator process; rounds take turns at
// which goes first, and the figure is the median of the paired ratios (audit on / audit off), so a slow
// moment of a shared machine moves one round, not the result. Also the server's CPU per request (steadier
// than rates on a busy machine; cpuRatio is off / on) and the records written (every GET must have left
// one), and the service time of one request at a time, the two taking turns request by request
// (serviceTimeRatio, off / on: the steadiest of the three). The budget is a rate ratio of at least 0.9.
// Options: --rounds N (default 5), --seconds S per run (default 4).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientOf, cpuTimeMs, dataDirSharingKeys, median, round, runLoad, startEmulator } from './lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('--rounds', 5);
const SECONDS = arg('--seconds', 4);
const CONNECTIONS = 10;
const BUDGET = 0.9;
const log = (line) => process.stderr.write(`${line}\n`);

const scratch = [];
const base = mkdtempSync(join(tmpdir(), 'kv-bench-audit-'));
scratch.push(base);
// The first start makes the CA and keys; both emulators share them (and so one token works for both).
const first = await startEmulator({ dataDir: base });
await first.stop();
const onDir = dataDirSharingKeys(base);
const offDir = dataDirSharingKeys(base);
scratch.push(onDir, offDir);
writeFileSync(join(offDir, 'config.json'), JSON.stringify({ auditLog: { enabled: false } }));
const on = await startEmulator({ dataDir: onDir, args: ['--log-level', 'error'] });
const off = await startEmulator({ dataDir: offDir, args: ['--log-level', 'error', '--config', join(offDir, 'config.json')] });

try {
  const clients = { on: await clientOf(on), off: await clientOf(off) };
  for (const client of Object.values(clients)) {
    const res = await client.request('/secrets/bench-audit', { method: 'PUT', body: { value: 'audited read' } });
    if (res.status !== 200) throw new Error(`could not set the secret: ${res.status} ${res.body}`);
  }
  const countBefore = (await clients.on.admin('/logs?operation=SecretGet&maxresults=1000')).value.length;
  const path = '/secrets/bench-audit?api-version=7.6';
  const run = async (emulator, client, seconds = SECONDS) => {
    const before = cpuTimeMs(emulator.pid);
    const result = await runLoad({
      mode: 'autocannon',
      origin: emulator.origin,
      headers: { authorization: `Bearer ${client.token}` },
      path,
      connections: CONNECTIONS,
      duration: seconds,
      warmupSeconds: 0,
    });
    if (result.non2xx > 0 || result.errors > 0) throw new Error(`non-2xx answers or errors: ${JSON.stringify(result.statuses)}`);
    return { rps: result.rps, total: result.total, cpuMicros: ((cpuTimeMs(emulator.pid) - before) * 1000) / result.total };
  };
  // Warm both (JIT, caches).
  await run(on, clients.on, 1);
  await run(off, clients.off, 1);
  const rounds = [];
  let getsOn = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const order = i % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    const results = {};
    for (const which of order) results[which] = await run(which === 'on' ? on : off, clients[which]);
    getsOn += results.on.total;
    rounds.push({ on: results.on, off: results.off, ratio: results.on.rps / results.off.rps });
    log(`round ${i + 1}/${ROUNDS} (${order.join(' first, then ')}): audit on ${Math.round(results.on.rps)}/s, off ${Math.round(results.off.rps)}/s, ratio ${round(results.on.rps / results.off.rps, 3)}`);
  }
  // One request at a time, the two servers taking turns request by request: what else the machine does
  // weighs on both alike, so this ratio holds still where rates do not.
  const target = (emulator, client) => ({ origin: emulator.origin, ca: client.ca, headers: { authorization: `Bearer ${client.token}` }, method: 'GET', path });
  const [oneOn, oneOff] = await runLoad({ mode: 'sequential', kind: 'fixed', durationMs: SECONDS * 2000, targets: [target(on, clients.on), target(off, clients.off)] });
  const ratio = median(rounds.map((r) => r.ratio));
  const summary = {
    rounds: ROUNDS,
    secondsPerRun: SECONDS,
    connections: CONNECTIONS,
    getRatePerSecond: { auditOn: Math.round(median(rounds.map((r) => r.on.rps))), auditOff: Math.round(median(rounds.map((r) => r.off.rps))) },
    ratio: round(ratio, 3),
    roundRatios: rounds.map((r) => round(r.ratio, 3)),
    cpuMicrosPerGet: { auditOn: round(median(rounds.map((r) => r.on.cpuMicros)), 1), auditOff: round(median(rounds.map((r) => r.off.cpuMicros)), 1) },
    // CPU per request depends less on what else the machine does than rates do: off / on, per round.
    cpuRatio: round(median(rounds.map((r) => r.off.cpuMicros / r.on.cpuMicros)), 3),
    serviceTimeP50Ms: { auditOn: round(oneOn.latency.p50, 3), auditOff: round(oneOff.latency.p50, 3), requestsEach: oneOn.latency.count },
    // Time per request, off / on: 1 means the audit log adds nothing to a read's service time.
    serviceTimeRatio: round(oneOff.latency.p50 / oneOn.latency.p50, 3),
    getsAnsweredWithAuditOn: getsOn + oneOn.latency.count,
    budget: BUDGET,
    withinBudget: ratio >= BUDGET,
  };
  const stored = await countRecords(clients.on, countBefore);
  summary.secretGetRecordsWritten = stored;
  console.log(JSON.stringify(summary, null, 2));
  if (!summary.withinBudget) process.exitCode = 1;
} finally {
  await on.stop();
  await off.stop();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
}

/** SecretGet records written since the start (paging through the admin API). */
async function countRecords(client, before) {
  let count = 0;
  let next = '/logs?operation=SecretGet&maxresults=1000';
  while (next) {
    const page = await client.admin(next);
    count += page.value.length;
    next = page.nextLink ? page.nextLink.slice(page.nextLink.indexOf('/_emulator') + '/_emulator'.length) : null;
  }
  return count - before;
}
