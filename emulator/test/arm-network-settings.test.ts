// A vault's network settings through the management plane (ARM's publicNetworkAccess, networkAcls and the
// read-only privateEndpointConnections), at the HTTP level with chosen client addresses (inject's
// remoteAddress): they are the settings the admin API and the config file set, validated as ARM
// validates them (its envelope, the field named, nothing changed), a PUT replacing the rule set and a
// PATCH changing the fields it names, the data plane following at once; and private endpoint connection
// ids naming the vault's own resource group, also for a configured endpoint after a restart.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Emulator } from '../src/app.js';
import { resolveConfig } from '../src/config.js';
import { sharedMaterial, testEmulator, type TestEmulator } from './support/harness.js';

const SUB = '00000000-0000-4000-8000-00000000e1a7';
const KV = 'api-version=2026-02-01';
const SUBNET = '/subscriptions/s/resourceGroups/Net/providers/Microsoft.Network/virtualNetworks/VNet/subnets/App';

type Reply = { status: number; headers: Record<string, unknown>; body: any };
type App = Pick<Emulator, 'app'>;

let emu: TestEmulator;
let owner: string;
let ownerVault: string;

async function request(at: App, method: string, url: string, options: { token?: string; body?: unknown; host?: string; from?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { host: options.host ?? 'localhost:8443' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await at.app.inject({
    method: method as 'GET',
    url,
    headers,
    remoteAddress: options.from ?? '127.0.0.1',
    ...(options.body !== undefined && { payload: JSON.stringify(options.body) }),
  });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}

async function admin(at: App, method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(at, method, `/_emulator${path}`, { ...(body !== undefined && { body }) });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function token(at: App, audience: string): Promise<string> {
  return (await admin(at, 'POST', '/tokens', { principal: 'kv-emulator-sp', audience })).access_token;
}

const vaultPath = (rg: string, vault: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${vault}`;
const vaultBody = (properties: Record<string, unknown> = {}) => ({
  location: 'westeurope',
  properties: { tenantId: emu.config.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [], ...properties },
});

const arm = (method: string, rg: string, vault: string, body?: unknown) => request(emu, method, `${vaultPath(rg, vault)}?${KV}`, { token: owner, ...(body !== undefined && { body }) });

/** A data-plane read of `vault` from `from`. */
const readFrom = (vault: string, from: string) => request(emu, 'GET', '/secrets/s?api-version=7.6', { token: ownerVault, host: `${vault}.vault.azure.net`, from });

const caller = () => `appid=3f5b8c1d-2e4a-4b6c-8d7e-9f0a1b2c3d4e;oid=`;

beforeAll(async () => {
  emu = await testEmulator({ extensions: { subnets: [{ id: SUBNET, addressPrefix: '10.1.0.0/24' }] } });
  owner = await token(emu, 'https://management.azure.com/');
  ownerVault = await token(emu, 'https://vault.azure.net');
  expect((await request(emu, 'PUT', `/subscriptions/${SUB}/resourcegroups/net-rg?api-version=2022-12-01`, { token: owner, body: { location: 'westeurope' } })).status).toBe(201);
});
afterAll(() => emu.app.close());

describe('network settings through ARM', () => {
  it('a new vault is open and shows no rule set; a PUT sets rules in canonical form, which the admin API and the data plane follow at once', async () => {
    const open = await arm('PUT', 'net-rg', 'arm-open', vaultBody());
    expect(open.status).toBe(200);
    expect(open.body.properties.publicNetworkAccess).toBe('Enabled');
    expect(open.body.properties).not.toHaveProperty('networkAcls');
    expect(open.body.properties).not.toHaveProperty('privateEndpointConnections');

    const created = await arm(
      'PUT',
      'net-rg',
      'arm-fw',
      vaultBody({
        networkAcls: { defaultAction: 'deny', bypass: 'none', ipRules: [{ value: '198.51.100.7' }, { value: '203.0.113.0/24' }], virtualNetworkRules: [{ id: SUBNET }] },
      }),
    );
    expect(created.status).toBe(200);
    const acls = { bypass: 'None', defaultAction: 'Deny', ipRules: [{ value: '198.51.100.7/32' }, { value: '203.0.113.0/24' }], virtualNetworkRules: [{ id: SUBNET.toLowerCase() }] };
    expect(created.body.properties).toMatchObject({ publicNetworkAccess: 'Enabled', networkAcls: acls });
    expect((await arm('GET', 'net-rg', 'arm-fw')).body.properties.networkAcls).toEqual(acls);
    const listed = await request(emu, 'GET', `/subscriptions/${SUB}/resourceGroups/net-rg/providers/Microsoft.KeyVault/vaults?${KV}`, { token: owner });
    expect(listed.body.value.find((v: { name: string }) => v.name === 'arm-fw').properties.networkAcls).toEqual(acls);
    expect(await admin(emu, 'GET', '/vaults/arm-fw')).toMatchObject({ publicNetworkAccess: 'Enabled', networkAcls: acls });

    // Inside: an ip rule, a CIDR range, the declared subnet. Past the network check, the secret is missing.
    for (const from of ['198.51.100.7', '203.0.113.200', '10.1.0.5']) expect((await readFrom('arm-fw', from)).body.error.code, from).toBe('SecretNotFound');
    const outside = await readFrom('arm-fw', '198.51.100.8');
    expect(outside.status).toBe(403);
    expect(outside.body.error.code).toBe('Forbidden');
    expect(outside.body.error.innererror).toEqual({ code: 'ForbiddenByFirewall' });
    expect(outside.body.error.message).toMatch(
      new RegExp(`^Client address is not authorized and caller is not a trusted service\\.\\r\\nClient address: 198\\.51\\.100\\.8\\r\\nCaller: ${caller()}[0-9a-f-]{36};iss=https://sts\\.windows\\.net/${emu.config.tenantId}/\\r\\nVault: arm-fw;location=${emu.config.region}$`),
    );
  });

  it('a PATCH changes only the fields it names, a PUT replaces the rule set, and closed public access refuses everyone', async () => {
    await arm('PUT', 'net-rg', 'arm-rules', vaultBody({ networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.7' }] } }));
    expect((await readFrom('arm-rules', '198.51.100.9')).status).toBe(403);

    const opened = await arm('PATCH', 'net-rg', 'arm-rules', { properties: { networkAcls: { defaultAction: 'Allow' } } });
    expect(opened.status).toBe(200);
    expect(opened.body.properties.networkAcls).toEqual({ bypass: 'AzureServices', defaultAction: 'Allow', ipRules: [{ value: '198.51.100.7/32' }], virtualNetworkRules: [] });
    expect((await readFrom('arm-rules', '198.51.100.9')).body.error.code).toBe('SecretNotFound');

    // A PUT's networkAcls is the whole rule set: the ip rule it leaves out is gone.
    const replaced = await arm('PUT', 'net-rg', 'arm-rules', vaultBody({ networkAcls: { defaultAction: 'Deny' } }));
    expect(replaced.body.properties.networkAcls).toEqual({ bypass: 'AzureServices', defaultAction: 'Deny', ipRules: [], virtualNetworkRules: [] });
    expect((await readFrom('arm-rules', '198.51.100.7')).body.error.innererror).toEqual({ code: 'ForbiddenByFirewall' });
    // A PUT without networkAcls leaves them as they are (as for the vault's other settings).
    expect((await arm('PUT', 'net-rg', 'arm-rules', vaultBody({ enabledForDeployment: true }))).body.properties.networkAcls.defaultAction).toBe('Deny');

    const closed = await arm('PATCH', 'net-rg', 'arm-rules', { properties: { publicNetworkAccess: 'disabled', networkAcls: { defaultAction: 'Allow' } } });
    expect(closed.body.properties.publicNetworkAccess).toBe('Disabled');
    const refused = await readFrom('arm-rules', '198.51.100.7');
    expect(refused.status).toBe(403);
    expect(refused.body.error.innererror).toEqual({ code: 'ForbiddenByConnection' });
    expect(refused.body.error.message).toMatch(/^Public network access is disabled and request is not from a trusted service nor via an approved private link\.\r\nCaller: /);
    expect((await admin(emu, 'GET', '/vaults/arm-rules')).publicNetworkAccess).toBe('Disabled');

    const reopened = await arm('PATCH', 'net-rg', 'arm-rules', { properties: { publicNetworkAccess: 'Enabled' } });
    expect(reopened.body.properties.publicNetworkAccess).toBe('Enabled');
    // An open rule set is not shown, as for a vault that never had rules.
    expect(reopened.body.properties).not.toHaveProperty('networkAcls');
    expect((await readFrom('arm-rules', '198.51.100.7')).body.error.code).toBe('SecretNotFound');
  });

  it("refuses bad settings with ARM's errors naming the field, and changes nothing", async () => {
    await arm('PUT', 'net-rg', 'arm-strict', vaultBody({ networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.7' }] } }));
    const before = (await arm('GET', 'net-rg', 'arm-strict')).body.properties;
    const many = Array.from({ length: 1001 }, (_, i) => ({ value: `198.51.${Math.floor(i / 250)}.${i % 250}` }));
    const cases: Array<[string, unknown, number, { code: string; message: string }]> = [
      [
        'a CIDR past /32',
        { networkAcls: { ipRules: [{ value: '10.0.0.1' }, { value: '10.0.0.0/33' }] } },
        400,
        {
          code: 'BadRequest',
          message: "Invalid value found at properties.networkAcls.ipRules[1].value: must be an IPv4 or IPv6 address or CIDR range; '10.0.0.0/33' has a prefix length that is not a whole number from 0 to 32.",
        },
      ],
      [
        'not an address',
        { networkAcls: { ipRules: [{ value: 'ten.0.0.1' }] } },
        400,
        { code: 'BadRequest', message: "Invalid value found at properties.networkAcls.ipRules[0].value: must be an IPv4 or IPv6 address or CIDR range; 'ten.0.0.1' is not an IPv4 or IPv6 address." },
      ],
      ['too many ip rules', { networkAcls: { ipRules: many } }, 400, { code: 'BadRequest', message: 'Invalid value found at properties.networkAcls.ipRules: holds 1001 rules; a vault allows at most 1000.' }],
      [
        'an unknown default action',
        { networkAcls: { defaultAction: 'Block' } },
        400,
        { code: 'BadRequest', message: `Invalid value found at properties.networkAcls.defaultAction: must be one of 'Allow', 'Deny', got "Block".` },
      ],
      [
        'a subnet id that is not one',
        { networkAcls: { virtualNetworkRules: [{ id: 'app-subnet' }] } },
        400,
        {
          code: 'BadRequest',
          message:
            "Invalid value found at properties.networkAcls.virtualNetworkRules[0].id: must be a subnet id '/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>', got 'app-subnet'.",
        },
      ],
      [
        'ip rules that are not a list',
        { networkAcls: { ipRules: '198.51.100.7' } },
        400,
        {
          code: 'InvalidRequestContent',
          message: "The request content was invalid and could not be deserialized: 'Error converting value \"198.51.100.7\" to type 'System.Collections.Generic.IList`1[IPRule]'. Path 'properties.networkAcls.ipRules''.",
        },
      ],
      [
        'public network access that is not a string',
        { publicNetworkAccess: false },
        400,
        { code: 'InvalidRequestContent', message: "The request content was invalid and could not be deserialized: 'Error converting value false to type 'System.String'. Path 'properties.publicNetworkAccess''." },
      ],
    ];
    for (const [what, properties, status, error] of cases) {
      const patched = await arm('PATCH', 'net-rg', 'arm-strict', { properties });
      expect(patched.status, what).toBe(status);
      expect(patched.body.error, what).toEqual(error);
      const put = await arm('PUT', 'net-rg', 'arm-strict', vaultBody(properties as Record<string, unknown>));
      expect(put.body.error, `PUT: ${what}`).toEqual(error);
    }
    expect((await arm('GET', 'net-rg', 'arm-strict')).body.properties).toEqual(before);
    // A new vault with a bad rule set is not made.
    expect((await arm('PUT', 'net-rg', 'arm-never', vaultBody({ networkAcls: { ipRules: [{ value: '300.0.0.1' }] } }))).status).toBe(400);
    expect((await arm('GET', 'net-rg', 'arm-never')).status).toBe(404);
    // Properties ARM does not know are ignored, as ARM ignores them.
    const unknown = await arm('PATCH', 'net-rg', 'arm-strict', { properties: { networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.8', note: 'x' }], futureSetting: true } } });
    expect(unknown.status).toBe(200);
    expect(unknown.body.properties.networkAcls.ipRules).toEqual([{ value: '198.51.100.8/32' }]);
  });

  it("shows private endpoint connections, with ids in the vault's own resource group; a body's copy of them changes nothing", async () => {
    await arm('PUT', 'net-rg', 'arm-pe', vaultBody());
    const endpointId = `/subscriptions/${SUB}/resourceGroups/net-rg/providers/Microsoft.Network/privateEndpoints/pe9`;
    const patched = await admin(emu, 'PATCH', '/vaults/arm-pe', { privateEndpointConnections: [{ properties: { privateEndpoint: { id: endpointId } } }] });
    const connection = {
      id: `${vaultPath('net-rg', 'arm-pe')}/privateEndpointConnections/pe9`,
      etag: '',
      properties: {
        privateEndpoint: { id: endpointId },
        privateLinkServiceConnectionState: { status: 'Approved', description: '', actionsRequired: 'None' },
        provisioningState: 'Succeeded',
      },
    };
    expect(patched.privateEndpointConnections).toEqual([connection]);
    const got = await arm('GET', 'net-rg', 'arm-pe');
    expect(got.body.properties.privateEndpointConnections).toEqual([connection]);

    // privateEndpointConnections is read-only in ARM: a GET sent back as a PUT, or a PATCH naming them, changes nothing.
    const echoed = await arm('PUT', 'net-rg', 'arm-pe', { location: got.body.location, tags: got.body.tags, properties: { ...got.body.properties, privateEndpointConnections: [] } });
    expect(echoed.status).toBe(200);
    expect(echoed.body.properties.privateEndpointConnections).toEqual([connection]);
    const rejected = { ...connection, properties: { ...connection.properties, privateLinkServiceConnectionState: { status: 'Rejected', description: 'no', actionsRequired: 'None' } } };
    expect((await arm('PATCH', 'net-rg', 'arm-pe', { properties: { privateEndpointConnections: [rejected] } })).body.properties.privateEndpointConnections).toEqual([connection]);
  });

  it("names a configured private endpoint's connection after the resource group of a vault made through ARM", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kv-arm-pe-'));
    const material = await sharedMaterial();
    const start = (extensions: Record<string, unknown> = {}) => buildApp(resolveConfig({ dataDir, logLevel: 'silent' }, { extensions }), { material, https: false });
    const first = await start();
    const armToken = await token(first, 'https://management.azure.com/');
    await request(first, 'PUT', `/subscriptions/${SUB}/resourcegroups/pe-rg?api-version=2022-12-01`, { token: armToken, body: { location: 'westeurope' } });
    const body = { location: 'westeurope', properties: { tenantId: first.config.tenantId, sku: { family: 'A', name: 'standard' } } };
    expect((await request(first, 'PUT', `${vaultPath('pe-rg', 'pe-arm-vault')}?${KV}`, { token: armToken, body })).status).toBe(200);
    await first.app.close();

    const second = await start({ privateEndpoints: [{ name: 'pe-arm', vault: 'pe-arm-vault', listen: '127.0.0.3:0' }] });
    try {
      await second.app.ready();
      const got = await request(second, 'GET', `${vaultPath('pe-rg', 'pe-arm-vault')}?${KV}`, { token: await token(second, 'https://management.azure.com/') });
      expect(got.body.properties.privateEndpointConnections).toEqual([
        {
          id: `${vaultPath('pe-rg', 'pe-arm-vault')}/privateEndpointConnections/pe-arm`,
          etag: '',
          properties: {
            privateEndpoint: { id: `/subscriptions/${SUB}/resourceGroups/pe-rg/providers/Microsoft.Network/privateEndpoints/pe-arm` },
            privateLinkServiceConnectionState: { status: 'Approved', description: 'Auto-Approved', actionsRequired: 'None' },
            provisioningState: 'Succeeded',
          },
        },
      ]);
    } finally {
      await second.app.close();
    }
  });
});
