// `node bench/network-rules.mjs`: what the vault network rules cost a request, through the real CLI over
// real HTTPS. One emulator serves the same getSecret from several vaults, one request at a time, taking
// turns request by request (bench/load.mjs "sequential"), so the machine's other load weighs on each alike:
//   open           a new vault (public access, default action Allow): the baseline;
//   ip-rule        default action Deny, the caller's address in the one ip rule;
//   ip-rules-1000  default action Deny, 1,000 ip rules, the caller's address in the last one;
//   vnet-rule      default action Deny, the caller in a declared subnet named by a virtual network rule;
//   private-link   public access disabled, the request through the vault's private endpoint listener.
// Prints each target's median and p99 service time and its ratio to the open vault's, then the cost of
// the decision alone (emulator/dist/network/evaluate.js in this process, nanoseconds per request). Not part of
// `npm run bench` (which publishes figures); run it after changing the network rules.
// Options: --quick (one short round).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { call, clientOf, median, round, runLoad, startEmulator } from './lib.mjs';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 1 : 3;
const DURATION_MS = QUICK ? 2000 : 5000;
const SUBNET = '/subscriptions/00000000-0000-4000-8000-00000000e1a7/resourceGroups/bench/providers/Microsoft.Network/virtualNetworks/vnet/subnets/loopback';

const dir = mkdtempSync(join(tmpdir(), 'kv-bench-network-'));
const configFile = join(dir, 'emulator.json');
// Every other address, so that no two rules are adjacent and none can be merged with another.
const manyRules = Array.from({ length: 999 }, (_, i) => ({ value: `198.51.${Math.floor((2 * i) / 256)}.${(2 * i) % 256}` })).concat([{ value: '127.0.0.1' }]);
writeFileSync(
  configFile,
  JSON.stringify({
    subnets: [{ id: SUBNET, addressPrefix: '127.0.0.0/8' }],
    privateEndpoints: [{ name: 'pe-bench', vault: 'private-link', listen: '127.0.0.1:0' }],
    vaults: [
      { name: 'open' },
      { name: 'ip-rule', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.1' }] } },
      { name: 'ip-rules-1000', networkAcls: { defaultAction: 'Deny', ipRules: manyRules } },
      { name: 'vnet-rule', networkAcls: { defaultAction: 'Deny', virtualNetworkRules: [{ id: SUBNET }] } },
      { name: 'private-link', publicNetworkAccess: 'Disabled' },
    ],
  }),
);

const emulator = await startEmulator({ dataDir: join(dir, 'data'), args: ['--config', configFile] });
try {
  const client = await clientOf(emulator);
  const network = await client.admin('/network');
  const pePort = network.privateEndpoints[0].port;
  const names = ['open', 'ip-rule', 'ip-rules-1000', 'vnet-rule', 'private-link'];
  const targets = names.map((vault) => {
    const port = vault === 'private-link' ? pePort : emulator.port;
    return { name: vault, origin: `https://localhost:${port}`, ca: client.ca, headers: { authorization: `Bearer ${client.token}`, host: `${vault}.vault.localhost:${port}` }, path: '/secrets/bench?api-version=7.6' };
  });
  // Each vault holds the secret read; set through the way in each target uses.
  for (const target of targets) {
    const res = await call(target.origin, target.path, { method: 'PUT', body: { value: 'v' }, headers: target.headers, ca: target.ca });
    if (res.status !== 200) throw new Error(`${target.name}: set answered ${res.status} ${res.body}`);
  }

  const rounds = [];
  for (let i = 0; i < ROUNDS; i++) {
    const result = await runLoad({ mode: 'sequential', kind: 'fixed', durationMs: DURATION_MS, targets });
    for (const [k, r] of result.entries()) {
      const ok = r.statuses['200'] ?? 0;
      const other = Object.entries(r.statuses).filter(([s]) => s !== '200');
      if (other.length > 0) throw new Error(`${names[k]} answered ${JSON.stringify(r.statuses)}`);
      if (ok === 0) throw new Error(`${names[k]} answered nothing`);
    }
    rounds.push(result);
  }
  const p50 = (k) => median(rounds.map((r) => r[k].latency.p50));
  const p99 = (k) => median(rounds.map((r) => r[k].latency.p99));
  const base50 = p50(0);
  const base99 = p99(0);
  const rows = names.map((name, k) => ({
    target: name,
    requests: rounds.reduce((n, r) => n + r[k].latency.count, 0),
    'p50 ms': round(p50(k), 3),
    'p50 / open': round(p50(k) / base50, 3),
    'p99 ms': round(p99(k), 3),
    'p99 / open': round(p99(k) / base99, 3),
  }));
  console.table(rows);
} finally {
  await emulator.stop();
  rmSync(dir, { recursive: true, force: true });
}

// The decision alone: the same vaults' settings through NetworkRules.evaluate, as the pipeline step calls it.
const { NetworkRules, isOpen } = await import('../emulator/dist/network/evaluate.js');
const { parseCidr } = await import('../emulator/dist/network/addresses.js');
const { approvedConnection } = await import('../emulator/dist/network/settings.js');
const rules = new NetworkRules({ subnets: [{ id: SUBNET.toLowerCase(), addressPrefix: parseCidr('127.0.0.0/8') }], trustedServices: [] });
const acls = (extra) => ({ bypass: 'AzureServices', defaultAction: 'Deny', ipRules: [], virtualNetworkRules: [], ...extra });
const location = { subscriptionId: 'sub', resourceGroup: 'rg' };
const decisions = {
  open: { vault: { name: 'open', publicNetworkAccess: 'Enabled', networkAcls: acls({ defaultAction: 'Allow' }), privateEndpointConnections: [] } },
  'ip-rule': { vault: { name: 'v', publicNetworkAccess: 'Enabled', networkAcls: acls({ ipRules: [{ value: '127.0.0.1/32' }] }), privateEndpointConnections: [] } },
  'ip-rules-1000': { vault: { name: 'v', publicNetworkAccess: 'Enabled', networkAcls: acls({ ipRules: manyRules.map((r) => ({ value: r.value.includes('/') ? r.value : `${r.value}/32` })) }), privateEndpointConnections: [] } },
  'vnet-rule': { vault: { name: 'v', publicNetworkAccess: 'Enabled', networkAcls: acls({ virtualNetworkRules: [{ id: SUBNET.toLowerCase() }] }), privateEndpointConnections: [] } },
  'private-link': {
    vault: { name: 'v', publicNetworkAccess: 'Disabled', networkAcls: acls({}), privateEndpointConnections: [approvedConnection(location, 'v', 'pe-bench')] },
    privateEndpoint: { name: 'pe-bench', vault: 'v' },
  },
};
const ITERATIONS = QUICK ? 100_000 : 1_000_000;
const timings = Object.entries(decisions).map(([name, request]) => {
  const full = { address: '127.0.0.1', ...request };
  let allowed = 0;
  const run = () => {
    for (let i = 0; i < ITERATIONS; i++) if (isOpen(full.vault) || rules.evaluate(full).allowed) allowed++;
  };
  run();
  const started = process.hrtime.bigint();
  run();
  const ns = Number(process.hrtime.bigint() - started) / ITERATIONS;
  if (allowed !== 2 * ITERATIONS) throw new Error(`${name}: not every decision allowed the request`);
  return { target: name, 'ns per decision': round(ns, 1) };
});
console.table(timings);
