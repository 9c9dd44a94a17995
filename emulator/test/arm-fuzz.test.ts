// Property-based fuzzing of the management plane (fast-check, app.inject): random methods, ARM paths
// (subscriptions, resource groups, vaults, access policies, deleted vaults, operations, role assignments
// and definitions at random scopes), api-versions, filters and bodies, with a management token. Every
// answer is a success or ARM's envelope {error:{code,message}} with a 4xx status, never a 5xx; and the
// data plane keeps answering afterwards. Set FUZZ_RUNS and FUZZ_SEED to replay or to search longer.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from './support/harness.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const SUB = '00000000-0000-4000-8000-00000000e1a7';

let emu: TestEmulator;
let token: string;
beforeAll(async () => {
  emu = await testEmulator();
  token = (
    await emu.tokens.issue({ audience: 'https://management.azure.com/', oid: '7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098', appid: '3f5b8c1d-2e4a-4b6c-8d7e-9f0a1b2c3d4e' })
  ).token;
});
afterAll(() => emu.app.close());

const odd = fc.oneof(
  fc.constantFrom('', '.', '..', '%00', '%', '%zz', '%2F', 'a%2Fb', '-', 'x'.repeat(300), 'ünï', 'providers', 'Microsoft.KeyVault', 'vaults', 'resourceGroups'),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('fuzz-rg', 'fuzz-vault', 'kv-emulator', 'default', 'Fuzz-Vault') }, { weight: 2, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{1,30}$/) }, { weight: 2, arbitrary: odd });
const guid = fc.oneof(fc.uuid(), fc.constantFrom('not-a-guid', '4633458b-17de-408a-b874-0445c86b69e6'));
const sub = fc.oneof({ weight: 4, arbitrary: fc.constant(SUB) }, { weight: 1, arbitrary: fc.oneof(fc.uuid(), odd) });
const scope = fc.oneof(
  fc.constant(''),
  sub.map((s) => `/subscriptions/${s}`),
  fc.tuple(sub, name).map(([s, rg]) => `/subscriptions/${s}/resourceGroups/${rg}`),
  fc.tuple(sub, name, name).map(([s, rg, v]) => `/subscriptions/${s}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${v}`),
  fc.tuple(sub, name, name, name).map(([s, rg, v, n]) => `/subscriptions/${s}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${v}/secrets/${n}`),
  fc.tuple(sub, name, name).map(([s, rg, ns]) => `/subscriptions/${s}/resourceGroups/${rg}/providers/${ns}/things/x`),
);
const path = fc.oneof(
  fc.constantFrom('/subscriptions', '/tenants', '/subscriptions/', '/providers', '/metadata/endpoints'),
  scope.map((s) => s || '/subscriptions'),
  fc.tuple(sub).map(([s]) => `/subscriptions/${s}/resourcegroups`),
  fc.tuple(sub, name).map(([s, rg]) => `/subscriptions/${s}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults`),
  fc.tuple(sub, name, name, fc.constantFrom('add', 'replace', 'remove', 'merge')).map(([s, rg, v, k]) => `/subscriptions/${s}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${v}/accessPolicies/${k}`),
  fc.tuple(sub, fc.constantFrom('deletedVaults', 'checkNameAvailability', 'vaults', 'managedHSMs', 'deletedManagedHSMs', 'nothing')).map(([s, t]) => `/subscriptions/${s}/providers/Microsoft.KeyVault/${t}`),
  fc.tuple(sub, name, name).map(([s, l, v]) => `/subscriptions/${s}/providers/Microsoft.KeyVault/locations/${l}/deletedVaults/${v}`),
  fc.tuple(sub, name, name).map(([s, l, v]) => `/subscriptions/${s}/providers/Microsoft.KeyVault/locations/${l}/deletedVaults/${v}/purge`),
  fc.tuple(sub, name, fc.oneof(odd, fc.base64String({ maxLength: 40 }))).map(([s, l, id]) => `/subscriptions/${s}/providers/Microsoft.KeyVault/locations/${l}/operationResults/${id}`),
  fc.tuple(scope, fc.constantFrom('roleAssignments', 'roleDefinitions'), fc.option(guid)).map(
    ([s, type, id]) => `${s}/providers/Microsoft.Authorization/${type}${id === null ? '' : `/${id}`}`,
  ),
);
const apiVersion = fc.oneof(fc.constantFrom('2026-02-01', '2022-12-01', '2022-04-01', '2015-11-01', '2099-01-01', '2017-01-01', 'x', ''), fc.string({ maxLength: 12 }));
const filter = fc.oneof(fc.constantFrom("atScope()", "principalId eq 'x'", "roleName eq 'Owner'", "resourceType eq 'Microsoft.KeyVault/vaults'", "assignedTo('y') and atScope()"), fc.string({ maxLength: 30 }));
const json = fc.jsonValue({ maxDepth: 4 });
const body = fc.oneof(
  fc.constant(undefined),
  json.map((v) => JSON.stringify(v)),
  fc.record({ location: fc.oneof(fc.constantFrom('westus', 'West Europe', 'atlantis'), json), tags: fc.oneof(json, fc.dictionary(fc.string(), fc.string())), properties: fc.oneof(json, fc.record({ tenantId: fc.oneof(fc.constant(''), fc.uuid(), fc.constant('adfs'), json), sku: json, accessPolicies: json, enableRbacAuthorization: json, softDeleteRetentionInDays: json, enablePurgeProtection: json, createMode: json, roleDefinitionId: json, principalId: json, principalType: json, networkAcls: json, publicNetworkAccess: json }, { requiredKeys: [] })) }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.constantFrom('{', 'null', '[]', '"x"', '{"name":"fuzz-vault","type":"Microsoft.KeyVault/vaults"}'),
);
const host = fc.oneof({ weight: 5, arbitrary: fc.constant('localhost:8443') }, { weight: 1, arbitrary: fc.constantFrom('management.azure.com', 'a b', '[::1]:1', 'x:99999', '%', '') });
const request = fc.record({
  host,
  method: fc.constantFrom('GET', 'PUT', 'PATCH', 'POST', 'DELETE', 'HEAD', 'OPTIONS'),
  path,
  apiVersion: fc.option(apiVersion),
  filter: fc.option(filter),
  body,
});

describe('fuzzing the management plane', () => {
  it(`answers ${RUNS} random requests with a success or ARM's 4xx envelope, never a 5xx`, async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const query = [r.apiVersion === null ? '' : `api-version=${encodeURIComponent(r.apiVersion)}`, r.filter === null ? '' : `$filter=${encodeURIComponent(r.filter)}`].filter(Boolean).join('&');
        const res = await emu.app.inject({
          method: r.method as 'GET',
          url: `${r.path}${query ? `?${query}` : ''}`,
          headers: { host: r.host, authorization: `Bearer ${token}`, ...(r.body !== undefined && { 'content-type': 'application/json' }) },
          ...(r.body !== undefined && { payload: r.body }),
        });
        expect(res.statusCode, `${r.method} ${r.path}: ${res.body}`).toBeLessThan(500);
        if (res.statusCode >= 400 && r.method !== 'HEAD') {
          const parsed = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
          expect(Object.keys(parsed)).toEqual(['error']);
          expect(typeof parsed.error?.code).toBe('string');
          expect(typeof parsed.error?.message).toBe('string');
        }
      }),
      { numRuns: RUNS, ...(SEED !== undefined && { seed: SEED }) },
    );
    const vault = await emu.app.inject({ method: 'GET', url: '/secrets?api-version=7.6', headers: { host: 'default.vault.localhost', authorization: `Bearer ${await emu.token()}` } });
    expect(vault.statusCode).toBe(200);
  }, 120_000);
});
