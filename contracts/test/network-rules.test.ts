// Network rules with the real SDK over real HTTPS, from chosen source addresses (an https.Agent with
// `localAddress`; Linux routes all of 127.0.0.0/8 to loopback), so one run is both inside and outside
// each rule: ip rules at their CIDR edges in both families, a virtual network rule over a declared
// subnet, public network access disabled, a private endpoint (its own listener) allowed for its vault
// and refused for another, the trusted-service bypass on and off, the order against the 401 and against
// RBAC denials, the surfaces the rules leave alone, and rules surviving a restart and export/import.
// Every denial is checked byte for byte against the service's body (spec §5).
// Emulator only: the rules, private endpoints, subnets and trusted services are emulator controls.
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import type { LookupFunction } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../support/global-setup.js';
import { dataDirSharingKeys, privateEmulator, skipReason, uniqueName, type PrivateEmulator } from '../support/target.js';

const SUBNET = '/subscriptions/00000000-0000-4000-8000-00000000e1a7/resourceGroups/network/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app';
const TRUSTED_APP_ID = '6f1d2c3b-4a59-4e68-8f7a-1b2c3d4e5f60';
const PE_VAULT = 'pe-vault';
const PE_OTHER = 'pe-other';
const PE_ADDRESS = '127.0.0.5';

const configFile = join(mkdtempSync(join(tmpdir(), 'kv-network-')), 'emulator.json');
writeFileSync(
  configFile,
  JSON.stringify({
    subnets: [{ id: SUBNET, addressPrefix: '127.0.1.0/24' }],
    trustedServices: [{ appId: TRUSTED_APP_ID, name: 'contracts' }],
    vaults: [
      { name: PE_VAULT, publicNetworkAccess: 'Disabled' },
      { name: PE_OTHER, publicNetworkAccess: 'Disabled' },
    ],
    privateEndpoints: [{ name: 'pe-contracts', vault: PE_VAULT, listen: `${PE_ADDRESS}:0` }],
  }),
);

/** A second, non-loopback IPv6 address of this machine, if it has one (fd00::2 here). */
const otherIpv6 = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv6' && !a.internal && !a.address.toLowerCase().startsWith('fe80'))?.address;

/** Where a client's connections come from, and where they go (a private endpoint's own address). */
interface From {
  localAddress?: string;
  family?: 4 | 6;
  connectTo?: string;
}

const agents: Agent[] = [];
afterAll(() => {
  for (const agent of agents) agent.destroy();
});
function agentFor(from: From): Agent {
  const lookup: LookupFunction | undefined = from.connectTo
    ? (_host, options, callback) => {
        const address = from.connectTo!;
        const family = address.includes(':') ? 6 : 4;
        if (options.all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address, family }]);
        else callback(null, address, family);
      }
    : undefined;
  const agent = new Agent({
    ...(from.localAddress !== undefined && { localAddress: from.localAddress }),
    ...(from.family !== undefined && { family: from.family }),
    ...(lookup && { lookup }),
  });
  agents.push(agent);
  return agent;
}

interface Principal {
  name: string;
  clientId: string;
  objectId: string;
  credential: TokenCredential;
}

interface Denial {
  statusCode?: number;
  code?: string;
  message: string;
  response?: { headers: { get(name: string): string | undefined } };
  /** The answer's body as it came over the wire. */
  bodyAsText?: string;
}

describe.skipIf(skipReason('network rules, private endpoints, subnets and trusted services are emulator controls'))('network rules', () => {
  const emulator = privateEmulator(['--host', '::', '--config', configFile]);
  let tenantId: string;
  let port: number;
  let pePort: number;
  let owner: Principal;
  let trusted: Principal;
  let unassigned: Principal;

  async function principal(at: PrivateEmulator, prefix: string, options: { clientId?: string; role?: boolean } = {}): Promise<Principal> {
    const name = uniqueName(prefix);
    const clientSecret = `secret-${Math.random().toString(36).slice(2)}`;
    const made = await at.admin<{ clientId: string; objectId: string }>(`/identities/${name}`, {
      method: 'PUT',
      body: { kind: 'servicePrincipal', clientSecret, ...(options.clientId && { clientId: options.clientId }) },
    });
    if (options.role !== false) await at.admin('/roleAssignments', { method: 'POST', body: { principal: name, role: 'Key Vault Administrator', scope: '/' } });
    const credential = new ClientSecretCredential(tenantId, made.clientId, clientSecret, { authorityHost: at.origin, disableInstanceDiscovery: true });
    return { name, ...made, credential };
  }

  function client(who: Principal, vault: string, from: From = {}, at = port): SecretClient {
    return new SecretClient(`https://${vault}.vault.localhost:${at}`, who.credential, { agent: agentFor(from), retryOptions: { maxRetries: 0 } });
  }

  async function vault(prefix: string, settings: Record<string, unknown>): Promise<string> {
    const name = uniqueName(prefix).slice(0, 40);
    await emulator.admin('/vaults', { method: 'POST', body: { name, ...settings } });
    return name;
  }

  const caller = (who: Principal) => `appid=${who.clientId};oid=${who.objectId};iss=https://sts.windows.net/${tenantId}/`;

  async function refused(kv: SecretClient): Promise<Denial> {
    let bodyAsText: string | undefined;
    const error = (await kv.getSecret('anything', { onResponse: (r) => (bodyAsText = r.bodyAsText ?? undefined) }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Denial | undefined;
    expect(error, 'the request was expected to be refused').toBeDefined();
    return Object.assign(error!, bodyAsText !== undefined && { bodyAsText });
  }

  /** The answer's body and headers must be the service's, byte for byte. */
  function expectDenial(error: Denial, innerCode: string, message: string): void {
    expect(error).toMatchObject({ statusCode: 403, code: 'Forbidden', message });
    expect(error.bodyAsText).toBe(JSON.stringify({ error: { code: 'Forbidden', message, innererror: { code: innerCode } } }));
  }

  function firewallMessage(address: string, who: Principal, vaultName: string, region: string): string {
    return `Client address is not authorized and caller is not a trusted service.\r\nClient address: ${address}\r\nCaller: ${caller(who)}\r\nVault: ${vaultName};location=${region}`;
  }

  function connectionMessage(who: Principal, vaultName: string, region: string): string {
    return `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: ${caller(who)}\r\nVault: ${vaultName};location=${region}`;
  }

  /** Sets and reads a secret; returns the x-ms-keyvault-network-info of the read. */
  async function works(kv: SecretClient): Promise<string | undefined> {
    const name = uniqueName('net');
    await kv.setSecret(name, 'inside');
    let info: string | undefined;
    const secret = await kv.getSecret(name, { onResponse: (r) => (info = r.headers.get('x-ms-keyvault-network-info') ?? undefined) });
    expect(secret.value).toBe('inside');
    return info;
  }

  const regionOf = (error: Denial) => error.response!.headers.get('x-ms-keyvault-region')!;

  beforeAll(async () => {
    tenantId = (await emulator.admin<{ tenantId: string }>('/info')).tenantId;
    port = Number(new URL(emulator.origin).port);
    const network = await emulator.admin<{ privateEndpoints: Array<{ name: string; port: number; address: string }> }>('/network');
    expect(network.privateEndpoints).toEqual([expect.objectContaining({ name: 'pe-contracts', address: PE_ADDRESS })]);
    pePort = network.privateEndpoints[0]!.port;
    [owner, trusted, unassigned] = await Promise.all([
      principal(emulator, 'net-owner'),
      principal(emulator, 'net-trusted', { clientId: TRUSTED_APP_ID }),
      principal(emulator, 'net-nobody', { role: false }),
    ]);
  }, 30_000);

  it('firewall: an ip range lets in its first and last address and keeps out the ones either side', async () => {
    const name = await vault('fw4', { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.8/30' }] } });
    for (const inside of ['127.0.0.8', '127.0.0.11']) {
      expect(await works(client(owner, name, { localAddress: inside })), inside).toBe(`conn_type=Ipv4;addr=${inside};act_addr_fam=InterNetwork;`);
    }
    for (const outside of ['127.0.0.7', '127.0.0.12']) {
      const error = await refused(client(owner, name, { localAddress: outside }));
      expectDenial(error, 'ForbiddenByFirewall', firewallMessage(outside, owner, name, regionOf(error)));
      expect(error.response!.headers.get('x-ms-keyvault-network-info')).toBe(`conn_type=Ipv4;addr=${outside};act_addr_fam=InterNetwork;`);
    }
  });

  it('firewall over IPv6: ::1 by rule, an IPv4 caller of the same dual-stack port named by its IPv4 address', async () => {
    const name = await vault('fw6', { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '::1' }] } });
    expect(await works(client(owner, name, { family: 6 }))).toBe('conn_type=Ipv6;addr=::1;act_addr_fam=InterNetworkV6;');
    const error = await refused(client(owner, name, { family: 4, localAddress: '127.0.0.1' }));
    expectDenial(error, 'ForbiddenByFirewall', firewallMessage('127.0.0.1', owner, name, regionOf(error)));
  });

  it('firewall over IPv6 at the edges of a range, from a second IPv6 address', async (context) => {
    if (!otherIpv6) {
      console.log('[contracts] skipped: this machine has no non-loopback IPv6 address to call from (only ::1 is tested)');
      context.skip();
    }
    const address = otherIpv6!;
    // The /127 holding the address, and the /127 just below it.
    const words = address.split(':');
    const last = parseInt(words[words.length - 1] || '0', 16);
    const pair = (first: number) => `${words.slice(0, -1).join(':')}:${first.toString(16)}/127`;
    const inside = await vault('fw6in', { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: pair(last & ~1) }] } });
    expect(await works(client(owner, inside, { family: 6, localAddress: address }))).toBe(`conn_type=Ipv6;addr=${address};act_addr_fam=InterNetworkV6;`);
    if ((last & ~1) >= 2) {
      const outside = await vault('fw6out', { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: pair((last & ~1) - 2) }, { value: '::1' }] } });
      const error = await refused(client(owner, outside, { family: 6, localAddress: address }));
      expectDenial(error, 'ForbiddenByFirewall', firewallMessage(address, owner, outside, regionOf(error)));
    }
  });

  it('virtual network rule: a caller in the declared subnet gets in, one outside it does not', async () => {
    const name = await vault('vnet', { networkAcls: { defaultAction: 'Deny', virtualNetworkRules: [{ id: SUBNET }] } });
    await works(client(owner, name, { localAddress: '127.0.1.5' }));
    await works(client(owner, name, { localAddress: '127.0.1.255' }));
    const error = await refused(client(owner, name, { localAddress: '127.0.2.5' }));
    expectDenial(error, 'ForbiddenByFirewall', firewallMessage('127.0.2.5', owner, name, regionOf(error)));
  });

  it('public network access disabled: refused from every address, ip rules notwithstanding', async () => {
    const name = await vault('closed', { publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.1' }] } });
    for (const from of ['127.0.0.1', '127.0.0.9']) {
      const error = await refused(client(owner, name, { localAddress: from }));
      expectDenial(error, 'ForbiddenByConnection', connectionMessage(owner, name, regionOf(error)));
    }
  });

  it('private endpoint: its vault answers through it, another vault does not', async () => {
    const through = (vaultName: string, from: From = {}) => client(owner, vaultName, { connectTo: PE_ADDRESS, ...from }, pePort);
    expect(await works(through(PE_VAULT))).toBe('conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetworkV6;');
    const publicly = await refused(client(owner, PE_VAULT));
    expectDenial(publicly, 'ForbiddenByConnection', connectionMessage(owner, PE_VAULT, regionOf(publicly)));
    const other = await refused(through(PE_OTHER));
    expectDenial(other, 'ForbiddenByConnection', connectionMessage(owner, PE_OTHER, regionOf(other)));
    // For a vault it does not serve, the endpoint is an ordinary connection from its client's address.
    const walled = await vault('pe-fw', { networkAcls: { defaultAction: 'Deny' } });
    const error = await refused(through(walled, { localAddress: '127.0.0.6' }));
    expectDenial(error, 'ForbiddenByFirewall', firewallMessage('127.0.0.6', owner, walled, regionOf(error)));
  });

  it('private endpoint: a rejected connection is no approved private link', async () => {
    const connections = (await emulator.admin<{ privateEndpointConnections: Array<{ properties: { privateLinkServiceConnectionState: { status: string } } }> }>(`/vaults/${PE_VAULT}`))
      .privateEndpointConnections;
    expect(connections.map((c) => c.properties.privateLinkServiceConnectionState.status)).toEqual(['Approved']);
    const rejected = structuredClone(connections);
    rejected[0]!.properties.privateLinkServiceConnectionState.status = 'Rejected';
    await emulator.admin(`/vaults/${PE_VAULT}`, { method: 'PATCH', body: { privateEndpointConnections: rejected } });
    try {
      const error = await refused(client(owner, PE_VAULT, { connectTo: PE_ADDRESS }, pePort));
      expectDenial(error, 'ForbiddenByConnection', connectionMessage(owner, PE_VAULT, regionOf(error)));
    } finally {
      await emulator.admin(`/vaults/${PE_VAULT}`, { method: 'PATCH', body: { privateEndpointConnections: connections } });
    }
    await works(client(owner, PE_VAULT, { connectTo: PE_ADDRESS }, pePort));
  });

  it('trusted services pass the firewall and closed public access with bypass AzureServices, and not with None', async () => {
    const walled = await vault('trust-fw', { networkAcls: { defaultAction: 'Deny' } });
    const closed = await vault('trust-closed', { publicNetworkAccess: 'Disabled' });
    await works(client(trusted, walled, { localAddress: '127.0.0.9' }));
    await works(client(trusted, closed, { localAddress: '127.0.0.9' }));
    const untrusted = await refused(client(owner, walled, { localAddress: '127.0.0.9' }));
    expectDenial(untrusted, 'ForbiddenByFirewall', firewallMessage('127.0.0.9', owner, walled, regionOf(untrusted)));
    for (const name of [walled, closed]) await emulator.admin(`/vaults/${name}`, { method: 'PATCH', body: { networkAcls: { bypass: 'None' } } });
    const firewall = await refused(client(trusted, walled, { localAddress: '127.0.0.9' }));
    expectDenial(firewall, 'ForbiddenByFirewall', firewallMessage('127.0.0.9', trusted, walled, regionOf(firewall)));
    const connection = await refused(client(trusted, closed, { localAddress: '127.0.0.9' }));
    expectDenial(connection, 'ForbiddenByConnection', connectionMessage(trusted, closed, regionOf(connection)));
  });

  it('comes after the 401 and before RBAC', async () => {
    const name = await vault('order', { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.8' }] } });
    // No token from outside the rules: the challenge, as for anyone.
    const challenge = await new Promise<{ status: number; header: string | undefined }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: '/secrets/anything?api-version=7.6', localAddress: '127.0.0.7', servername: 'localhost', headers: { host: `${name}.vault.localhost:${port}` } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode!, header: res.headers['www-authenticate'] }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(challenge.status).toBe(401);
    expect(challenge.header).toMatch(/^Bearer authorization="[^"]+", resource="https:\/\/vault\.localhost"$/);
    // A caller without any role: the firewall answers outside the rules, RBAC inside them.
    const outside = await refused(client(unassigned, name, { localAddress: '127.0.0.7' }));
    expectDenial(outside, 'ForbiddenByFirewall', firewallMessage('127.0.0.7', unassigned, name, regionOf(outside)));
    const inside = await refused(client(unassigned, name, { localAddress: '127.0.0.8' }));
    expect(inside).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(JSON.parse(inside.bodyAsText!).error.innererror.code).toBe('ForbiddenByRbac');
  });

  it('leaves the admin API and the token endpoint alone', async () => {
    const name = await vault('alone', { publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny' } });
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, localAddress: '127.0.0.7', servername: 'localhost', headers: { host: `${name}.vault.localhost:${port}`, ...headers } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get(`/_emulator/vaults/${name}`)).toBe(200);
    const identityHeader = (await emulator.admin<{ identityHeader: string }>('/info')).identityHeader;
    expect(await get(`/msi/token?api-version=2019-08-01&resource=${encodeURIComponent('https://vault.azure.net')}`, { 'x-identity-header': identityHeader })).toBe(200);
    const error = await refused(client(owner, name, { localAddress: '127.0.0.7' }));
    expect(error.statusCode).toBe(403);
  });
});

describe.skipIf(skipReason('restarts an emulator on its own data directory and moves state through the admin API'))('network rules kept', () => {
  let dataDir: string;
  let running: StartedEmulator | undefined;
  afterAll(async () => {
    await running?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('survive a restart and an export/import', async () => {
    dataDir = dataDirSharingKeys();
    running = await startEmulator([], dataDir);
    const adminOf = (at: StartedEmulator) => async <T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
      const response = await fetch(`${at.origin}/_emulator${path}`, {
        method: init.method ?? 'GET',
        ...(init.body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(init.body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };
    let admin = adminOf(running);
    const tenantId = (await admin<{ tenantId: string }>('/info')).tenantId;
    const name = uniqueName('kept').slice(0, 40);
    const secret = `secret-${Math.random().toString(36).slice(2)}`;
    await admin(`/identities/${name}`, { method: 'PUT', body: { kind: 'servicePrincipal', clientSecret: secret } });
    await admin('/roleAssignments', { method: 'POST', body: { principal: name, role: 'Key Vault Administrator', scope: '/' } });
    await admin('/vaults', { method: 'POST', body: { name, networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '127.0.0.8' }] } } });

    const outcome = async (from: string): Promise<string> => {
      const { clientId } = await admin<{ clientId: string }>(`/identities/${name}`);
      const credential = new ClientSecretCredential(tenantId, clientId, secret, { authorityHost: running!.origin, disableInstanceDiscovery: true });
      const agent = agentFor({ localAddress: from });
      const kv = new SecretClient(`https://${name}.vault.localhost:${running!.port}`, credential, { agent, retryOptions: { maxRetries: 0 } });
      return kv.getSecret('absent').then(
        () => 'found',
        (e: { statusCode?: number; details?: { error?: { innerError?: { code?: string } } } }) => e.details?.error?.innerError?.code ?? String(e.statusCode),
      );
    };
    expect([await outcome('127.0.0.8'), await outcome('127.0.0.9')]).toEqual(['404', 'ForbiddenByFirewall']);

    await running.stop();
    running = await startEmulator([], dataDir);
    admin = adminOf(running);
    expect([await outcome('127.0.0.8'), await outcome('127.0.0.9')]).toEqual(['404', 'ForbiddenByFirewall']);

    const state = await admin('/export');
    await admin('/reset', { method: 'POST' });
    // After a reset the vault is made anew on first use, open to all.
    await admin(`/identities/${name}`, { method: 'PUT', body: { kind: 'servicePrincipal', clientSecret: secret } });
    await admin('/roleAssignments', { method: 'POST', body: { principal: name, role: 'Key Vault Administrator', scope: '/' } });
    expect(await outcome('127.0.0.9')).toBe('404');
    await admin('/import', { method: 'POST', body: state });
    expect([await outcome('127.0.0.8'), await outcome('127.0.0.9')]).toEqual(['404', 'ForbiddenByFirewall']);
  }, 60_000);
});
