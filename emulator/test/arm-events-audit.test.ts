// What the management plane's changes publish and record, in one process with a real webhook on loopback:
// access-policy changes through ARM (accessPolicies/{add,replace,remove}, a vault PUT or PATCH carrying
// accessPolicies or a new permission model) publish Microsoft.KeyVault.VaultAccessPolicyChanged as the
// admin API's do, one per change and none for a request that changes nothing, with the topic naming the
// vault's own resource group; and the vault operations that reach Key Vault through ARM get Key Vault's
// audit records (VaultPut, VaultGet, VaultPatch, VaultDelete, VaultGetDeleted, VaultRecover, VaultPurge),
// while what ARM answers by itself (401, 403 AuthorizationFailed, unknown vaults, lists, resource groups,
// role assignments) gets none.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from './support/harness.js';
import { startReceiver, type WebhookReceiver } from './support/webhook-receiver.js';

const SUB = '00000000-0000-4000-8000-00000000e1a7';
const KV = 'api-version=2026-02-01';
const POLICY_CHANGED = 'Microsoft.KeyVault.VaultAccessPolicyChanged';

type Reply = { status: number; headers: Record<string, unknown>; body: any };

let emu: TestEmulator;
let receiver: WebhookReceiver;
let owner: string;
let ownerVault: string;
let ownerId: string;

async function request(method: string, url: string, options: { token?: string; body?: unknown; host?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { host: options.host ?? 'localhost:8443', ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await emu.app.inject({ method: method as 'GET', url, headers, remoteAddress: '127.0.0.1', ...(options.body !== undefined && { payload: JSON.stringify(options.body) }) });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}

async function admin(method: string, path: string, body?: unknown): Promise<any> {
  const res = await request(method, `/_emulator${path}`, { ...(body !== undefined && { body }) });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const tokenFor = async (principal: string, audience = 'https://management.azure.com/') => (await admin('POST', '/tokens', { principal, audience })).access_token as string;
const vaultPath = (rg: string, vault: string) => `/subscriptions/${SUB}/resourceGroups/${rg}/providers/Microsoft.KeyVault/vaults/${vault}`;
const vaultBody = (properties: Record<string, unknown> = {}) => ({
  location: 'westeurope',
  properties: { tenantId: emu.config.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [], ...properties },
});
const group = async (name: string) => expect((await request('PUT', `/subscriptions/${SUB}/resourcegroups/${name}?api-version=2022-12-01`, { token: owner, body: { location: 'westeurope' } })).status).toBe(201);
const policy = (objectId: string, permissions: Record<string, string[]>) => ({ tenantId: emu.config.tenantId, objectId, permissions });

beforeAll(async () => {
  emu = await testEmulator({ extensions: { events: { deliveryTimeoutSeconds: 1, handshakeTimeoutSeconds: 1 } } });
  receiver = await startReceiver();
  await emu.app.ready();
  owner = await tokenFor('kv-emulator-sp');
  ownerVault = await tokenFor('kv-emulator-sp', 'https://vault.azure.net');
  ownerId = (await admin('GET', '/identities')).value.find((p: { name: string }) => p.name === 'kv-emulator-sp').objectId;
});
afterAll(async () => {
  await emu.app.close();
  await receiver.close();
});

describe('VaultAccessPolicyChanged through the management plane', () => {
  it('publishes one event per change of a vault’s access policies or permission model, none for a request that changes nothing', async () => {
    await group('events-rg');
    const vault = 'arm-policies';
    const path = vaultPath('events-rg', vault);
    expect((await request('PUT', `${path}?${KV}`, { token: owner, body: vaultBody({ enableRbacAuthorization: false }) })).status).toBe(200);
    const subscribed = await admin('PUT', `/vaults/${vault}/eventSubscriptions/policies`, {
      endpoint: `${receiver.url}?for=policies`,
      includedEventTypes: [POLICY_CHANGED, 'Microsoft.KeyVault.SecretNewVersionCreated'],
    });
    expect(subscribed.topic).toBe(path);
    const a = (await admin('PUT', '/identities/policy-a', { kind: 'servicePrincipal', clientSecret: 'a-secret' })).objectId as string;
    const b = (await admin('PUT', '/identities/policy-b', { kind: 'servicePrincipal', clientSecret: 'b-secret' })).objectId as string;
    // Deliveries are written with the change (the outbox), so their count is known as soon as it answers.
    const published = async () => (await admin('GET', `/vaults/${vault}/eventSubscriptions/policies/deliveries`)).value.length as number;
    const policies = (kind: string, entries: unknown[]) => request('PUT', `${path}/accessPolicies/${kind}?${KV}`, { token: owner, body: { properties: { accessPolicies: entries } } });

    const steps: Array<[string, () => Promise<Reply>, number]> = [
      ['add two policies', () => policies('add', [policy(a, { secrets: ['get', 'list'] }), policy(b, { secrets: ['get'] })]), 1],
      ['add what is there already', () => policies('add', [policy(a, { secrets: ['list'] })]), 0],
      ['replace one policy', () => policies('replace', [policy(a, { secrets: ['get', 'set'] })]), 1],
      ['add key permissions only (nothing the data plane checks)', () => policies('add', [policy(b, { keys: ['get'] })]), 1],
      ['remove one policy', () => policies('remove', [policy(a, { secrets: ['all'] })]), 1],
      ['remove what is not there', () => policies('remove', [policy(a, { secrets: ['get'] })]), 0],
      [
        'a PUT sending the vault back as it is',
        async () => {
          const got = (await request('GET', `${path}?${KV}`, { token: owner })).body;
          return request('PUT', `${path}?${KV}`, { token: owner, body: { location: got.location, properties: got.properties } });
        },
        0,
      ],
      ['a PUT with other policies', () => request('PUT', `${path}?${KV}`, { token: owner, body: vaultBody({ enableRbacAuthorization: false, accessPolicies: [policy(a, { secrets: ['get'] })] }) }), 1],
      [
        'a PATCH changing the policies and the permission model at once',
        () => request('PATCH', `${path}?${KV}`, { token: owner, body: { properties: { enableRbacAuthorization: true, accessPolicies: [policy(b, { secrets: ['get'] })] } } }),
        1,
      ],
      ['a PATCH of tags only', () => request('PATCH', `${path}?${KV}`, { token: owner, body: { tags: { team: 'events' } } }), 0],
    ];
    let expected = 0;
    for (const [what, step, events] of steps) {
      const answer = await step();
      expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(200);
      expected += events;
      expect(await published(), what).toBe(expected);
    }
    // The policies the data plane keeps are ARM's last ones.
    const listed = (await admin('GET', '/accessPolicies')).value.filter((p: { vault: string }) => p.vault === vault);
    expect(listed.map((p: { principal: { objectId: string }; secrets: string[] }) => [p.principal.objectId, p.secrets])).toEqual([[b, ['get']]]);

    // A secret written in the vault: its event names the same topic.
    expect((await request('PUT', '/secrets/arm-made?api-version=7.6', { token: ownerVault, host: `${vault}.vault.azure.net`, body: { value: 'v' } })).status).toBe(200);
    await receiver.waitFor((received) => received.filter((r) => r.path.endsWith('?for=policies') && r.headers['aeg-event-type'] === 'Notification').length === expected + 1);
    const events = receiver
      .notifications()
      .filter((r) => r.path.endsWith('?for=policies'))
      .flatMap((r) => r.body as Array<Record<string, any>>);
    expect(events.map((e) => e.eventType).sort()).toEqual([...Array(expected).fill(POLICY_CHANGED), 'Microsoft.KeyVault.SecretNewVersionCreated'].sort());
    for (const event of events) expect(event.topic).toBe(path);
    for (const event of events.filter((e) => e.eventType === POLICY_CHANGED)) {
      expect(event).toMatchObject({ subject: vault, data: { VaultName: vault, ObjectType: 'Vault', ObjectName: vault, Version: '' }, dataVersion: '1', metadataVersion: '1' });
    }
  });
});

describe('audit records of the management plane', () => {
  it('records the vault operations that reach Key Vault, as the service records them', async () => {
    await group('audit-rg');
    const vault = 'arm-audited';
    const path = vaultPath('audit-rg', vault);
    const ids: string[] = [];
    const arm = (method: string, url: string, body?: unknown) => {
      const id = randomUUID();
      ids.push(id);
      return request(method, url, { token: owner, headers: { 'x-ms-client-request-id': id }, ...(body !== undefined && { body }) });
    };
    expect((await arm('PUT', `${path}?${KV}`, vaultBody())).status).toBe(200);
    expect((await arm('GET', `${path}?${KV}`)).status).toBe(200);
    expect((await arm('PATCH', `${path}?${KV}`, { tags: { env: 'test' } })).status).toBe(200);
    expect((await arm('PUT', `${path}/accessPolicies/add?${KV}`, { properties: { accessPolicies: [policy(ownerId, { secrets: ['get'] })] } })).status).toBe(200);
    const refused = await arm('PATCH', `${path}?${KV}`, { properties: { networkAcls: { ipRules: [{ value: '10.0.0.0/33' }] } } });
    expect(refused.status).toBe(400);
    // The data plane's records of this vault name its resource group too.
    expect((await request('PUT', '/secrets/audited?api-version=7.6', { token: ownerVault, host: `${vault}.vault.azure.net`, body: { value: 'a-value-never-recorded' } })).status).toBe(200);
    expect((await arm('DELETE', `${path}?${KV}`)).status).toBe(200);
    expect((await arm('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/${vault}?${KV}`)).status).toBe(200);
    expect((await arm('PUT', `${path}?${KV}`, { location: 'westeurope', properties: { createMode: 'recover' } })).status).toBe(200);
    expect((await arm('DELETE', `${path}?${KV}`)).status).toBe(200);
    expect((await arm('POST', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/${vault}/purge?${KV}`)).status).toBe(202);

    // What ARM answers by itself, or what names no one vault, is no Key Vault record.
    await admin('PUT', '/identities/audit-nobody', { kind: 'servicePrincipal', clientSecret: 'n-secret' });
    const nobody = await tokenFor('audit-nobody');
    const quiet = [
      await request('GET', `${vaultPath('audit-rg', 'other')}?${KV}`, { token: nobody }),
      await request('GET', `${vaultPath('audit-rg', 'missing-vault')}?${KV}`, { token: owner }),
      await request('GET', `${vaultPath('audit-rg', 'missing-vault')}?${KV}`, { host: 'management.azure.com' }),
      await request('GET', `/subscriptions/${SUB}/resourceGroups/audit-rg/providers/Microsoft.KeyVault/vaults?${KV}`, { token: owner }),
      await request('GET', `/subscriptions/${SUB}/providers/Microsoft.KeyVault/deletedVaults?${KV}`, { token: owner }),
      await request('PUT', `/subscriptions/${SUB}/resourcegroups/audit-rg?api-version=2022-12-01`, { token: owner, body: { location: 'westeurope' } }),
      await request('PUT', `/subscriptions/${SUB}/resourceGroups/audit-rg/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}?api-version=2022-04-01`, {
        token: owner,
        body: { properties: { roleDefinitionId: `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6`, principalId: ownerId } },
      }),
    ];
    expect(quiet.map((r) => r.status)).toEqual([403, 404, 401, 200, 200, 200, 201]);
    // Called as management.azure.com (through the HTTPS proxy), the 401 names ARM's own authority, as ARM does.
    expect(quiet[2]!.headers['www-authenticate']).toBe(
      `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
    );

    const all = (await admin('GET', '/logs?maxresults=1000')).value as Array<Record<string, any>>;
    const resourceId = `/SUBSCRIPTIONS/${SUB}/RESOURCEGROUPS/AUDIT-RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/ARM-AUDITED`.toUpperCase();
    const armRecords = all.filter((r) => r.properties.requestUri.includes('/subscriptions/') && r.resourceId === resourceId);
    expect(armRecords.map((r) => r.operationName)).toEqual([
      'VaultPut',
      'VaultGet',
      'VaultPatch',
      'VaultPatch',
      'VaultPatch',
      'VaultDelete',
      'VaultGetDeleted',
      'VaultRecover',
      'VaultDelete',
      'VaultPurge',
    ]);
    expect(armRecords.map((r) => r.correlationId)).toEqual(ids);
    // Records of what ARM answered by itself: none (the purge record names the vault's group although the vault is gone).
    expect(all.filter((r) => /\/(other|missing-vault)\?|\/vaults\?|deletedVaults\?|resourcegroups\/audit-rg\?|roleAssignments/.test(r.properties.requestUri))).toEqual([]);
    expect(armRecords[1]).toEqual({
      time: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/),
      resourceId,
      operationName: 'VaultGet',
      operationVersion: '2026-02-01',
      category: 'AuditEvent',
      resultType: 'Success',
      resultSignature: 'OK',
      durationMs: expect.stringMatching(/^\d+$/),
      callerIpAddress: '127.0.0.1',
      correlationId: ids[1],
      identity: { claim: { 'http://schemas.microsoft.com/identity/claims/objectidentifier': ownerId, appid: '3f5b8c1d-2e4a-4b6c-8d7e-9f0a1b2c3d4e' } },
      properties: {
        id: `https://${vault}.vault.localhost:8443/`,
        clientInfo: 'azure-resource-manager/2.0',
        httpStatusCode: 200,
        requestUri: `http://localhost:8443${path}?${KV}`,
      },
    });
    expect(armRecords[4]).toMatchObject({
      operationName: 'VaultPatch',
      resultType: 'Success',
      resultSignature: 'Bad Request',
      resultDescription: refused.body.error.message,
      properties: { httpStatusCode: 400 },
    });
    expect(armRecords[9]).toMatchObject({ operationName: 'VaultPurge', resultSignature: 'Accepted', properties: { httpStatusCode: 202 } });
    const dataRecord = all.find((r) => r.operationName === 'SecretSet' && r.properties.requestUri.includes('/secrets/audited'));
    expect(dataRecord?.resourceId).toBe(resourceId);
    // The operation filter finds them; no token or value is in any record.
    expect((await admin('GET', `/logs?operation=VaultPurge,VaultRecover&vault=${vault}`)).value.map((r: { operationName: string }) => r.operationName)).toEqual(['VaultRecover', 'VaultPurge']);
    const text = JSON.stringify(all);
    for (const secret of [owner, nobody, ownerVault, 'a-value-never-recorded']) expect(text).not.toContain(secret);
  });
});
