// The management plane at the HTTP level (app.inject, real SQLite): ARM's authentication and its 401s,
// api-versions, subscriptions and tenants, resource groups, vaults (create, update, soft delete, recover,
// purge as an asynchronous operation, purge protection, access policies, name checks), role assignments and
// definitions, ARM's authorization by the same role assignments, and the one state: what ARM changes, the
// data plane does at once. Exact bodies are ARM's (errors.ts cites which are observed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectAdmin, injectJson, testEmulator, type InjectOptions, type Reply, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
const SUB = '00000000-0000-4000-8000-00000000e1a7';
const KV = 'api-version=2026-02-01';
const RG_V = 'api-version=2022-12-01';
const AUTH_V = 'api-version=2022-04-01';
const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
const SECRETS_USER = '4633458b-17de-408a-b874-0445c86b69e6';
const KV_CONTRIBUTOR = 'f25e0fa2-a7c8-4377-a976-54943a77a395';
const DATA_ACCESS_ADMIN = '8b54135c-b56d-4d72-a534-26097cfdc8d8';


beforeAll(async () => {
  emu = await testEmulator();
});
afterAll(() => emu.app.close());

const request = (method: string, url: string, options: InjectOptions = {}): Promise<Reply> => injectJson(emu, method, url, options);
const admin = (method: string, path: string, body?: unknown): Promise<any> => injectAdmin(emu, method, path, body);

interface Principal {
  name: string;
  objectId: string;
  clientId: string;
}

async function principal(name: string, kind: 'servicePrincipal' | 'user' = 'servicePrincipal'): Promise<Principal> {
  return { name, ...(await admin('PUT', `/identities/${name}`, { kind, ...(kind === 'servicePrincipal' && { clientSecret: `secret-${name}` }) })) };
}

async function token(name: string, audience = 'https://management.azure.com/', extra: Record<string, unknown> = {}): Promise<string> {
  return (await admin('POST', '/tokens', { principal: name, audience, ...extra })).access_token;
}

/** The built-in service principal: Owner of the subscription and Key Vault Administrator at the root by default. */
let owner: string;
let ownerVault: string;
beforeAll(async () => {
  owner = await token('kv-emulator-sp');
  ownerVault = await token('kv-emulator-sp', 'https://vault.azure.net');
});

const rgPath = (rg: string) => `/subscriptions/${SUB}/resourcegroups/${rg}`;
const vaultPath = (rg: string, vault: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${vault}`;
const vaultBody = (properties: Record<string, unknown> = {}, location = 'westeurope') => ({
  location,
  properties: { tenantId: emu.config.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [], ...properties },
});

async function group(name: string, token = owner): Promise<Reply> {
  return request('PUT', `${rgPath(name)}?${RG_V}`, { token, body: { location: 'westeurope' } });
}

async function createVault(rg: string, vault: string, properties: Record<string, unknown> = {}): Promise<Reply> {
  const res = await request('PUT', `${vaultPath(rg, vault)}?${KV}`, { token: owner, body: vaultBody(properties) });
  if (res.status !== 200) throw new Error(`create ${vault}: ${res.status} ${JSON.stringify(res.body)}`);
  return res;
}

/** A data-plane call on `vault` (*.vault.localhost, as the emulator serves vaults). */
async function data(method: string, vault: string, path: string, token: string, body?: unknown): Promise<Reply> {
  return request(method, `${path}?api-version=7.6`, { token, host: `${vault}.vault.localhost:8443`, ...(body !== undefined && { body }) });
}

async function assignRole(principalId: string, roleId: string, scope: string, token = owner): Promise<Reply> {
  const name = crypto.randomUUID();
  return request('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}?${AUTH_V}`, {
    token,
    body: { properties: { roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`, principalId } },
  });
}

describe('authentication', () => {
  it('asks for a token with ARM 401 AuthenticationFailed and a challenge', async () => {
    const res = await request('GET', `/subscriptions?${RG_V}`);
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: { code: 'AuthenticationFailed', message: "Authentication failed. The 'Authorization' header is missing." } });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer authorization_uri="https?:\/\/localhost:8443\/", error="invalid_token"/);
    expect(res.headers['x-ms-keyvault-service-version']).toBeUndefined();
  });

  it('refuses a Key Vault token with InvalidAuthenticationTokenAudience, and the vault refuses an ARM token with AKV10022', async () => {
    const res = await request('GET', `/subscriptions?${RG_V}`, { token: ownerVault });
    expect(res.status).toBe(401);
    expect(res.body.error).toEqual({
      code: 'InvalidAuthenticationTokenAudience',
      message:
        "The access token has been obtained for wrong audience or resource 'https://vault.azure.net'. It should exactly match with one of the allowed audiences " +
        "'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.",
    });
    const vault = await data('GET', 'default', '/secrets', owner);
    expect(vault.status).toBe(401);
    expect(vault.body.error.message).toBe('AKV10022: Invalid audience. Expected https://vault.azure.net or cfa8b339-82a2-471a-a3c9-0fc0be7a4093, found: https://management.azure.com/.');
  });

  it('takes tokens for management.core.windows.net and for the emulator origin, not for another origin', async () => {
    for (const audience of ['https://management.core.windows.net/', 'https://management.azure.com', 'https://localhost:8443', 'https://127.0.0.1:8443/']) {
      expect((await request('GET', `/subscriptions?${RG_V}`, { token: await token('kv-emulator-sp', audience) })).status, audience).toBe(200);
    }
    const other = await request('GET', `/subscriptions?${RG_V}`, { token: await token('kv-emulator-sp', 'https://localhost:9999') });
    expect(other.body.error.code).toBe('InvalidAuthenticationTokenAudience');
  });

  it('the token endpoints issue tokens for the emulator origin (the ARM SDKs ask for <endpoint>/.default)', async () => {
    const secret = (await admin('GET', '/identities/kv-emulator-sp')) as { clientId: string };
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: secret.clientId, client_secret: emu.material.clientSecret, scope: 'https://localhost:8443/.default' });
    const res = await emu.app.inject({ method: 'POST', url: '/adfs/oauth2/token', headers: { host: 'localhost:8443', 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
    expect(res.statusCode).toBe(200);
    const claims = JSON.parse(Buffer.from(JSON.parse(res.body).access_token.split('.')[1], 'base64url').toString());
    expect(claims.aud).toBe('https://localhost:8443');
    const elsewhere = new URLSearchParams({ ...Object.fromEntries(form), scope: 'https://example.com/.default' });
    const refused = await emu.app.inject({ method: 'POST', url: '/adfs/oauth2/token', headers: { host: 'localhost:8443', 'content-type': 'application/x-www-form-urlencoded' }, payload: elsewhere.toString() });
    expect(JSON.parse(refused.body).error).toBe('invalid_resource');
  });

  it('refuses expired, foreign-issuer and tampered tokens with ARM codes', async () => {
    const expired = await token('kv-emulator-sp', 'https://management.azure.com/', { issuedAt: 1_000_000_000, lifetimeSeconds: 60 });
    const res = await request('GET', `/subscriptions?${RG_V}`, { token: expired });
    expect(res.body.error.code).toBe('ExpiredAuthenticationToken');
    expect(res.body.error.message).toMatch(/^The access token expiry UTC time '9\/9\/2001 1:47:40 AM' is earlier than current UTC time '\d+\/\d+\/\d{4} \d+:\d\d:\d\d [AP]M'\.$/);
    const foreign = await token('kv-emulator-sp', 'https://management.azure.com/', { tenantId: '11111111-1111-4111-8111-111111111111' });
    const wrongTenant = await request('GET', `/subscriptions?${RG_V}`, { token: foreign });
    expect(wrongTenant.body.error.code).toBe('InvalidAuthenticationTokenTenant');
    expect(wrongTenant.body.error.message).toContain("The access token is from the wrong issuer 'https://sts.windows.net/11111111-1111-4111-8111-111111111111/'.");
    const [h, , sig] = owner.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ aud: 'https://management.azure.com/', oid: 'x', tid: 'y' })).toString('base64url')}.${sig}`;
    expect((await request('GET', `/subscriptions?${RG_V}`, { token: forged })).body.error).toEqual({ code: 'InvalidAuthenticationToken', message: 'The access token is invalid.' });
    expect((await request('GET', `/subscriptions?${RG_V}`, { headers: { authorization: 'Basic abc' } })).body.error.code).toBe('AuthenticationFailed');
  });
});

describe('api-versions', () => {
  it('are required, and checked per provider as ARM checks them', async () => {
    expect((await request('GET', '/subscriptions', { token: owner })).body.error).toEqual({
      code: 'MissingApiVersionParameter',
      message: 'The api-version query parameter (?api-version=) is required for all requests.',
    });
    const bad = await request('GET', `/subscriptions/${SUB}/resourcegroups?api-version=yesterday`, { token: owner });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidApiVersionParameter');
    const old = await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/vaults?api-version=2017-01-01`, { token: owner });
    expect(old.status).toBe(400);
    expect(old.body.error.code).toBe('NoRegisteredProviderFound');
    expect(old.body.error.message).toMatch(/^No registered resource provider found for location 'global' and API version '2017-01-01' for type 'vaults'\. The supported api-versions are '2015-06-01, 2016-10-01, .*2026-02-01.*'\./);
    // The Azure CLI 2.45's version, and one newer than any published, are taken.
    for (const version of ['2022-07-01', '2099-01-01']) {
      expect((await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/vaults?api-version=${version}`, { token: owner })).status).toBe(200);
    }
  });
});

describe('subscriptions, tenants and cloud metadata', () => {
  it('lists the one subscription to a principal with a role in it, and hides it from one without', async () => {
    const list = await request('GET', `/subscriptions?api-version=2019-11-01`, { token: owner });
    expect(list.body).toEqual({
      value: [
        {
          id: `/subscriptions/${SUB}`,
          authorizationSource: 'RoleBased',
          managedByTenants: [],
          tags: {},
          subscriptionId: SUB,
          tenantId: emu.config.tenantId,
          displayName: 'kv-emulator',
          state: 'Enabled',
          subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
        },
      ],
      count: { type: 'Total', value: 1 },
    });
    await principal('nobody');
    const nobody = await token('nobody');
    expect((await request('GET', `/subscriptions?${RG_V}`, { token: nobody })).body.value).toEqual([]);
    expect((await request('GET', `/subscriptions/${SUB}?${RG_V}`, { token: nobody })).body.error).toEqual({
      code: 'SubscriptionNotFound',
      message: `The subscription '${SUB}' could not be found.`,
    });
    const other = await request('GET', `/subscriptions/22222222-2222-4222-8222-222222222222/resourcegroups?${RG_V}`, { token: owner });
    expect(other.status).toBe(404);
    expect(other.body.error.code).toBe('SubscriptionNotFound');
    const tenants = await request('GET', `/tenants?${RG_V}`, { token: nobody });
    expect(tenants.body.value[0]).toMatchObject({ id: `/tenants/${emu.config.tenantId}`, tenantId: emu.config.tenantId, tenantCategory: 'Home' });
  });

  it('serves /metadata/endpoints without a token, with ARM audiences and the emulator as login endpoint', async () => {
    const res = await request('GET', '/metadata/endpoints?api-version=2015-01-01');
    expect(res.status).toBe(200);
    // inject() speaks plain HTTP: the origin is http:// here, https:// on the real server.
    expect(res.body.authentication).toEqual({
      loginEndpoint: 'http://localhost:8443/',
      audiences: ['https://management.core.windows.net/', 'https://management.azure.com/'],
      tenant: 'common',
      identityProvider: 'AAD',
    });
  });
});

describe('resource groups', () => {
  it('are created, read, listed, checked and deleted, with ARM status codes', async () => {
    const created = await group('Team-RG');
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: `/subscriptions/${SUB}/resourceGroups/Team-RG`,
      name: 'Team-RG',
      type: 'Microsoft.Resources/resourceGroups',
      location: 'westeurope',
      properties: { provisioningState: 'Succeeded' },
    });
    expect((await request('PUT', `${rgPath('team-rg')}?${RG_V}`, { token: owner, body: { location: 'West Europe', tags: { env: 'test' } } })).status).toBe(200);
    const moved = await request('PUT', `${rgPath('team-rg')}?${RG_V}`, { token: owner, body: { location: 'eastus' } });
    expect(moved.status).toBe(409);
    expect(moved.body.error).toEqual({ code: 'InvalidResourceGroupLocation', message: "Invalid resource group location 'eastus'. The Resource group already exists in location 'westeurope'." });
    expect((await request('GET', `${rgPath('team-rg')}?${RG_V}`, { token: owner })).body.tags).toEqual({ env: 'test' });
    expect((await request('HEAD', `${rgPath('team-rg')}?${RG_V}`, { token: owner })).status).toBe(204);
    expect((await request('HEAD', `${rgPath('missing')}?${RG_V}`, { token: owner })).status).toBe(404);
    expect((await request('GET', `${rgPath('missing')}?${RG_V}`, { token: owner })).body.error).toEqual({ code: 'ResourceGroupNotFound', message: "Resource group 'missing' could not be found." });
    const names = (await request('GET', `/subscriptions/${SUB}/resourcegroups?${RG_V}`, { token: owner })).body.value.map((g: { name: string }) => g.name);
    expect(names).toEqual(expect.arrayContaining(['kv-emulator', 'Team-RG']));
    expect((await request('PUT', `${rgPath('nowhere')}?${RG_V}`, { token: owner, body: { location: 'atlantis' } })).body.error.code).toBe('LocationNotAvailableForResourceGroup');
    expect((await request('PUT', `${rgPath('nowhere')}?${RG_V}`, { token: owner, body: {} })).body.error).toEqual({ code: 'LocationRequired', message: 'The location property is required for this definition.' });
    expect((await request('DELETE', `${rgPath('team-rg')}?${RG_V}`, { token: owner })).status).toBe(200);
    expect((await request('GET', `${rgPath('team-rg')}?${RG_V}`, { token: owner })).status).toBe(404);
  });

  it("keep the emulator's own group, locked against deletion", async () => {
    const res = await request('DELETE', `${rgPath('kv-emulator')}?${RG_V}`, { token: owner });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('ScopeLocked');
  });
});

describe('vaults', () => {
  beforeAll(async () => {
    await group('vaults-rg');
    await group('other-rg');
  });

  it('a vault made through ARM is the vault the data plane serves, with its settings', async () => {
    const created = await createVault('vaults-rg', 'made-by-arm', { softDeleteRetentionInDays: 7, enablePurgeProtection: true });
    expect(created.body).toMatchObject({
      id: vaultPath('vaults-rg', 'made-by-arm'),
      name: 'made-by-arm',
      type: 'Microsoft.KeyVault/vaults',
      location: 'westeurope',
      tags: {},
      properties: {
        sku: { family: 'A', name: 'standard' },
        tenantId: emu.config.tenantId,
        accessPolicies: [],
        enableSoftDelete: true,
        softDeleteRetentionInDays: 7,
        enableRbacAuthorization: true,
        enablePurgeProtection: true,
        vaultUri: 'https://made-by-arm.vault.localhost:8443/',
        provisioningState: 'Succeeded',
        publicNetworkAccess: 'Enabled',
      },
    });
    expect(created.body.systemData).toMatchObject({ createdByType: 'Application', lastModifiedByType: 'Application' });
    const set = await data('PUT', 'made-by-arm', '/secrets/s1', ownerVault, { value: 'v1' });
    expect(set.status).toBe(200);
    expect(set.body.attributes).toMatchObject({ recoveryLevel: 'CustomizedRecoverable', recoverableDays: 7 });
    expect((await admin('GET', '/vaults/made-by-arm')).purgeProtection).toBe(true);
  });

  it('vaults made elsewhere are ARM resources of the kv-emulator group', async () => {
    await data('PUT', 'first-use', '/secrets/x', ownerVault, { value: 'v' });
    const res = await request('GET', `${vaultPath('kv-emulator', 'first-use')}?${KV}`, { token: owner });
    expect(res.status).toBe(200);
    expect(res.body.properties).toMatchObject({ enableRbacAuthorization: true, softDeleteRetentionInDays: 90, vaultUri: 'https://first-use.vault.localhost:8443/' });
    expect(res.body.properties.enablePurgeProtection).toBeUndefined();
    const inOther = await request('GET', `${vaultPath('other-rg', 'first-use')}?${KV}`, { token: owner });
    expect(inOther.body.error).toEqual({
      code: 'ResourceNotFound',
      message: "The Resource 'Microsoft.KeyVault/vaults/first-use' under resource group 'other-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    });
  });

  it('defaults to RBAC from api-version 2026-02-01 and to access policies before it', async () => {
    const old = await request('PUT', `${vaultPath('vaults-rg', 'old-default')}?api-version=2023-07-01`, { token: owner, body: vaultBody() });
    expect(old.body.properties.enableRbacAuthorization).toBe(false);
    expect((await admin('GET', '/vaults/old-default')).permissionModel).toBe('accessPolicy');
  });

  it('validates names, locations, tenants and bodies with the provider messages', async () => {
    const badName = await request('PUT', `${vaultPath('vaults-rg', 'a--b')}?${KV}`, { token: owner, body: vaultBody() });
    expect(badName.status).toBe(400);
    expect(badName.body.error.code).toBe('VaultNameNotValid');
    expect(badName.body.error.message).toMatch(/^The vault name 'a--b' is invalid\. A vault's name must be between 3-24 alphanumeric characters\./);
    expect((await request('PUT', `${vaultPath('vaults-rg', 'no-location')}?${KV}`, { token: owner, body: { properties: vaultBody().properties } })).body.error.code).toBe(
      'LocationRequired',
    );
    const notBool = await request('PUT', `${vaultPath('vaults-rg', 'typed')}?${KV}`, { token: owner, body: vaultBody({ enableRbacAuthorization: 'yes' }) });
    expect(notBool.body.error).toEqual({
      code: 'InvalidRequestContent',
      message: "The request content was invalid and could not be deserialized: 'Error converting value \"yes\" to type 'System.Boolean'. Path 'properties.enableRbacAuthorization''.",
    });
    expect((await request('PUT', `${vaultPath('vaults-rg', 'typed')}?${KV}`, { token: owner, body: vaultBody({ softDeleteRetentionInDays: 3 }) })).body.error.code).toBe('BadRequest');
    expect((await request('PUT', `${vaultPath('vaults-rg', 'typed')}?${KV}`, { token: owner, raw: '{not json' })).body.error.code).toBe('InvalidRequestContent');
    expect((await request('PUT', `${vaultPath('vaults-rg', 'typed')}?${KV}`, { token: owner, raw: '{}', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    const noPurgeProtection = await request('PUT', `${vaultPath('vaults-rg', 'typed')}?${KV}`, { token: owner, body: vaultBody({ enablePurgeProtection: false }) });
    expect(noPurgeProtection.body.error).toEqual({
      code: 'BadRequest',
      message: 'The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.',
    });
    const closed = await request('PUT', `${vaultPath('vaults-rg', 'typed')}?${KV}`, { token: owner, body: vaultBody({ publicNetworkAccess: 'Closed' }) });
    expect(closed.status).toBe(400);
    expect(closed.body.error).toEqual({ code: 'BadRequest', message: `Invalid value found at properties.publicNetworkAccess: must be one of 'Enabled', 'Disabled', got "Closed".` });
    const open = await request('PUT', `${vaultPath('vaults-rg', 'open')}?${KV}`, {
      token: owner,
      body: vaultBody({ publicNetworkAccess: 'Enabled', networkAcls: { bypass: 'AzureServices', defaultAction: 'Allow', ipRules: [], virtualNetworkRules: [] } }),
    });
    expect(open.status).toBe(200);
    expect((await request('PUT', `${vaultPath('missing-rg', 'x-vault')}?${KV}`, { token: owner, body: vaultBody() })).body.error.code).toBe('ResourceGroupNotFound');
  });

  it('updates change the data plane at once; purge protection and retention cannot be undone', async () => {
    await createVault('vaults-rg', 'switching');
    await principal('switch-reader');
    const reader = await token('switch-reader', 'https://vault.azure.net');
    const put = await data('PUT', 'switching', '/secrets/s', ownerVault, { value: 'v' });
    expect(put.status).toBe(200);
    // RBAC: the reader holds no role on the vault.
    expect((await data('GET', 'switching', '/secrets/s', reader)).body.error.innererror.code).toBe('ForbiddenByRbac');
    // To access policies, giving the reader 'get'.
    const objectId = (await admin('GET', '/identities/switch-reader')).objectId;
    const patched = await request('PATCH', `${vaultPath('vaults-rg', 'switching')}?${KV}`, {
      token: owner,
      body: { properties: { enableRbacAuthorization: false, accessPolicies: [{ tenantId: emu.config.tenantId, objectId, permissions: { secrets: ['Get'], keys: ['get'] } }] } },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.properties.enableRbacAuthorization).toBe(false);
    expect(patched.body.properties.accessPolicies).toEqual([{ tenantId: emu.config.tenantId, objectId, permissions: { secrets: ['Get'], keys: ['get'] } }]);
    expect((await data('GET', 'switching', '/secrets/s', reader)).body.value).toBe('v');
    const denied = await data('GET', 'switching', '/secrets', reader);
    expect(denied.body.error.innererror.code).toBe('ForbiddenByPolicy');
    // Back to RBAC: the policy no longer counts.
    await request('PATCH', `${vaultPath('vaults-rg', 'switching')}?${KV}`, { token: owner, body: { properties: { enableRbacAuthorization: true } } });
    expect((await data('GET', 'switching', '/secrets/s', reader)).body.error.innererror.code).toBe('ForbiddenByRbac');
    await request('PATCH', `${vaultPath('vaults-rg', 'switching')}?${KV}`, { token: owner, body: { properties: { enablePurgeProtection: true } } });
    const undo = await request('PATCH', `${vaultPath('vaults-rg', 'switching')}?${KV}`, { token: owner, body: { properties: { enablePurgeProtection: false } } });
    expect(undo.body.error.code).toBe('BadRequest');
    const retention = await request('PATCH', `${vaultPath('vaults-rg', 'switching')}?${KV}`, { token: owner, body: { properties: { softDeleteRetentionInDays: 30 } } });
    expect(retention.body.error).toEqual({ code: 'BadRequest', message: 'The property "softDeleteRetentionInDays" has been set already and it can\'t be modified.' });
    const tags = await request('PUT', `${vaultPath('vaults-rg', 'switching')}?${KV}`, { token: owner, body: { ...vaultBody(), tags: { team: 'a' } } });
    expect(tags.status).toBe(200);
    expect(tags.body.tags).toEqual({ team: 'a' });
    expect(tags.body.properties.enablePurgeProtection).toBe(true);
    const moved = await request('PUT', `${vaultPath('vaults-rg', 'switching')}?${KV}`, { token: owner, body: vaultBody({}, 'eastus') });
    expect(moved.body.error.code).toBe('InvalidResourceLocation');
  });

  it('names are global: VaultAlreadyExists in another group, checkNameAvailability says why', async () => {
    await createVault('vaults-rg', 'taken-name');
    const elsewhere = await request('PUT', `${vaultPath('other-rg', 'taken-name')}?${KV}`, { token: owner, body: vaultBody() });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body.error.code).toBe('VaultAlreadyExists');
    expect(elsewhere.body.error.message).toMatch(/^The vault name 'taken-name' is already in use\. Vault names are globally unique/);
    const check = (name: string) =>
      request('POST', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/checkNameAvailability?${KV}`, { token: owner, body: { name, type: 'Microsoft.KeyVault/vaults' } });
    expect((await check('taken-name')).body).toMatchObject({ nameAvailable: false, reason: 'AlreadyExists' });
    expect((await check('free-name-1')).body).toEqual({ nameAvailable: true });
    expect((await check('1bad')).body).toMatchObject({ nameAvailable: false, reason: 'AccountNameInvalid' });
  });

  it('lists by group and by subscription, and as generic resources', async () => {
    await createVault('other-rg', 'listed-one');
    const byGroup = await request('GET', `/subscriptions/${SUB}/resourceGroups/other-rg/providers/Microsoft.KeyVault/vaults?${KV}`, { token: owner });
    expect(byGroup.body.value.map((v: { name: string }) => v.name)).toEqual(['listed-one']);
    const bySub = await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/vaults?${KV}`, { token: owner });
    expect(bySub.body.value.map((v: { name: string }) => v.name)).toEqual(expect.arrayContaining(['listed-one', 'made-by-arm', 'default']));
    const resources = await request('GET', `/subscriptions/${SUB}/resources?$filter=resourceType eq 'Microsoft.KeyVault/vaults'&api-version=2015-11-01`, { token: owner });
    expect(resources.body.value).toContainEqual({ id: vaultPath('other-rg', 'listed-one'), name: 'listed-one', type: 'Microsoft.KeyVault/vaults', location: 'westeurope', tags: {} });
  });

  it('access policies: add merges, replace replaces, remove takes away', async () => {
    await createVault('vaults-rg', 'policies', { enableRbacAuthorization: false });
    const one = await principal('policy-one');
    const path = (kind: string) => `${vaultPath('vaults-rg', 'policies')}/accessPolicies/${kind}?${KV}`;
    const entry = (secrets: string[], extra: Record<string, unknown> = {}) => ({ tenantId: emu.config.tenantId, objectId: one.objectId, permissions: { secrets, ...extra } });
    const added = await request('PUT', path('add'), { token: owner, body: { properties: { accessPolicies: [entry(['get'], { certificates: ['get'] })] } } });
    expect(added.status).toBe(200);
    expect(added.body).toEqual({
      id: `${vaultPath('vaults-rg', 'policies')}/accessPolicies/add`,
      type: 'Microsoft.KeyVault/vaults/accessPolicies',
      properties: { accessPolicies: [entry(['get'], { certificates: ['get'] })] },
    });
    await request('PUT', path('add'), { token: owner, body: { properties: { accessPolicies: [entry(['list'])] } } });
    const tokenOne = await token('policy-one', 'https://vault.azure.net');
    expect((await data('GET', 'policies', '/secrets', tokenOne)).status).toBe(200);
    let vault = await request('GET', `${vaultPath('vaults-rg', 'policies')}?${KV}`, { token: owner });
    expect(vault.body.properties.accessPolicies).toEqual([entry(['get', 'list'], { certificates: ['get'] })]);
    await request('PUT', path('replace'), { token: owner, body: { properties: { accessPolicies: [entry(['set'])] } } });
    expect((await data('GET', 'policies', '/secrets', tokenOne)).body.error.innererror.code).toBe('ForbiddenByPolicy');
    expect((await data('PUT', 'policies', '/secrets/by-one', tokenOne, { value: 'x' })).status).toBe(200);
    await request('PUT', path('remove'), { token: owner, body: { properties: { accessPolicies: [entry(['set'])] } } });
    vault = await request('GET', `${vaultPath('vaults-rg', 'policies')}?${KV}`, { token: owner });
    expect(vault.body.properties.accessPolicies).toEqual([]);
    expect((await admin('GET', '/accessPolicies?vault=policies')).value).toEqual([]);
    const invalid = await request('PUT', path('add'), { token: owner, body: { properties: { accessPolicies: [entry(['steal'])] } } });
    expect(invalid.body.error).toEqual({ code: 'BadRequest', message: 'Invalid value found at accessPolicies[0].permissions.secrets[0]: steal' });
    expect((await request('PUT', path('merge'), { token: owner, body: { properties: { accessPolicies: [] } } })).status).toBe(400);
  });
});

describe('soft delete, recover and purge of vaults', () => {
  beforeAll(async () => {
    await group('lifecycle-rg');
  });

  it('delete soft-deletes the vault with its secrets; the data plane answers 404; recover brings everything back', async () => {
    await createVault('lifecycle-rg', 'kept-vault');
    await data('PUT', 'kept-vault', '/secrets/inside', ownerVault, { value: 'still here' });
    const deleted = await request('DELETE', `${vaultPath('lifecycle-rg', 'kept-vault')}?${KV}`, { token: owner });
    expect(deleted.status).toBe(200);
    expect((await request('DELETE', `${vaultPath('lifecycle-rg', 'kept-vault')}?${KV}`, { token: owner })).status).toBe(204);
    expect((await request('GET', `${vaultPath('lifecycle-rg', 'kept-vault')}?${KV}`, { token: owner })).status).toBe(404);
    const gone = await data('GET', 'kept-vault', '/secrets/inside', ownerVault);
    expect(gone.status).toBe(404);
    expect(gone.body.error.message).toMatch(/^The vault 'kept-vault' is deleted/);
    const list = await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/deletedVaults?${KV}`, { token: owner });
    const item = list.body.value.find((v: { name: string }) => v.name === 'kept-vault');
    expect(item).toMatchObject({
      id: `/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kept-vault`,
      type: 'Microsoft.KeyVault/deletedVaults',
      properties: { vaultId: vaultPath('lifecycle-rg', 'kept-vault'), location: 'westeurope', tags: {}, purgeProtectionEnabled: false },
    });
    expect(Date.parse(item.properties.scheduledPurgeDate) - Date.parse(item.properties.deletionDate)).toBe(90 * 86_400_000);
    const got = await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/kept-vault?${KV}`, { token: owner });
    expect(got.body).toEqual(item);
    const reuse = await request('PUT', `${vaultPath('lifecycle-rg', 'kept-vault')}?${KV}`, { token: owner, body: vaultBody() });
    expect(reuse.status).toBe(409);
    expect(reuse.body.error.code).toBe('ConflictError');
    const recovered = await request('PUT', `${vaultPath('lifecycle-rg', 'kept-vault')}?${KV}`, { token: owner, body: { location: 'westeurope', properties: { createMode: 'recover' } } });
    expect(recovered.status).toBe(200);
    expect((await data('GET', 'kept-vault', '/secrets/inside', ownerVault)).body.value).toBe('still here');
    const again = await request('PUT', `${vaultPath('lifecycle-rg', 'kept-vault')}?${KV}`, { token: owner, body: { location: 'westeurope', properties: { createMode: 'recover' } } });
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('SoftDeletedVaultDoesNotExist');
  });

  it('purge is an asynchronous operation with Location and Azure-AsyncOperation; the name is then free', async () => {
    await createVault('lifecycle-rg', 'purged-vault');
    await data('PUT', 'purged-vault', '/secrets/inside', ownerVault, { value: 'v' });
    await request('DELETE', `${vaultPath('lifecycle-rg', 'purged-vault')}?${KV}`, { token: owner });
    const purge = await request('POST', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/purged-vault/purge?${KV}`, { token: owner });
    expect(purge.status).toBe(202);
    const location = new URL(String(purge.headers.location));
    const status = new URL(String(purge.headers['azure-asyncoperation']));
    expect(location.pathname).toMatch(new RegExp(`^/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/operationResults/[\\w-]+$`));
    expect((await request('GET', `${location.pathname}${location.search}`, { token: owner })).status).toBe(200);
    const polled = await request('GET', `${status.pathname}${status.search}`, { token: owner });
    expect(polled.body).toMatchObject({ status: 'Succeeded' });
    expect((await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/purged-vault?${KV}`, { token: owner })).status).toBe(404);
    await createVault('lifecycle-rg', 'purged-vault');
    expect((await data('GET', 'purged-vault', '/secrets/inside', ownerVault)).status).toBe(404);
  });

  it('purge protection refuses the purge until the retention has passed on the emulator clock, then the vault is purged', async () => {
    await createVault('lifecycle-rg', 'protected-vault', { enablePurgeProtection: true, softDeleteRetentionInDays: 7 });
    await request('DELETE', `${vaultPath('lifecycle-rg', 'protected-vault')}?${KV}`, { token: owner });
    const purge = `/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/protected-vault/purge?${KV}`;
    const refused = await request('POST', purge, { token: owner });
    expect(refused.status).toBe(405);
    expect(refused.body.error).toEqual({ code: 'MethodNotAllowed', message: "Operation 'DeletedVaultPurge' is not allowed." });
    emu.clock.advance(7 * 86_400_000 + 1000);
    try {
      const list = await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/deletedVaults?${KV}`, { token: await token('kv-emulator-sp') });
      expect(list.body.value.map((v: { name: string }) => v.name)).not.toContain('protected-vault');
      expect(emu.vaults.findAny('protected-vault')).toBeUndefined();
    } finally {
      emu.clock.reset();
    }
  });

  it("export and import keep a vault's resource group and its soft deletion (with its secrets)", async () => {
    await group('export-rg');
    await createVault('export-rg', 'exported-vault');
    await createVault('export-rg', 'exported-gone');
    await data('PUT', 'exported-gone', '/secrets/inside', ownerVault, { value: 'kept' });
    await request('DELETE', `${vaultPath('export-rg', 'exported-gone')}?${KV}`, { token: owner });
    const exported = await admin('GET', '/export');
    expect(exported.vaults.find((v: { name: string }) => v.name === 'exported-gone')).toMatchObject({ resourceGroup: 'export-rg', deleted: { deletedAt: expect.any(Number) } });
    await admin('POST', '/import', exported);
    expect(emu.vaults.findAny('exported-vault')?.resourceGroup).toBe('export-rg');
    expect(emu.vaults.findAny('exported-gone')?.deleted).toBeDefined();
    await request('PUT', `${vaultPath('export-rg', 'exported-gone')}?${KV}`, { token: owner, body: { location: 'westus', properties: { createMode: 'recover' } } });
    expect((await data('GET', 'exported-gone', '/secrets/inside', ownerVault)).body.value).toBe('kept');
  });

  it('deleting a resource group soft-deletes its vaults', async () => {
    await group('doomed-rg');
    await createVault('doomed-rg', 'doomed-vault');
    expect((await request('DELETE', `${rgPath('doomed-rg')}?${RG_V}`, { token: owner })).status).toBe(200);
    expect(emu.vaults.findAny('doomed-vault')?.deleted).toBeDefined();
  });
});

describe('role assignments and definitions', () => {
  beforeAll(async () => {
    await group('roles-rg');
    await createVault('roles-rg', 'roles-vault');
    await data('PUT', 'roles-vault', '/secrets/app-secret', ownerVault, { value: 'the value' });
  });

  it('a Key Vault Secrets User assignment made through ARM opens the secret at once; removing it closes it', async () => {
    const app = await principal('app-reader');
    const appToken = await token('app-reader', 'https://vault.azure.net');
    expect((await data('GET', 'roles-vault', '/secrets/app-secret', appToken)).status).toBe(403);
    const put = await assignRole(app.objectId, SECRETS_USER, vaultPath('roles-rg', 'roles-vault'));
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({
      properties: {
        roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${SECRETS_USER}`,
        principalId: app.objectId,
        principalType: 'ServicePrincipal',
        scope: vaultPath('roles-rg', 'roles-vault'),
        condition: null,
        description: null,
      },
      type: 'Microsoft.Authorization/roleAssignments',
    });
    expect(put.body.id).toBe(`${vaultPath('roles-rg', 'roles-vault')}/providers/Microsoft.Authorization/roleAssignments/${put.body.name}`);
    const read = await data('GET', 'roles-vault', '/secrets/app-secret', appToken);
    expect(read.body.value).toBe('the value');
    expect(read.headers['x-ms-keyvault-rbac-assignment-id']).toBe(put.body.name.replaceAll('-', ''));
    expect((await request('GET', `${put.body.id}?${AUTH_V}`, { token: owner })).body).toEqual(put.body);
    const removed = await request('DELETE', `${put.body.id}?${AUTH_V}`, { token: owner });
    expect(removed.status).toBe(200);
    expect((await request('DELETE', `${put.body.id}?${AUTH_V}`, { token: owner })).status).toBe(204);
    expect((await request('GET', `${put.body.id}?${AUTH_V}`, { token: owner })).body.error.code).toBe('RoleAssignmentNotFound');
    const denied = await data('GET', 'roles-vault', '/secrets/app-secret', appToken);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain(`Resource: '/subscriptions/${SUB}/resourcegroups/roles-rg/providers/microsoft.keyvault/vaults/roles-vault/secrets/app-secret'`);
  });

  it('refuses duplicates, updates, unknown principals and roles with ARM codes', async () => {
    const app = await principal('dup-holder');
    const scope = vaultPath('roles-rg', 'roles-vault');
    const first = await assignRole(app.objectId, SECRETS_USER, scope);
    expect(first.status).toBe(201);
    expect((await assignRole(app.objectId, SECRETS_USER, scope)).body.error).toEqual({ code: 'RoleAssignmentExists', message: 'The role assignment already exists.' });
    const sameName = await request('PUT', `${first.body.id}?${AUTH_V}`, {
      token: owner,
      body: { properties: { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${OWNER}`, principalId: app.objectId } },
    });
    expect(sameName.body.error.code).toBe('RoleAssignmentUpdateNotPermitted');
    const ghost = await assignRole('99999999-9999-4999-8999-999999999999', SECRETS_USER, scope);
    expect(ghost.status).toBe(400);
    expect(ghost.body.error.code).toBe('PrincipalNotFound');
    expect((await assignRole(app.objectId, '99999999-9999-4999-8999-999999999999', scope)).body.error.code).toBe('RoleDefinitionDoesNotExist');
    const user = await principal('typed-user', 'user');
    const mistyped = await request('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/${crypto.randomUUID()}?${AUTH_V}`, {
      token: owner,
      body: { properties: { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${SECRETS_USER}`, principalId: user.objectId, principalType: 'ServicePrincipal' } },
    });
    expect(mistyped.body.error.code).toBe('UnmatchedPrincipalType');
    const badName = await request('PUT', `${scope}/providers/Microsoft.Authorization/roleAssignments/not-a-guid?${AUTH_V}`, {
      token: owner,
      body: { properties: { roleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${SECRETS_USER}`, principalId: app.objectId } },
    });
    expect(badName.body.error.code).toBe('InvalidRoleAssignmentId');
    expect((await assignRole(app.objectId, SECRETS_USER, vaultPath('roles-rg', 'no-such-vault'))).body.error.code).toBe('ResourceNotFound');
  });

  it('lists at, above and below a scope, atScope() and principalId eq filters', async () => {
    const holder = await principal('list-holder');
    const vaultScope = vaultPath('roles-rg', 'roles-vault');
    const atVault = (await assignRole(holder.objectId, SECRETS_USER, vaultScope)).body.name;
    const atGroup = (await assignRole(holder.objectId, KV_CONTRIBUTOR, `/subscriptions/${SUB}/resourceGroups/roles-rg`)).body.name;
    const atSecret = (await assignRole(holder.objectId, SECRETS_USER, `${vaultScope}/secrets/app-secret`)).body.name;
    const names = async (scope: string, filter?: string) =>
      (
        await request('GET', `${scope}/providers/Microsoft.Authorization/roleAssignments?${AUTH_V}${filter ? `&$filter=${encodeURIComponent(filter)}` : ''}`, { token: owner })
      ).body.value
        .filter((a: { properties: { principalId: string } }) => a.properties.principalId === holder.objectId)
        .map((a: { name: string }) => a.name)
        .sort();
    expect(await names(vaultScope)).toEqual([atVault, atGroup, atSecret].sort());
    expect(await names(vaultScope, 'atScope()')).toEqual([atVault, atGroup].sort());
    expect(await names(`/subscriptions/${SUB}`, `principalId eq '${holder.objectId}'`)).toEqual([atVault, atGroup, atSecret].sort());
    expect(await names(`/subscriptions/${SUB}`, 'atScope()')).toEqual([]);
    const bad = await request('GET', `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleAssignments?${AUTH_V}&$filter=name eq 'x'`, { token: owner });
    expect(bad.body.error.code).toBe('InvalidFilterInQueryString');
  });

  it('serves the built-in role definitions with their real ids, actions and data actions', async () => {
    const list = await request('GET', `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions?${AUTH_V}&$filter=${encodeURIComponent("roleName eq 'Key Vault Secrets User'")}`, {
      token: owner,
    });
    expect(list.body.value).toHaveLength(1);
    expect(list.body.value[0]).toMatchObject({
      id: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${SECRETS_USER}`,
      name: SECRETS_USER,
      type: 'Microsoft.Authorization/roleDefinitions',
      properties: {
        roleName: 'Key Vault Secrets User',
        type: 'BuiltInRole',
        assignableScopes: ['/'],
        permissions: [{ actions: [], notActions: [], dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action', 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'], notDataActions: [] }],
      },
    });
    const contributor = await request('GET', `/providers/Microsoft.Authorization/roleDefinitions/${KV_CONTRIBUTOR}?${AUTH_V}`, { token: owner });
    expect(contributor.body.id).toBe(`/providers/Microsoft.Authorization/roleDefinitions/${KV_CONTRIBUTOR}`);
    expect(contributor.body.properties.permissions[0].notActions).toContain('Microsoft.KeyVault/locations/deletedVaults/purge/action');
    expect((await request('GET', `/providers/Microsoft.Authorization/roleDefinitions/11111111-1111-4111-8111-111111111111?${AUTH_V}`, { token: owner })).status).toBe(404);
  });

  it('deleting a vault removes the role assignments on it', async () => {
    await createVault('roles-rg', 'short-lived');
    const app = await principal('short-lived-user');
    const assignment = (await assignRole(app.objectId, SECRETS_USER, vaultPath('roles-rg', 'short-lived'))).body;
    await request('DELETE', `${vaultPath('roles-rg', 'short-lived')}?${KV}`, { token: owner });
    expect(emu.access.getAssignment(assignment.name)).toBeUndefined();
  });
});

describe('authorization of the management plane', () => {
  beforeAll(async () => {
    await group('authz-rg');
    await createVault('authz-rg', 'authz-vault');
    await data('PUT', 'authz-vault', '/secrets/guarded', ownerVault, { value: 'v' });
  });

  it('Key Vault Contributor manages the vault but is refused its secrets and role assignments', async () => {
    const contributor = await principal('kv-contributor');
    await assignRole(contributor.objectId, KV_CONTRIBUTOR, `/subscriptions/${SUB}/resourceGroups/authz-rg`);
    const arm = await token('kv-contributor');
    const patched = await request('PATCH', `${vaultPath('authz-rg', 'authz-vault')}?${KV}`, { token: arm, body: { tags: { by: 'contributor' } } });
    expect(patched.status).toBe(200);
    expect(patched.body.systemData.lastModifiedBy).toBe(contributor.clientId);
    const secret = await data('GET', 'authz-vault', '/secrets/guarded', await token('kv-contributor', 'https://vault.azure.net'));
    expect(secret.status).toBe(403);
    expect(secret.body.error.innererror.code).toBe('ForbiddenByRbac');
    const grant = await assignRole(contributor.objectId, SECRETS_USER, vaultPath('authz-rg', 'authz-vault'), arm);
    expect(grant.status).toBe(403);
    expect(grant.body.error.code).toBe('AuthorizationFailed');
    expect(grant.body.error.message).toMatch(
      new RegExp(
        `^The client '${contributor.objectId}' with object id '${contributor.objectId}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '${vaultPath('authz-rg', 'authz-vault')}/providers/Microsoft.Authorization/roleAssignments/[0-9a-f-]{36}' or the scope is invalid\\. If access was recently granted, please refresh your credentials\\.$`,
      ),
    );
    // Its role is on its own group: a vault in another group is out of its reach.
    const outside = await request('PUT', `${vaultPath('vaults-rg', 'made-by-arm')}?${KV}`, { token: arm, body: vaultBody() });
    expect(outside.body.error.code).toBe('AuthorizationFailed');
  });

  it('a data role grants nothing on ARM beyond reading; a Secrets User may not even read the vault', async () => {
    const user = await principal('secrets-only');
    await assignRole(user.objectId, SECRETS_USER, vaultPath('authz-rg', 'authz-vault'));
    const arm = await token('secrets-only');
    const read = await request('GET', `${vaultPath('authz-rg', 'authz-vault')}?${KV}`, { token: arm });
    expect(read.status).toBe(403);
    expect(read.body.error.message).toContain(`does not have authorization to perform action 'Microsoft.KeyVault/vaults/read' over scope '${vaultPath('authz-rg', 'authz-vault')}'`);
    expect((await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/vaults?${KV}`, { token: arm })).body.value).toEqual([]);
    expect((await data('GET', 'authz-vault', '/secrets/guarded', await token('secrets-only', 'https://vault.azure.net'))).body.value).toBe('v');
    // Key Vault Administrator reads the vault resource, and cannot write it.
    const kvAdmin = await principal('kv-admin');
    await assignRole(kvAdmin.objectId, '00482a5a-887f-4fb3-b363-3b7fe8e74483', vaultPath('authz-rg', 'authz-vault'));
    const adminArm = await token('kv-admin');
    expect((await request('GET', `${vaultPath('authz-rg', 'authz-vault')}?${KV}`, { token: adminArm })).status).toBe(200);
    expect((await request('PATCH', `${vaultPath('authz-rg', 'authz-vault')}?${KV}`, { token: adminArm, body: { tags: {} } })).status).toBe(403);
  });

  it('Key Vault Data Access Administrator assigns Key Vault data roles only (its ABAC condition)', async () => {
    const dataAdmin = await principal('data-access-admin');
    await assignRole(dataAdmin.objectId, DATA_ACCESS_ADMIN, vaultPath('authz-rg', 'authz-vault'));
    const arm = await token('data-access-admin');
    const target = await principal('granted-by-daa');
    expect((await assignRole(target.objectId, SECRETS_USER, vaultPath('authz-rg', 'authz-vault'), arm)).status).toBe(201);
    const owned = await assignRole(target.objectId, OWNER, vaultPath('authz-rg', 'authz-vault'), arm);
    expect(owned.status).toBe(403);
    expect(owned.body.error.code).toBe('AuthorizationFailed');
  });

  it('Reader reads but does not write; User Access Administrator assigns roles but does not write vaults', async () => {
    const reader = await principal('plain-reader');
    await assignRole(reader.objectId, 'acdd72a7-3385-48ef-bd42-f606fba81ae7', `/subscriptions/${SUB}`);
    const readerArm = await token('plain-reader');
    expect((await request('GET', `${vaultPath('authz-rg', 'authz-vault')}?${KV}`, { token: readerArm })).status).toBe(200);
    expect((await group('reader-made', readerArm)).status).toBe(403);
    const uaa = await principal('access-admin');
    await assignRole(uaa.objectId, '18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', `/subscriptions/${SUB}`);
    const uaaArm = await token('access-admin');
    expect((await assignRole(reader.objectId, SECRETS_USER, vaultPath('authz-rg', 'authz-vault'), uaaArm)).status).toBe(201);
    expect((await request('PATCH', `${vaultPath('authz-rg', 'authz-vault')}?${KV}`, { token: uaaArm, body: { tags: {} } })).status).toBe(403);
  });
});

describe('unserved paths', () => {
  it('answer with ARM errors, never the Key Vault envelope', async () => {
    const storage = await request('GET', `/subscriptions/${SUB}/resourceGroups/kv-emulator/providers/Microsoft.Storage/storageAccounts?api-version=2023-01-01`, { token: owner });
    expect(storage.body.error).toEqual({ code: 'InvalidResourceNamespace', message: "The resource namespace 'Microsoft.Storage' is invalid." });
    const keys = await request('GET', `${vaultPath('kv-emulator', 'default')}/keys?${KV}`, { token: owner });
    expect(keys.body.error.code).toBe('InvalidResourceType');
    const method = await request('POST', `/subscriptions?${RG_V}`, { token: owner });
    expect(method.status).toBe(405);
  });
});
