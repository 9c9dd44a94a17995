// Authorization and token checks at the HTTP level: the exact 403 bodies of RBAC and access-policy
// denials (spec §5, §5.1), their place in the order of checks (§5.2), the assignment-id header, and the
// vault's 401s for tampered, expired, wrong-audience, wrong-issuer, foreign-key and alg:none tokens, each
// with the challenge header.
import { SignJWT, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from './support/openapi.js';
import { injectAdmin, injectJson, testEmulator, type InjectOptions, type Reply, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
const V = 'api-version=7.6';
const SECRETS = 'Microsoft.KeyVault/vaults/secrets';

beforeAll(async () => {
  emu = await testEmulator();
});
afterAll(() => emu.app.close());


const call = (method: string, url: string, options: InjectOptions = {}): Promise<Reply> => injectJson(emu, method, url, options, 'access.vault.azure.net');
const adminCall = (method: string, path: string, body?: unknown): Promise<any> => injectAdmin(emu, method, path, body);

async function principal(name: string, kind = 'servicePrincipal'): Promise<{ objectId: string; clientId: string }> {
  return adminCall('PUT', `/identities/${name}`, { kind, ...(kind === 'servicePrincipal' && { clientSecret: `secret-${name}` }) });
}

async function assign(name: string, role: string, scope: string): Promise<string> {
  return (await adminCall('POST', '/roleAssignments', { principal: name, role, scope })).id;
}

async function tokenFor(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await adminCall('POST', '/tokens', { principal: name, ...extra })).access_token;
}

const tenant = () => emu.config.tenantId;
const resourceOf = (vault: string, secret?: string) =>
  `/subscriptions/00000000-0000-4000-8000-00000000e1a7/resourcegroups/kv-emulator/providers/microsoft.keyvault/vaults/${vault}${secret ? `/secrets/${secret}` : ''}`;

function rbacDenial(caller: string, action: string, resource: string, vault: string): string {
  return (
    'Caller is not authorized to perform action on resource.\r\n' +
    'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
    `Caller: ${caller}\r\n` +
    `Action: '${action}'\r\n` +
    `Resource: '${resource}'\r\n` +
    'Assignment: (not found)\r\n' +
    'DenyAssignmentId: null\r\n' +
    "DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
    `Vault: ${vault};location=westus\r\n`
  );
}

function expectForbidden(res: Reply, message: string, inner: 'ForbiddenByRbac' | 'ForbiddenByPolicy') {
  expect(res.status).toBe(403);
  expectValid('KeyVaultError', res.body);
  expect(res.body).toEqual({ error: { code: 'Forbidden', message, innererror: { code: inner } } });
  expect(res.headers['x-ms-keyvault-rbac-assignment-id']).toBeUndefined();
}

describe('RBAC', () => {
  let reader: { objectId: string; clientId: string };
  let readerToken: string;
  let readerAssignment: string;

  beforeAll(async () => {
    reader = await principal('rbac-reader');
    readerAssignment = await assign('rbac-reader', 'Key Vault Reader', '/vaults/access');
    readerToken = await tokenFor('rbac-reader');
  });

  const readerCaller = () => `appid=${reader.clientId};oid=${reader.objectId};iss=https://sts.windows.net/${tenant()}/`;

  it('denies with the real multi-line 403 naming caller, action and secret, even for a missing secret', async () => {
    const res = await call('GET', `/secrets/No-Such-Secret/?${V}`, { token: readerToken });
    expectForbidden(res, rbacDenial(readerCaller(), `${SECRETS}/getSecret/action`, resourceOf('access', 'no-such-secret'), 'access'), 'ForbiddenByRbac');
  });

  it('checks authorization before parsing the body (403, not 400, for a malformed request)', async () => {
    const res = await call('PUT', `/secrets/bad_name?${V}`, { token: readerToken, raw: '{not json' });
    expectForbidden(res, rbacDenial(readerCaller(), `${SECRETS}/setSecret/action`, resourceOf('access', 'bad_name'), 'access'), 'ForbiddenByRbac');
  });

  it('allows what the role grants and names the assignment in x-ms-keyvault-rbac-assignment-id', async () => {
    const res = await call('GET', `/secrets?${V}`, { token: readerToken });
    expect(res.status).toBe(200);
    expectValid('SecretListResult', res.body);
    expect(res.headers['x-ms-keyvault-rbac-assignment-id']).toBe(readerAssignment.replaceAll('-', ''));
    const deleted = await call('GET', `/deletedsecrets/none?${V}`, { token: readerToken });
    expect(deleted.status).toBe(404);
    expect(deleted.headers['x-ms-keyvault-rbac-assignment-id']).toBe(readerAssignment.replaceAll('-', ''));
  });

  it('limits a vault-scoped assignment to its vault', async () => {
    const res = await call('GET', `/secrets?${V}`, { token: readerToken, host: 'elsewhere.vault.azure.net' });
    expectForbidden(res, rbacDenial(readerCaller(), `${SECRETS}/readMetadata/action`, resourceOf('elsewhere'), 'elsewhere'), 'ForbiddenByRbac');
  });

  it('lets a secret-scoped assignment act on that secret only, and never list the vault', async () => {
    const user = await principal('rbac-one-secret');
    await call('PUT', `/secrets/shared?${V}`, { token: await emu.token(), body: { value: 'v' } });
    await call('PUT', `/secrets/other?${V}`, { token: await emu.token(), body: { value: 'v' } });
    // The subscription an ARM scope names is not compared (the emulator has one); the resource group is.
    const id = await assign('rbac-one-secret', 'Key Vault Secrets User', '/subscriptions/any/resourceGroups/KV-Emulator/providers/Microsoft.KeyVault/vaults/access/secrets/Shared');
    const token = await tokenFor('rbac-one-secret');
    const caller = `appid=${user.clientId};oid=${user.objectId};iss=https://sts.windows.net/${tenant()}/`;
    const get = await call('GET', `/secrets/shared/?${V}`, { token });
    expect(get.status).toBe(200);
    expect(get.body.value).toBe('v');
    expect(get.headers['x-ms-keyvault-rbac-assignment-id']).toBe(id.replaceAll('-', ''));
    const versions = await call('GET', `/secrets/shared/versions?${V}`, { token });
    expect(versions.status).toBe(200);
    expectForbidden(await call('GET', `/secrets/other/?${V}`, { token }), rbacDenial(caller, `${SECRETS}/getSecret/action`, resourceOf('access', 'other'), 'access'), 'ForbiddenByRbac');
    expectForbidden(await call('GET', `/secrets?${V}`, { token }), rbacDenial(caller, `${SECRETS}/readMetadata/action`, resourceOf('access'), 'access'), 'ForbiddenByRbac');
    expectForbidden(await call('PUT', `/secrets/shared?${V}`, { token, body: { value: 'x' } }), rbacDenial(caller, `${SECRETS}/setSecret/action`, resourceOf('access', 'shared'), 'access'), 'ForbiddenByRbac');
  });

  it('adds the managed identity ids to the caller of a denial', async () => {
    const mi = await adminCall('PUT', '/identities/rbac-worker', { kind: 'managedIdentity' });
    const res = await emu.app.inject({
      method: 'GET',
      url: `/msi/token?api-version=2019-08-01&resource=https://vault.azure.net&client_id=${mi.clientId}`,
      headers: { 'x-identity-header': emu.material.identityHeader },
    });
    const token = res.json().access_token as string;
    const denied = await call('PUT', `/secrets/x?${V}`, { token, body: { value: 'v' } });
    const caller = `appid=${mi.clientId};oid=${mi.objectId};iss=https://sts.windows.net/${tenant()}/;xms_mirid=${mi.resourceId};xms_az_rid=${mi.resourceId}`;
    expectForbidden(denied, rbacDenial(caller, `${SECRETS}/setSecret/action`, resourceOf('access', 'x'), 'access'), 'ForbiddenByRbac');
  });

  it('forgets what a deleted principal was granted', async () => {
    await principal('rbac-gone');
    await assign('rbac-gone', 'Key Vault Administrator', '/');
    const token = await tokenFor('rbac-gone');
    expect((await call('GET', `/secrets?${V}`, { token })).status).toBe(200);
    await adminCall('DELETE', '/identities/rbac-gone');
    expect((await call('GET', `/secrets?${V}`, { token })).status).toBe(403);
  });
});

describe('access policies', () => {
  let getter: { objectId: string; clientId: string };
  let getterToken: string;

  beforeAll(async () => {
    await adminCall('POST', '/vaults', { name: 'legacy', permissionModel: 'accessPolicy' });
    getter = await principal('ap-getter');
    await adminCall('PUT', '/accessPolicies/legacy/ap-getter', { secrets: ['Get'] });
    await adminCall('PUT', '/accessPolicies/legacy/kv-emulator-app', { secrets: ['all'] });
    getterToken = await tokenFor('ap-getter');
    await call('PUT', `/secrets/db?${V}`, { token: await emu.token(), host: 'legacy.vault.azure.net', body: { value: 'pw' } });
  });

  const policyDenial = (who: { clientId: string; objectId: string }, permission: string) =>
    `The user, group or application 'appid=${who.clientId};oid=${who.objectId};numgroups=0;iss=https://sts.windows.net/${tenant()}/' ` +
    `does not have secrets ${permission} permission on key vault 'legacy;location=westus'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;

  it('allows what the policy holds, without an assignment header', async () => {
    const res = await call('GET', `/secrets/db/?${V}`, { token: getterToken, host: 'legacy.vault.azure.net' });
    expect(res.status).toBe(200);
    expect(res.body.value).toBe('pw');
    expect(res.headers['x-ms-keyvault-rbac-assignment-id']).toBeUndefined();
  });

  it('denies the rest with 403 ForbiddenByPolicy and the real message', async () => {
    expectForbidden(await call('GET', `/secrets?${V}`, { token: getterToken, host: 'legacy.vault.azure.net' }), policyDenial(getter, 'list'), 'ForbiddenByPolicy');
    expectForbidden(
      await call('PATCH', `/secrets/db/?${V}`, { token: getterToken, host: 'legacy.vault.azure.net', body: { tags: {} } }),
      policyDenial(getter, 'set'),
      'ForbiddenByPolicy',
    );
    expectForbidden(await call('DELETE', `/deletedsecrets/db?${V}`, { token: getterToken, host: 'legacy.vault.azure.net' }), policyDenial(getter, 'purge'), 'ForbiddenByPolicy');
  });

  it('ignores role assignments on an access-policy vault and access policies on an RBAC vault', async () => {
    const admin = await principal('ap-rbac-admin');
    await assign('ap-rbac-admin', 'Key Vault Administrator', '/');
    const token = await tokenFor('ap-rbac-admin');
    expectForbidden(await call('GET', `/secrets/db/?${V}`, { token, host: 'legacy.vault.azure.net' }), policyDenial(admin, 'get'), 'ForbiddenByPolicy');
    await principal('ap-only');
    await adminCall('PUT', '/accessPolicies/access/ap-only', { secrets: ['all'] });
    expect((await call('GET', `/secrets?${V}`, { token: await tokenFor('ap-only') })).status).toBe(403);
  });
});

describe('token checks (401 with the challenge)', () => {
  let good: string;
  // A real vault name gets the real vault's challenge, naming the public cloud's authority.
  const challenge = () => `Bearer authorization="https://login.microsoftonline.com/${tenant()}", resource="https://vault.azure.net"`;

  beforeAll(async () => {
    good = await tokenFor('kv-emulator-sp');
  });

  async function expect401(token: string, message: string) {
    const res = await call('GET', `/secrets?${V}`, { token });
    expect(res.status).toBe(401);
    expectValid('KeyVaultError', res.body);
    expect(res.body).toEqual({ error: { code: 'Unauthorized', message } });
    expect(res.headers['www-authenticate']).toBe(challenge());
  }

  it('accepts the untouched token', async () => {
    expect((await call('GET', `/secrets?${V}`, { token: good })).status).toBe(200);
  });

  it('refuses a tampered token (payload changed, signature kept)', async () => {
    const [header, payload, signature] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, oid: '00000000-0000-0000-0000-000000000000' })).toString('base64url');
    await expect401(`${header}.${forged}.${signature}`, `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${header}'.`);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const payload = good.split('.')[1];
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    await expect401(`${header}.${payload}.`, `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${header}'.`);
  });

  it('refuses a token signed by another key', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const claims = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString());
    const foreign = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'someone-else' }).sign(privateKey);
    await expect401(foreign, `AKV10046: Unable to resolve the key used for signature validation. EncodedJwtHeader: '${foreign.split('.')[0]}'.`);
  });

  it('refuses an expired token', async () => {
    const issuedAt = Math.floor(Date.now() / 1000) - 7200;
    await expect401(await tokenFor('kv-emulator-sp', { issuedAt, lifetimeSeconds: 3600 }), "[TokenExpired] Error validating token: 'S2S12086'.");
  });

  it('refuses a token for another audience', async () => {
    await expect401(
      await tokenFor('kv-emulator-sp', { resource: 'https://management.azure.com/' }),
      'AKV10022: Invalid audience. Expected https://vault.azure.net or cfa8b339-82a2-471a-a3c9-0fc0be7a4093, found: https://management.azure.com/.',
    );
  });

  it('refuses a token from another issuer or tenant', async () => {
    const expected = `https://sts.windows.net/${tenant()}/, https://login.microsoftonline.com/${tenant()}/v2.0`;
    const other = '0b0b0b0b-0000-4000-8000-000000000000';
    await expect401(await tokenFor('kv-emulator-sp', { tenantId: other }), `AKV10032: Invalid issuer. Expected one of ${expected}, found https://sts.windows.net/${other}/.`);
    await expect401(await tokenFor('kv-emulator-sp', { issuer: 'https://evil.example/' }), `AKV10032: Invalid issuer. Expected one of ${expected}, found https://evil.example/.`);
  });

  it('refuses something that is not a JWT', async () => {
    await expect401('not-a-token', 'AKV10000: Request is missing a Bearer or PoP token.');
  });
});
