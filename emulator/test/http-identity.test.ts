// The identity side at the HTTP level: the Entra-compatible authority (discovery, keys, token endpoint
// and its OAuth error bodies, in the tenant and AD FS forms, with client secrets and federated
// assertions), the managed-identity endpoints for every declared identity, the admin API for identities
// (including its guard against non-loopback callers), config validation, and persistence across a restart.
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { resolveConfig } from '../src/config.js';
import { ControllableClock } from '../src/vault/clock.js';
import { sharedMaterial, testEmulator, type TestEmulator } from './support/harness.js';

const TENANT = '7f2c1a3e-5b4d-4e6f-8a9b-0c1d2e3f4a5b';
const UA_CLIENT = '1b2c3d4e-0000-4000-8000-00000000aaaa';

const identities = {
  managedIdentities: [
    { name: 'web', systemAssigned: true },
    { name: 'worker', clientId: UA_CLIENT, objectId: '1b2c3d4e-0000-4000-8000-00000000bbbb' },
  ],
  servicePrincipals: [
    { name: 'ci', clientSecret: 'ci-secret' },
    { name: 'k8s', federatedCredentials: [{ issuer: 'https://oidc.example/cluster', subject: 'system:serviceaccount:apps:k8s' }] },
  ],
  users: [{ name: 'alice', upn: 'alice@contoso.example' }],
};

let emu: TestEmulator;
beforeAll(async () => {
  emu = await testEmulator({ extensions: { identities } });
});
afterAll(() => emu.app.close());

type Reply = { status: number; headers: Record<string, unknown>; body: any };

async function request(method: string, url: string, options: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string>; remoteAddress?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  let payload: string | undefined;
  if (options.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded;charset=utf-8';
    payload = new URLSearchParams(options.form).toString();
  } else if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(options.json);
  }
  const res = await emu.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload !== undefined && { payload }),
    ...(options.remoteAddress && { remoteAddress: options.remoteAddress }),
  });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}

const principal = (name: string) => emu.directory.find(name)! as { clientId: string; objectId: string; resourceId?: string };

function expectAadError(res: Reply, status: number, error: string, code: number, description: string) {
  expect(res.status).toBe(status);
  expect(Object.keys(res.body)).toEqual(['error', 'error_description', 'error_codes', 'timestamp', 'trace_id', 'correlation_id', 'error_uri']);
  expect(res.body.error).toBe(error);
  expect(res.body.error_codes).toEqual([code]);
  expect(res.body.error_uri).toBe(`https://login.microsoftonline.com/error?code=${code}`);
  expect(res.body.timestamp).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
  expect(res.body.error_description).toBe(
    `AADSTS${code}: ${description}\r\nTrace ID: ${res.body.trace_id}\r\nCorrelation ID: ${res.body.correlation_id}\r\nTimestamp: ${res.body.timestamp}`,
  );
}

const tokenUrl = `/${TENANT}/oauth2/v2.0/token`;
const clientCredentials = (extra: Record<string, string>) => ({ grant_type: 'client_credentials', scope: 'https://vault.azure.net/.default', ...extra });

describe('Entra authority (tenant form)', () => {
  it('serves v2.0 OpenID discovery with the issuer on the emulator origin', async () => {
    const res = await request('GET', `/${TENANT}/v2.0/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: `http://localhost:80/${TENANT}/v2.0`,
      token_endpoint: `http://localhost:80/${TENANT}/oauth2/v2.0/token`,
      authorization_endpoint: `http://localhost:80/${TENANT}/oauth2/v2.0/authorize`,
      jwks_uri: `http://localhost:80/${TENANT}/discovery/v2.0/keys`,
    });
  });

  it('answers AADSTS90002 for another tenant', async () => {
    const other = '99999999-9999-4999-8999-999999999999';
    const description = `Tenant '${other}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`;
    const res = await request('GET', `/${other}/v2.0/.well-known/openid-configuration`, { headers: { 'client-request-id': 'corr-1' } });
    expectAadError(res, 400, 'invalid_tenant', 90002, description);
    expect(res.body.correlation_id).toBe('corr-1');
    const token = await request('POST', `/${other}/oauth2/v2.0/token`, { form: clientCredentials({ client_id: principal('ci').clientId, client_secret: 'ci-secret' }) });
    expectAadError(token, 400, 'invalid_tenant', 90002, description);
  });

  it('publishes the key that verifies its tokens, and instance discovery metadata', async () => {
    const keys = await request('GET', `/${TENANT}/discovery/v2.0/keys`);
    expect(keys.status).toBe(200);
    const issued = await request('POST', tokenUrl, { form: clientCredentials({ client_id: principal('ci').clientId, client_secret: 'ci-secret' }) });
    const { payload } = await jwtVerify(issued.body.access_token, createLocalJWKSet(keys.body), { audience: 'https://vault.azure.net' });
    expect(payload).toMatchObject({ tid: TENANT, oid: principal('ci').objectId, appid: principal('ci').clientId, iss: `https://sts.windows.net/${TENANT}/`, idtyp: 'app' });
    expect(typeof payload.iat).toBe('number');
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp).toBe(payload.iat! + 3600);
    const instance = await request('GET', `/common/discovery/instance?api-version=1.1&authorization_endpoint=https://kv.example:8443/${TENANT}/oauth2/v2.0/authorize`);
    expect(instance.body).toMatchObject({
      tenant_discovery_endpoint: `https://kv.example:8443/${TENANT}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: 'kv.example:8443', preferred_cache: 'kv.example:8443', aliases: ['kv.example:8443'] }, expect.anything()],
    });
  });

  it('issues tokens for client_credentials with a client secret (also as client_secret_basic)', async () => {
    const res = await request('POST', `${tokenUrl}?client-request-id=abc`, { form: clientCredentials({ client_id: principal('ci').clientId, client_secret: 'ci-secret' }) });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ token_type: 'Bearer', expires_in: 3600, ext_expires_in: 3600, access_token: expect.any(String) });
    const basic = Buffer.from(`${principal('ci').clientId}:ci-secret`).toString('base64');
    const viaBasic = await request('POST', tokenUrl, { form: { grant_type: 'client_credentials', scope: 'https://vault.localhost/.default' }, headers: { authorization: `Basic ${basic}` } });
    expect(viaBasic.status).toBe(200);
    expect(decodeJwt(viaBasic.body.access_token).aud).toBe('https://vault.localhost');
  });

  it('answers the OAuth errors Entra returns', async () => {
    const ci = principal('ci');
    expectAadError(await request('POST', tokenUrl, { form: clientCredentials({ client_id: ci.clientId, client_secret: 'wrong' }) }), 401, 'invalid_client', 7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${ci.clientId}'.`);
    const unknown = '12121212-0000-4000-8000-000000000000';
    expectAadError(await request('POST', tokenUrl, { form: clientCredentials({ client_id: unknown, client_secret: 'x' }) }), 400, 'unauthorized_client', 700016,
      `Application with identifier '${unknown}' was not found in the directory '${TENANT}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    expectAadError(await request('POST', tokenUrl, { form: clientCredentials({ client_id: ci.clientId }) }), 401, 'invalid_client', 7000218,
      "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    expectAadError(await request('POST', tokenUrl, { json: { grant_type: 'client_credentials' } }), 400, 'invalid_request', 900144,
      "The request body must contain the following parameter: 'grant_type'.");
    expect((await request('POST', tokenUrl, { form: { grant_type: 'password', client_id: ci.clientId } })).body.error).toBe('unsupported_grant_type');
    expectAadError(await request('POST', tokenUrl, { form: { ...clientCredentials({ client_id: ci.clientId, client_secret: 'ci-secret' }), scope: 'https://vault.azure.net/user_impersonation' } }), 400, 'invalid_scope', 1002012,
      'The provided value for scope https://vault.azure.net/user_impersonation is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).');
    expectAadError(await request('POST', tokenUrl, { form: { ...clientCredentials({ client_id: ci.clientId, client_secret: 'ci-secret' }), scope: 'https://unknown.example/.default' } }), 400, 'invalid_resource', 500011,
      `The resource principal named https://unknown.example was not found in the tenant named ${TENANT}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.`);
  });
});

describe('Entra authority (AD FS form)', () => {
  it('serves AD FS discovery and issues tokens for the same principals', async () => {
    const config = await request('GET', '/adfs/.well-known/openid-configuration');
    expect(config.body).toMatchObject({ issuer: 'http://localhost:80/adfs', token_endpoint: 'http://localhost:80/adfs/oauth2/token/', jwks_uri: 'http://localhost:80/adfs/discovery/keys' });
    const res = await request('POST', '/adfs/oauth2/token/', { form: clientCredentials({ client_id: principal('ci').clientId, client_secret: 'ci-secret' }) });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token)).toMatchObject({ oid: principal('ci').objectId, iss: `https://sts.windows.net/${TENANT}/` });
  });

  it('answers AD FS error bodies', async () => {
    const wrong = await request('POST', '/adfs/oauth2/token', { form: clientCredentials({ client_id: principal('ci').clientId, client_secret: 'wrong' }) });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ error: 'invalid_client', error_description: 'MSIS9622: Client authentication failed. Please verify the credential provided for client authentication is valid.' });
    const unknown = await request('POST', '/adfs/oauth2/token', { form: clientCredentials({ client_id: 'nobody', client_secret: 'x' }) });
    expect(unknown.body.error).toBe('unauthorized_client');
    expect(unknown.body.error_description).toMatch(/^MSIS9223: .*Received client_id: 'nobody'\.$/);
  });
});

describe('federated credentials (workload identity)', () => {
  async function assertion(body: Record<string, unknown>): Promise<string> {
    return (await request('POST', '/_emulator/federatedTokens', { json: body })).body.token;
  }
  const exchange = (clientAssertion: string) =>
    request('POST', tokenUrl, {
      form: clientCredentials({
        client_id: principal('k8s').clientId,
        client_assertion: clientAssertion,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      }),
    });

  it('exchanges an assertion matching issuer, subject and audience', async () => {
    const minted = await assertion({ principal: 'k8s' });
    expect(decodeJwt(minted)).toMatchObject({ iss: 'https://oidc.example/cluster', sub: 'system:serviceaccount:apps:k8s', aud: 'api://AzureADTokenExchange' });
    const res = await exchange(minted);
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token).oid).toBe(principal('k8s').objectId);
  });

  it('refuses assertions that match no federated credential, with the AADSTS code naming the claim', async () => {
    const docs = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';
    const cs = 'Please note that the matching is done using a case-sensitive comparison. ';
    const check = 'Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ';
    expectAadError(await exchange(await assertion({ principal: 'k8s', issuer: 'https://OIDC.example/cluster' })), 401, 'invalid_client', 700211,
      `No matching federated identity record found for presented assertion issuer 'https://OIDC.example/cluster'. ${cs}${check}${docs}`);
    expectAadError(await exchange(await assertion({ principal: 'k8s', subject: 'system:serviceaccount:apps:other' })), 401, 'invalid_client', 700213,
      `No matching federated identity record found for presented assertion subject 'system:serviceaccount:apps:other'. ${check}${docs}`);
    expectAadError(await exchange(await assertion({ principal: 'k8s', audience: 'api://other' })), 401, 'invalid_client', 700212,
      `No matching federated identity record found for presented assertion audience 'api://other'. ${cs}${check}${docs}`);
  });

  it('refuses an expired assertion and one whose signature was broken', async () => {
    emu.clock.set(Date.now() - 2 * 3600_000);
    const old = await assertion({ principal: 'k8s', lifetimeSeconds: 600 });
    emu.clock.reset();
    const expired = await exchange(old);
    expect(expired.status).toBe(401);
    expect(expired.body.error_codes).toEqual([700024]);
    expect(expired.body.error_description).toMatch(/^AADSTS700024: Client assertion is not within its valid time range\. Current time: /);
    const [h, p] = (await assertion({ principal: 'k8s' })).split('.');
    expectAadError(await exchange(`${h}.${p}.${'A'.repeat(342)}`), 401, 'invalid_client', 50013, 'Assertion failed signature validation.');
    expectAadError(await exchange('garbage'), 400, 'invalid_request', 50027, 'JWT token is invalid or malformed.');
  });
});

describe('managed identity endpoints', () => {
  const appService = (query: string) =>
    request('GET', `/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&${query}`, { headers: { 'x-identity-header': emu.material.identityHeader } });

  it('answer for the system-assigned identity and for user-assigned ones by client_id, object_id or mi_res_id', async () => {
    const system = await appService('');
    expect(system.status).toBe(200);
    expect(decodeJwt(system.body.access_token).oid).toBe(principal('web').objectId);
    const worker = principal('worker');
    for (const query of [`client_id=${UA_CLIENT}`, `object_id=${worker.objectId}`, `mi_res_id=${encodeURIComponent(worker.resourceId!)}`]) {
      const res = await appService(query);
      expect(res.status, query).toBe(200);
      expect(res.body.client_id).toBe(UA_CLIENT);
      expect(decodeJwt(res.body.access_token)).toMatchObject({ oid: worker.objectId, appid: UA_CLIENT, xms_mirid: worker.resourceId });
    }
    const imds = await request('GET', `/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https://vault.azure.net&client_id=${UA_CLIENT}`, { headers: { metadata: 'true' } });
    expect(imds.status).toBe(200);
    expect(decodeJwt(imds.body.access_token).oid).toBe(worker.objectId);
  });

  it('answer 400 (never 404) for an unknown identity or resource', async () => {
    const unknown = await appService('client_id=00000000-0000-4000-8000-000000000000');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid_request');
    const imds = await request('GET', '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net&object_id=nobody', { headers: { metadata: 'true' } });
    expect(imds.status).toBe(400);
    const resource = await request('GET', '/msi/token?api-version=2019-08-01&resource=https://unknown.example', { headers: { 'x-identity-header': emu.material.identityHeader } });
    expect(resource.status).toBe(400);
    expect(resource.body.error).toBe('invalid_resource');
  });

  it('issue other Azure resources their canonical audience', async () => {
    const res = await request('GET', '/msi/token?api-version=2019-08-01&resource=https://management.azure.com', { headers: { 'x-identity-header': emu.material.identityHeader } });
    expect(decodeJwt(res.body.access_token).aud).toBe('https://management.azure.com/');
  });
});

describe('admin API for identities', () => {
  it('refuses non-loopback callers without the admin key', async () => {
    const denied = await request('GET', '/_emulator/identities', { remoteAddress: '203.0.113.9' });
    expect(denied.status).toBe(401);
    expect(denied.body.error.code).toBe('Unauthorized');
    const minting = await request('POST', '/_emulator/tokens', { remoteAddress: '203.0.113.9', json: { principal: 'ci' } });
    expect(minting.status).toBe(401);
    expect(minting.body.access_token).toBeUndefined();
    const keyed = await request('GET', '/_emulator/identities', { remoteAddress: '203.0.113.9', headers: { 'x-kv-emulator-admin-key': emu.material.adminKey } });
    expect(keyed.status).toBe(200);
  });

  it('lists principals without their secrets', async () => {
    const res = await request('GET', '/_emulator/identities');
    expect(res.body.value.map((p: { name: string }) => p.name).sort()).toEqual(['alice', 'ci', 'k8s', 'web', 'worker']);
    expect(JSON.stringify(res.body)).not.toContain('ci-secret');
    expect(res.body.value.find((p: { name: string }) => p.name === 'ci')).toMatchObject({ kind: 'servicePrincipal', hasClientSecret: true, origin: 'config' });
  });

  it('validates principals, naming the field, and refuses collisions', async () => {
    const bad = await request('PUT', '/_emulator/identities/x1', { json: { kind: 'servicePrincipal', clientId: 'not-a-guid' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe("'body.clientId' must be a GUID, got 'not-a-guid'.");
    const kind = await request('PUT', '/_emulator/identities/x1', { json: { kind: 'robot' } });
    expect(kind.body.error.message).toBe("'kind' must be one of managedIdentity, servicePrincipal, user.");
    const clash = await request('PUT', '/_emulator/identities/x2', { json: { kind: 'managedIdentity', clientId: UA_CLIENT } });
    expect(clash.status).toBe(409);
    expect(clash.body.error.message).toBe(`The principal cannot be saved: the client id '${UA_CLIENT}' is already used by 'worker'.`);
    const second = await request('PUT', '/_emulator/identities/x3', { json: { kind: 'managedIdentity', systemAssigned: true } });
    expect(second.status).toBe(409);
    expect((await request('GET', '/_emulator/identities/nobody')).status).toBe(404);
  });

  it('creates, replaces and deletes principals, keeping ids on replace', async () => {
    const created = await request('PUT', '/_emulator/identities/temp', { json: { kind: 'servicePrincipal', clientSecret: 'a' } });
    expect(created.status).toBe(201);
    const replaced = await request('PUT', '/_emulator/identities/temp', { json: { kind: 'servicePrincipal', clientSecret: 'b' } });
    expect(replaced.status).toBe(200);
    expect(replaced.body.objectId).toBe(created.body.objectId);
    const token = await request('POST', tokenUrl, { form: clientCredentials({ client_id: created.body.clientId, client_secret: 'b' }) });
    expect(token.status).toBe(200);
    const assignment = await request('POST', '/_emulator/roleAssignments', { json: { principal: 'temp', role: 'Key Vault Reader', scope: '/vaults/v' } });
    expect(assignment.status).toBe(201);
    expect(assignment.body).toMatchObject({ principal: { name: 'temp' }, role: { name: 'Key Vault Reader', id: '21090545-7ca7-4776-b22c-e363652d74d2' }, scope: '/vaults/v', origin: 'admin' });
    expect((await request('POST', '/_emulator/roleAssignments', { json: { principal: 'temp', role: 'Key Vault Reader', scope: '/vaults/v' } })).status).toBe(200);
    expect((await request('DELETE', '/_emulator/identities/temp')).status).toBe(204);
    expect((await request('GET', `/_emulator/roleAssignments/${assignment.body.id}`)).status).toBe(404);
    expect((await request('DELETE', '/_emulator/identities/temp')).status).toBe(404);
  });

  it('validates role assignments and access policies', async () => {
    const role = await request('POST', '/_emulator/roleAssignments', { json: { principal: 'ci', role: 'Key Vault Foo', scope: '/' } });
    expect(role.status).toBe(400);
    expect(role.body.error.message).toBe("'body.role' unknown role 'Key Vault Foo'.");
    const policy = await request('PUT', '/_emulator/accessPolicies/legacy/ci', { json: { secrets: ['get', 'decrypt'] } });
    expect(policy.status).toBe(400);
    expect(policy.body.error.message).toMatch(/^'secrets\[1\]' unknown secret permission 'decrypt'/);
    const ok = await request('PUT', '/_emulator/accessPolicies/Legacy/ci', { json: { secrets: ['list', 'GET'] } });
    expect(ok.body).toMatchObject({ vault: 'legacy', principal: { name: 'ci' }, secrets: ['get', 'list'] });
    expect((await request('GET', '/_emulator/accessPolicies?vault=legacy')).body.value).toHaveLength(1);
    expect((await request('DELETE', '/_emulator/accessPolicies/legacy/ci')).status).toBe(204);
    expect((await request('DELETE', '/_emulator/accessPolicies/legacy/ci')).status).toBe(404);
    const roles = await request('GET', '/_emulator/roleDefinitions');
    expect(roles.body.value.find((r: { name: string }) => r.name === 'Key Vault Secrets User').dataActions).toEqual([
      'Microsoft.KeyVault/vaults/secrets/getSecret/action',
      'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
    ]);
  });

  it('mints tokens for users, with the claims a signed-in user carries', async () => {
    const res = await request('POST', '/_emulator/tokens', { json: { principal: 'alice' } });
    expect(decodeJwt(res.body.access_token)).toMatchObject({ oid: principal('alice').objectId, idtyp: 'user', upn: 'alice@contoso.example', appid: '04b07795-8ddb-461a-bbee-02f9e1bf7b46' });
  });

  it('gives the credential environment of each kind of principal', async () => {
    const sp = await request('GET', '/_emulator/credentials?as=ci');
    expect(sp.body.variables).toEqual({ AZURE_AUTHORITY_HOST: 'http://localhost:80', AZURE_TENANT_ID: 'adfs', AZURE_CLIENT_ID: principal('ci').clientId, AZURE_CLIENT_SECRET: 'ci-secret' });
    expect((await request('GET', '/_emulator/credentials')).body.principal.name).toBe('ci');
    const worker = await request('GET', '/_emulator/credentials?as=worker');
    expect(worker.body.variables).toEqual({ AZURE_CLIENT_ID: UA_CLIENT });
    expect(worker.body.unset).toEqual(['AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE']);
    const federated = await request('GET', '/_emulator/credentials?as=k8s');
    expect(federated.body.unset).toEqual(['AZURE_CLIENT_SECRET']);
    expect(decodeJwt(federated.body.federatedToken)).toMatchObject({ iss: 'https://oidc.example/cluster', sub: 'system:serviceaccount:apps:k8s' });
    const user = await request('GET', '/_emulator/credentials?as=alice');
    expect(user.status).toBe(400);
    expect(user.body.error.message).toMatch(/^'alice' is a user/);
  });
});

describe('config', () => {
  async function configError(extensions: Record<string, unknown>): Promise<string> {
    try {
      const built = await buildApp(resolveConfig({ inMemory: true, logLevel: 'silent' }, { extensions }), { material: await sharedMaterial(), https: false });
      await built.app.close();
      return 'no error';
    } catch (error) {
      return (error as Error).message;
    }
  }

  it('refuses bad identity and access sections at start, naming the field', async () => {
    expect(await configError({ identities: { servicePrincipals: [{ name: 'a' }, { name: 'b', clientId: 'x' }] } })).toBe(
      "Invalid configuration: 'identities.servicePrincipals[1].clientId' must be a GUID, got 'x'.",
    );
    expect(await configError({ identities: { managedIdentities: [{ name: 'a', systemAssigned: true }, { name: 'b', systemAssigned: true }] } })).toBe(
      "Invalid configuration: 'identities.managedIdentities[1]' is invalid: 'a' is already the system-assigned identity (there can be only one).",
    );
    expect(await configError({ identities: { users: [{ name: 'A' }], servicePrincipals: [{ name: 'a' }] } })).toBe(
      "Invalid configuration: 'identities.users[0]' is invalid: the name 'A' is already used by another principal.",
    );
    expect(await configError({ identities: { robots: [] } })).toBe("Invalid configuration: 'identities.robots' is not a known section (managedIdentities, servicePrincipals, users).");
    expect(await configError({ identities: { servicePrincipals: [{ name: 'a', federatedCredentials: [{ issuer: 'https://i' }] }] } })).toBe(
      "Invalid configuration: 'identities.servicePrincipals[0].federatedCredentials[0].subject' is required.",
    );
    expect(await configError({ roleAssignments: [{ principal: 'kv-emulator-app', role: 'Key Vault Foo', scope: '/' }] })).toBe(
      "Invalid configuration: 'roleAssignments[0].role' unknown role 'Key Vault Foo'.",
    );
    expect(await configError({ tenant: 'x' })).toBe("Invalid configuration: 'tenant' is not a setting; the tenant is set with 'tenantId'.");
  });
});

describe('persistence', () => {
  it('keeps what the admin API created across a restart, and re-applies the config file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kv-identity-'));
    const material = await sharedMaterial();
    const start = (extensions: Record<string, unknown>) =>
      buildApp(resolveConfig({ dataDir, logLevel: 'silent' }, { extensions }), { material, https: false, clock: new ControllableClock() });

    const first = await start({ identities: { servicePrincipals: [{ name: 'from-config-1', clientSecret: 's' }] } });
    const admin = (method: string, url: string, json?: unknown) =>
      first.app.inject({ method: method as 'GET', url, ...(json !== undefined && { payload: JSON.stringify(json), headers: { 'content-type': 'application/json' } }) });
    await admin('PUT', '/_emulator/identities/added', { kind: 'servicePrincipal', clientSecret: 'x' });
    const assignment = (await admin('POST', '/_emulator/roleAssignments', { principal: 'added', role: 'Key Vault Secrets User', scope: '/vaults/kept' })).json();
    await admin('PUT', '/_emulator/accessPolicies/legacy/added', { secrets: ['get'] });
    await first.app.close();

    const second = await start({ identities: { servicePrincipals: [{ name: 'from-config-2', clientSecret: 's' }] } });
    const names = second.directory.list().map((p) => p.name).sort();
    expect(names).toEqual(['added', 'from-config-2']);
    expect(second.access.getAssignment(assignment.id)).toMatchObject({ scope: '/vaults/kept', origin: 'admin' });
    expect(second.access.listPolicies()).toEqual([{ vault: 'legacy', principalId: second.directory.find('added')!.objectId, secrets: ['get'], origin: 'admin' }]);
    const configured = second.access.listAssignments().filter((a) => a.origin === 'config');
    // The default grants of a configured principal: Key Vault Administrator at the root, Owner of the subscription.
    const id = second.directory.find('from-config-2')!.objectId;
    expect(configured.map((a) => [a.principalId, a.roleId, a.scope]).sort()).toEqual(
      [
        [id, '00482a5a-887f-4fb3-b363-3b7fe8e74483', '/'],
        [id, '8e3af657-a8ff-443c-a75c-2fe8c4bcb635', '/subscriptions/00000000-0000-4000-8000-00000000e1a7'],
      ].sort(),
    );
    await second.app.close();
  });
});
