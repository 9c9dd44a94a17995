// Network rules seen by the Python SDK (azure-keyvault-secrets + azure-identity; Debian's python3-azure),
// configured only by what `kv-emulator env --proxy` prints and calling vaults by their real names
// (https://<vault>.vault.azure.net) through the emulator's HTTPS proxy: the same denials as
// network-rules.test.ts (the firewall's ForbiddenByFirewall naming the client address, closed public
// access's ForbiddenByConnection, byte for byte), an allowed ip rule at both ends of its range, and the
// order against the 401 and against RBAC.
//
// Where a request comes from: behind the emulator's own proxy the client address is the proxy client's
// TCP address (the proxy hands its tunnels to the one HTTPS server). So the Python process binds its
// connections to the proxy to a chosen source address: a requests transport adapter adds urllib3's
// `source_address` to its proxy pools, given to the SDK as RequestsTransport(session=...) (see
// support/network_rules_app.py). Linux routes all of 127.0.0.0/8 to loopback, so one process calls from
// 127.0.0.7, 127.0.0.8... to the proxy on 127.0.0.1 without any setup, inside and outside the rules.
// One Python process runs every step (its start and the azure imports take about a second).
// Emulator only: the rules and the proxy are the emulator's; the test starts its own emulator.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { afterEnvProxy, PYTHON, pythonUnavailable } from '../support/proxy-env.js';
import { privateEmulator, skipReason, uniqueName } from '../support/target.js';

const PYTHON_APP = resolve(import.meta.dirname, '../support/network_rules_app.py');
/** The vault's region, which the denials name: set here so the expected messages are known in full. */
const REGION = 'swedencentral';
const configFile = join(mkdtempSync(join(tmpdir(), 'kv-network-python-')), 'emulator.json');
writeFileSync(configFile, JSON.stringify({ region: REGION }));

/** A step of the Python app: one call of the SDK, by a principal, from a source address. */
interface Step {
  vault: string;
  from: string;
  op: 'set' | 'get';
  name: string;
  value?: string;
  as?: 'app' | 'nobody' | 'bad-token';
}

/** What the Python SDK saw for a step (support/network_rules_app.py). */
interface Seen {
  ok?: true;
  value?: string;
  type?: string;
  status?: number;
  code?: string;
  message?: string;
  inner?: string | null;
  body?: string;
  network_info?: string | null;
  region?: string | null;
  www_authenticate?: string | null;
}

interface Principal {
  name: string;
  clientId: string;
  objectId: string;
  clientSecret: string;
}

describe.skipIf(skipReason('network rules and the HTTPS proxy are emulator controls'))('network rules through the proxy, from the Python SDK', () => {
  const unavailable = pythonUnavailable();
  if (unavailable) console.log(`[contracts] skipped the Python SDK against network rules: ${unavailable}`);

  const emulator = privateEmulator(['--config', configFile]);
  let tenantId: string;
  let app: Principal;
  let nobody: Principal;
  const firewalled = uniqueName('py-fw').slice(0, 40);
  const closed = uniqueName('py-closed').slice(0, 40);
  const secret = uniqueName('py-net');

  async function principal(prefix: string, role: boolean): Promise<Principal> {
    const name = uniqueName(prefix);
    const clientSecret = `secret-${Math.random().toString(36).slice(2)}`;
    const made = await emulator.admin<{ clientId: string; objectId: string }>(`/identities/${name}`, { method: 'PUT', body: { kind: 'servicePrincipal', clientSecret } });
    if (role) await emulator.admin('/roleAssignments', { method: 'POST', body: { principal: name, role: 'Key Vault Administrator', scope: '/' } });
    return { name, clientId: made.clientId, objectId: made.objectId, clientSecret };
  }

  beforeAll(async () => {
    if (unavailable) return;
    tenantId = (await emulator.admin<{ tenantId: string }>('/info')).tenantId;
    [app, nobody] = await Promise.all([principal('py-net-app', true), principal('py-net-nobody', false)]);
    await emulator.admin('/vaults', { method: 'POST', body: { name: firewalled, networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.8/30' }] } } });
    // Closed to public traffic: the ip rule that would let 127.0.0.8 in is overridden.
    await emulator.admin('/vaults', { method: 'POST', body: { name: closed, publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.8/30' }] } } });
  }, 30_000);

  const caller = (who: Principal) => `appid=${who.clientId};oid=${who.objectId};iss=https://sts.windows.net/${tenantId}/`;
  const networkInfo = (address: string) => `conn_type=Ipv4;addr=${address};act_addr_fam=InterNetwork;`;

  /** The 403 as Python sees it, and its body as it came over the wire: the service's, byte for byte. */
  function expectDenial(seen: Seen, innerCode: string, message: string): void {
    expect(seen).toMatchObject({ type: 'HttpResponseError', status: 403, code: 'Forbidden', inner: innerCode, message });
    expect(seen.body).toBe(JSON.stringify({ error: { code: 'Forbidden', message, innererror: { code: innerCode } } }));
    expect(seen.region).toBe(REGION);
  }

  const firewallMessage = (address: string, who: Principal, vault: string) =>
    `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${address}\r\nCaller: ${caller(who)}\r\nVault: ${vault};location=${REGION}`;
  const connectionMessage = (who: Principal, vault: string) =>
    `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: ${caller(who)}\r\nVault: ${vault};location=${REGION}`;

  it.skipIf(unavailable !== undefined)('is let in by an ip rule and refused outside it and with public access disabled, after the 401 and before RBAC', async () => {
    const steps: Step[] = [
      { vault: firewalled, from: '127.0.0.8', op: 'set', name: secret, value: 'inside' },
      { vault: firewalled, from: '127.0.0.11', op: 'get', name: secret },
      { vault: firewalled, from: '127.0.0.7', op: 'get', name: secret },
      { vault: firewalled, from: '127.0.0.12', op: 'get', name: secret },
      { vault: closed, from: '127.0.0.8', op: 'get', name: secret },
      { vault: firewalled, from: '127.0.0.7', op: 'get', name: secret, as: 'bad-token' },
      { vault: firewalled, from: '127.0.0.7', op: 'get', name: secret, as: 'nobody' },
      { vault: firewalled, from: '127.0.0.8', op: 'get', name: secret, as: 'nobody' },
    ];
    const plan = { steps, principals: { nobody: { client_id: nobody.clientId, client_secret: nobody.clientSecret } } };
    const result = await afterEnvProxy(emulator.origin, ['--as', app.name], [PYTHON, PYTHON_APP, JSON.stringify(plan)]);
    expect(result.error).toBeUndefined();
    const [set, getAtEdge, below, above, closedAccess, badToken, nobodyOutside, nobodyInside] = result.steps as Seen[];

    // Inside 127.0.0.8/30, at both ends: allowed, and named by the address the proxy's client used.
    expect(set).toMatchObject({ ok: true, value: 'inside', network_info: networkInfo('127.0.0.8') });
    expect(getAtEdge).toMatchObject({ ok: true, value: 'inside', network_info: networkInfo('127.0.0.11') });

    // Just outside it, either side: the firewall's 403 naming the client address.
    for (const [seen, address] of [[below!, '127.0.0.7'], [above!, '127.0.0.12']] as const) {
      expectDenial(seen, 'ForbiddenByFirewall', firewallMessage(address, app, firewalled));
      expect(seen.network_info).toBe(networkInfo(address));
    }

    // Public network access disabled: refused from an address its ip rules would let in.
    expectDenial(closedAccess!, 'ForbiddenByConnection', connectionMessage(app, closed));
    expect(closedAccess!.network_info).toBe(networkInfo('127.0.0.8'));

    // A token the vault does not accept, from outside the rules: the 401 challenge, not a 403.
    expect(badToken).toMatchObject({ type: 'ClientAuthenticationError', status: 401, code: 'Unauthorized', inner: null, network_info: networkInfo('127.0.0.7') });
    expect(badToken!.www_authenticate).toBe(`Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="https://vault.azure.net"`);

    // A caller without any role: the firewall answers outside the rules, RBAC inside them.
    expectDenial(nobodyOutside!, 'ForbiddenByFirewall', firewallMessage('127.0.0.7', nobody, firewalled));
    expect(nobodyInside).toMatchObject({ type: 'HttpResponseError', status: 403, code: 'Forbidden', inner: 'ForbiddenByRbac', network_info: networkInfo('127.0.0.8') });
    expect(nobodyInside!.message).toMatch(/^Caller is not authorized to perform action on resource\.\r\n/);
    expect(nobodyInside!.message).toContain(`Caller: ${caller(nobody)}\r\n`);
  }, 60_000);
});
