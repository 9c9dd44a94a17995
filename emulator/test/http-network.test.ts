// Network rules at the HTTP level, with chosen client addresses (inject's remoteAddress): the exact
// ForbiddenByFirewall / ForbiddenByConnection bodies and x-ms-keyvault-network-info, their place between
// the 401 and the RBAC 403 (spec §5.2), the surfaces they do not apply to, settings through the admin
// API (bad ones refused with the field named, changing nothing), export/import, a restart on a data
// directory, a database written before the settings existed, and private endpoints that cannot listen.
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { ConfigError, parseConfigObject, resolveConfig } from '../src/config.js';
import { MIGRATIONS, openDatabase } from '../src/store/database.js';
import { SqliteVaultRepository } from '../src/store/secret-repository.js';
import { DEFAULT_VAULT_SETTINGS } from '../src/vault/model.js';
import { sharedMaterial, testEmulator, type TestEmulator } from './support/harness.js';

const V = 'api-version=7.6';
const TRUSTED = { clientId: '0c4f7a51-7e8b-4d7c-9f59-3c1f2b6e9a10', objectId: '5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6' };

let emu: TestEmulator;

beforeAll(async () => {
  emu = await testEmulator({
    extensions: {
      trustedServices: [{ appId: TRUSTED.clientId, name: 'backup' }],
      subnets: [{ id: '/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app', addressPrefix: '10.1.0.0/24' }],
    },
  });
});
afterAll(() => emu.app.close());

type Reply = { status: number; headers: Record<string, unknown>; body: any };

async function call(url: string, options: { token?: string; vault: string; from: string; method?: string; body?: unknown }): Promise<Reply> {
  const headers: Record<string, string> = { host: `${options.vault}.vault.azure.net` };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await emu.app.inject({
    method: (options.method ?? 'GET') as 'GET',
    url,
    headers,
    remoteAddress: options.from,
    ...(options.body !== undefined && { payload: JSON.stringify(options.body) }),
  });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}

async function admin(method: string, path: string, body?: unknown, from = '127.0.0.1'): Promise<Reply> {
  const res = await emu.app.inject({
    method: method as 'GET',
    url: `/_emulator${path}`,
    remoteAddress: from,
    ...(body !== undefined && { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}

async function tokenFor(principal: string): Promise<string> {
  return (await admin('POST', '/tokens', { principal })).body.access_token;
}

const caller = (p: { clientId: string; objectId: string }) => `appid=${p.clientId};oid=${p.objectId};iss=https://sts.windows.net/${emu.config.tenantId}/`;

describe('denials', () => {
  let owner: { clientId: string; objectId: string };
  let nobody: { clientId: string; objectId: string };
  let ownerToken: string;

  beforeAll(async () => {
    owner = (await admin('PUT', '/identities/net-owner', { kind: 'servicePrincipal', clientSecret: 's' })).body;
    nobody = (await admin('PUT', '/identities/net-nobody', { kind: 'servicePrincipal', clientSecret: 's' })).body;
    await admin('PUT', '/identities/net-trusted', { kind: 'servicePrincipal', clientSecret: 's', ...TRUSTED });
    await admin('POST', '/roleAssignments', { principal: 'net-owner', role: 'Key Vault Administrator', scope: '/' });
    await admin('POST', '/roleAssignments', { principal: 'net-trusted', role: 'Key Vault Administrator', scope: '/' });
    ownerToken = await tokenFor('net-owner');
    for (const vault of ['fw', 'closed']) expect((await admin('POST', '/vaults', { name: vault })).status).toBe(201);
    const patched = await admin('PATCH', '/vaults/fw', {
      networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '203.0.113.0/24' }, { value: '2001:db8::/32' }], virtualNetworkRules: [{ id: '/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/app' }] },
    });
    expect(patched.status).toBe(200);
    expect((await admin('PATCH', '/vaults/closed', { publicNetworkAccess: 'Disabled' })).status).toBe(200);
  });

  it('answers a caller outside the firewall with the service body, byte for byte', async () => {
    const res = await call(`/secrets/x?${V}`, { token: ownerToken, vault: 'fw', from: '198.51.100.7' });
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-ms-keyvault-network-info']).toBe('conn_type=Ipv4;addr=198.51.100.7;act_addr_fam=InterNetwork;');
    expect(res.body).toEqual({
      error: {
        code: 'Forbidden',
        message: `Client address is not authorized and caller is not a trusted service.\r\nClient address: 198.51.100.7\r\nCaller: ${caller(owner)}\r\nVault: fw;location=${emu.config.region}`,
        innererror: { code: 'ForbiddenByFirewall' },
      },
    });
  });

  it('names an IPv6 caller, and an IPv4 caller on an IPv6 socket by its IPv4 address', async () => {
    const v6 = await call(`/secrets/x?${V}`, { token: ownerToken, vault: 'fw', from: '2001:db9::5' });
    expect(v6.status).toBe(403);
    expect(v6.body.error.message).toContain('\r\nClient address: 2001:db9::5\r\n');
    expect(v6.headers['x-ms-keyvault-network-info']).toBe('conn_type=Ipv6;addr=2001:db9::5;act_addr_fam=InterNetworkV6;');
    const mapped = await call(`/secrets/x?${V}`, { token: ownerToken, vault: 'fw', from: '::ffff:198.51.100.8' });
    expect(mapped.body.error.message).toContain('\r\nClient address: 198.51.100.8\r\n');
    expect(mapped.headers['x-ms-keyvault-network-info']).toBe('conn_type=Ipv4;addr=198.51.100.8;act_addr_fam=InterNetwork;');
  });

  it('lets in callers matched by an ip rule (both families) or a declared subnet', async () => {
    for (const from of ['203.0.113.1', '203.0.113.255', '2001:db8::1', '::ffff:203.0.113.9', '10.1.0.200']) {
      expect((await call(`/secrets/missing?${V}`, { token: ownerToken, vault: 'fw', from })).status, from).toBe(404);
    }
    for (const from of ['203.0.114.0', '203.0.112.255', '2001:db9::1', '10.1.1.1']) {
      expect((await call(`/secrets/missing?${V}`, { token: ownerToken, vault: 'fw', from })).body.error.innererror.code, from).toBe('ForbiddenByFirewall');
    }
  });

  it('answers public traffic to a vault with public access disabled with ForbiddenByConnection, ip rules or not', async () => {
    await admin('PATCH', '/vaults/closed', { networkAcls: { defaultAction: 'Allow', ipRules: [{ value: '198.51.100.7' }] } });
    const res = await call(`/secrets?${V}`, { token: ownerToken, vault: 'closed', from: '198.51.100.7' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({
      error: {
        code: 'Forbidden',
        message: `Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\nCaller: ${caller(owner)}\r\nVault: closed;location=${emu.config.region}`,
        innererror: { code: 'ForbiddenByConnection' },
      },
    });
  });

  it('lets a trusted service through with bypass AzureServices, and not with bypass None', async () => {
    const token = await tokenFor('net-trusted');
    expect((await call(`/secrets?${V}`, { token, vault: 'fw', from: '198.51.100.7' })).status).toBe(200);
    expect((await call(`/secrets?${V}`, { token, vault: 'closed', from: '198.51.100.7' })).status).toBe(200);
    await admin('PATCH', '/vaults/closed', { networkAcls: { bypass: 'None' } });
    const refused = await call(`/secrets?${V}`, { token, vault: 'closed', from: '198.51.100.7' });
    expect(refused.body.error.innererror.code).toBe('ForbiddenByConnection');
    expect(refused.body.error.message).toContain(`Caller: ${caller(TRUSTED)}\r\n`);
    await admin('PATCH', '/vaults/closed', { networkAcls: { bypass: 'AzureServices' } });
  });

  it('comes after the 401 and before authorization', async () => {
    const probe = await call(`/secrets/x?${V}`, { vault: 'fw', from: '198.51.100.7' });
    expect(probe.status).toBe(401);
    expect(probe.headers['www-authenticate']).toMatch(/^Bearer authorization=/);
    const unauthorized = await tokenFor('net-nobody');
    const outside = await call(`/secrets/x?${V}`, { token: unauthorized, vault: 'fw', from: '198.51.100.7' });
    expect(outside.body.error.innererror.code).toBe('ForbiddenByFirewall');
    expect(outside.body.error.message).toContain(`Caller: ${caller(nobody)}\r\n`);
    const inside = await call(`/secrets/x?${V}`, { token: unauthorized, vault: 'fw', from: '203.0.113.4' });
    expect(inside.status).toBe(403);
    expect(inside.body.error.innererror.code).toBe('ForbiddenByRbac');
    // Ahead of request validation too: a malformed body from outside is still a firewall denial.
    const malformed = await call(`/secrets/x?${V}`, { token: ownerToken, vault: 'fw', from: '198.51.100.7', method: 'PUT', body: { nope: true } });
    expect(malformed.body.error.innererror.code).toBe('ForbiddenByFirewall');
  });

  it('leaves the admin API, the token endpoints and the health check alone', async () => {
    await admin('PATCH', '/vaults/default', { publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny' } });
    try {
      expect((await admin('GET', '/vaults/fw', undefined, '127.0.0.9')).status).toBe(200);
      const msi = await emu.app.inject({
        method: 'GET',
        url: `/msi/token?api-version=2019-08-01&resource=${encodeURIComponent('https://vault.azure.net')}`,
        headers: { 'x-identity-header': emu.material.identityHeader, host: 'localhost' },
        remoteAddress: '127.0.0.9',
      });
      expect(msi.statusCode).toBe(200);
      expect((await emu.app.inject({ method: 'GET', url: '/_emulator/health', remoteAddress: '198.51.100.7' })).statusCode).toBe(200);
    } finally {
      await admin('PATCH', '/vaults/default', { publicNetworkAccess: 'Enabled', networkAcls: { defaultAction: 'Allow' } });
    }
  });
});

describe('settings through the admin API', () => {
  it('shows ARM shapes, and refuses a bad setting naming the field without changing anything', async () => {
    await admin('POST', '/vaults', { name: 'settings', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.1' }] } });
    const before = (await admin('GET', '/vaults/settings')).body;
    expect(before).toMatchObject({
      publicNetworkAccess: 'Enabled',
      networkAcls: { bypass: 'AzureServices', defaultAction: 'Deny', ipRules: [{ value: '198.51.100.1/32' }], virtualNetworkRules: [] },
      privateEndpointConnections: [],
    });
    const bad = await admin('PATCH', '/vaults/settings', { publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Allow', ipRules: [{ value: '198.51.100.1' }, { value: '198.51.100.0/33' }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toEqual({
      code: 'BadParameter',
      message: "networkAcls.ipRules[1].value must be an IPv4 or IPv6 address or CIDR range; '198.51.100.0/33' has a prefix length that is not a whole number from 0 to 32.",
    });
    const tooMany = await admin('PATCH', '/vaults/settings', { networkAcls: { ipRules: Array.from({ length: 1001 }, (_, i) => ({ value: `198.51.${i >> 8}.${i & 255}` })) } });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error.message).toBe('networkAcls.ipRules holds 1001 rules; a vault allows at most 1000.');
    const mixed = await admin('PATCH', '/vaults/settings', { softDeleteRetentionInDays: 30, publicNetworkAccess: 'Sometimes' });
    expect(mixed.status).toBe(400);
    expect((await admin('GET', '/vaults/settings')).body).toEqual(before);
  });
});

describe('export and import', () => {
  it('carry the network settings, and an import with a bad one changes nothing', async () => {
    await admin('POST', '/vaults', { name: 'exported', publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.0/24' }] } });
    await admin('PATCH', '/vaults/exported', {
      privateEndpointConnections: [
        {
          properties: {
            privateEndpoint: { id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/pe9' },
            privateLinkServiceConnectionState: { status: 'Rejected', description: 'not this one' },
          },
        },
      ],
    });
    const state = (await admin('GET', '/export')).body;
    const exported = state.vaults.find((v: { name: string }) => v.name === 'exported');
    expect(exported).toMatchObject({ publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.0/24' }] } });
    expect(exported.privateEndpointConnections[0].properties.privateLinkServiceConnectionState.status).toBe('Rejected');

    const broken = structuredClone(state);
    broken.vaults.find((v: { name: string }) => v.name === 'exported').networkAcls.ipRules = [{ value: 'not-an-address' }];
    const refused = await admin('POST', '/import', broken);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toMatch(/^vaults\[\d+\]\.networkAcls\.ipRules\[0\]\.value must be an IPv4 or IPv6 address or CIDR range/);
    expect((await admin('GET', '/vaults/exported')).body.publicNetworkAccess).toBe('Disabled');

    // An export made before vaults had network settings imports with a new vault's settings.
    const older = structuredClone(state);
    for (const v of older.vaults) for (const field of ['publicNetworkAccess', 'networkAcls', 'privateEndpointConnections']) delete v[field];
    expect((await admin('POST', '/import', older)).status).toBe(200);
    expect((await admin('GET', '/vaults/exported')).body).toMatchObject({ publicNetworkAccess: 'Enabled', networkAcls: { defaultAction: 'Allow', ipRules: [] }, privateEndpointConnections: [] });

    await admin('POST', '/reset');
    expect((await admin('GET', '/vaults/exported')).status).toBe(404);
    expect((await admin('POST', '/import', state)).status).toBe(200);
    const back = (await admin('GET', '/vaults/exported')).body;
    expect({ publicNetworkAccess: back.publicNetworkAccess, networkAcls: back.networkAcls, privateEndpointConnections: back.privateEndpointConnections }).toEqual({
      publicNetworkAccess: exported.publicNetworkAccess,
      networkAcls: exported.networkAcls,
      privateEndpointConnections: exported.privateEndpointConnections,
    });
  });
});

describe('persistence', () => {
  it('keeps the settings across a restart on the same data directory', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kv-network-'));
    const material = await sharedMaterial();
    const start = () => buildApp(resolveConfig({ dataDir, logLevel: 'silent' }), { material, https: false });
    const first = await start();
    first.vaults.create('kept', { publicNetworkAccess: 'Disabled', networkAcls: { ...DEFAULT_VAULT_SETTINGS.networkAcls, defaultAction: 'Deny', ipRules: [{ value: '198.51.100.0/24' }] } });
    await first.app.close();
    const second = await start();
    try {
      expect(second.vaults.find('kept')).toMatchObject({ publicNetworkAccess: 'Disabled', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '198.51.100.0/24' }] } });
    } finally {
      await second.app.close();
    }
  });

  it('gives vaults stored before network settings existed the settings of a new vault', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kv-network-old-')), 'emulator.db');
    const old = new Database(file);
    old.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    for (const migration of MIGRATIONS.slice(0, 4)) old.exec(migration);
    old.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', '4')").run();
    old.prepare("INSERT INTO vaults (name, retention_days, purge_protection, permission_model, created_at) VALUES ('old', 7, 1, 'rbac', 1)").run();
    old.close();
    const db = openDatabase({ file });
    try {
      expect(new SqliteVaultRepository(db).find('old')).toEqual({ ...DEFAULT_VAULT_SETTINGS, name: 'old', retentionDays: 7, purgeProtection: true, createdAt: 1 });
    } finally {
      db.close();
    }
  });
});

describe('configuration', () => {
  it('refuses a vault with bad network settings, naming the field', () => {
    expect(() => parseConfigObject({ vaults: [{ name: 'v', networkAcls: { defaultAction: 'Deny', ipRules: [{ value: '10.0.0.0/8' }, { value: '10.0.0.1/' }] } }] })).toThrow(
      new ConfigError("Invalid configuration: 'vaults[0].networkAcls.ipRules[1].value' must be an IPv4 or IPv6 address or CIDR range; '10.0.0.1/' has a prefix length that is not a whole number from 0 to 32."),
    );
  });

  it('says in one line which private endpoint cannot listen, and why', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      for (const [listen, why] of [
        [`127.0.0.1:${port}`, `Cannot open private endpoint 'pe-busy' (vault 'v') on 127.0.0.1:${port}: the port is already in use (EADDRINUSE).`],
        ['203.0.113.9:0', "Cannot open private endpoint 'pe-busy' (vault 'v') on 203.0.113.9:0: the address is not one of this machine's (EADDRNOTAVAIL)."],
      ] as const) {
        const emulator = await buildApp(resolveConfig({ inMemory: true, logLevel: 'silent', extensions: { privateEndpoints: [{ name: 'pe-busy', vault: 'v', listen }] } }), {
          material: await sharedMaterial(),
          https: false,
        });
        const error = await emulator.app.ready().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toBe(why);
        await emulator.app.close().catch(() => undefined);
      }
    } finally {
      busy.close();
    }
  });

  it('the command stops with that one line and exit status 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-network-cli-'));
    const bin = resolve(import.meta.dirname, '../bin/kv-emulator.js');
    for (const [config, line] of [
      [{ privateEndpoints: [{ name: 'pe1', vault: 'v', listen: '203.0.113.9:0' }] }, "Cannot open private endpoint 'pe1' (vault 'v') on 203.0.113.9:0: the address is not one of this machine's (EADDRNOTAVAIL)."],
      [{ vaults: [{ name: 'v', publicNetworkAccess: 'Private' }] }, "Invalid configuration: 'vaults[0].publicNetworkAccess' must be one of 'Enabled', 'Disabled', got \"Private\"."],
    ] as const) {
      const file = join(dir, 'emulator.json');
      writeFileSync(file, JSON.stringify(config));
      const outcome = await promisify(execFile)(process.execPath, [bin, 'start', '--port', '0', '--in-memory', '--data-dir', dir, '--config', file], { timeout: 20_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code?: number; stderr?: string }) => ({ code: error.code, stderr: error.stderr ?? '' }),
      );
      expect(outcome).toEqual({ code: 2, stderr: `${line}\n` });
    }
  });
});
