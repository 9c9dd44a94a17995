// Vaults on the access-policy permission model, with the real SDK and real credentials: each principal
// holds one set of secret permissions, and every operation either succeeds or fails with the service's
// 403 ForbiddenByPolicy message naming the missing permission. Role assignments do not count on such a
// vault. Expectations come from the operation descriptions of the REST API (spec §2, §7.2). Emulator
// only: vaults and policies are made through the admin API.
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, otherVaultUrl, skipReason, uniqueName } from '../support/target.js';
import { assignRole, emulatorInfo, principals, secretCredential, type EmulatorInfo, type TestPrincipal } from '../support/identity.js';

type Op = 'get' | 'listSecrets' | 'listVersions' | 'set' | 'update' | 'delete' | 'backup' | 'restore' | 'getDeleted' | 'listDeleted' | 'recover' | 'purge';
const OPS: Op[] = ['get', 'listSecrets', 'listVersions', 'set', 'update', 'delete', 'backup', 'restore', 'getDeleted', 'listDeleted', 'recover', 'purge'];

/** The access-policy permission each operation requires ("This operation requires the secrets/<x> permission"). */
const PERMISSION: Record<Op, string> = {
  get: 'get',
  listSecrets: 'list',
  listVersions: 'list',
  set: 'set',
  update: 'set',
  delete: 'delete',
  backup: 'backup',
  restore: 'restore',
  getDeleted: 'get',
  listDeleted: 'list',
  recover: 'recover',
  purge: 'purge',
};
const STATE: Record<Op, 'none' | 'active' | 'deleted' | 'backup'> = {
  get: 'active',
  listSecrets: 'none',
  listVersions: 'active',
  set: 'none',
  update: 'active',
  delete: 'active',
  backup: 'active',
  restore: 'backup',
  getDeleted: 'deleted',
  listDeleted: 'none',
  recover: 'deleted',
  purge: 'deleted',
};

const POLICIES: string[][] = [[], ['get'], ['list'], ['set'], ['delete'], ['backup', 'restore'], ['recover', 'purge'], ['get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge']];

interface Case {
  permissions: string[];
  principal: TestPrincipal;
  kv: SecretClient;
  names: Record<Op, string>;
  blob?: Uint8Array;
}

type Raw = { parsedBody?: unknown; bodyAsText?: string | null };

describe.skipIf(skipReason('creates access-policy vaults and policies through the emulator admin API'))('access-policy vaults', () => {
  const made = principals();
  const vault = uniqueName('policies').slice(0, 40);
  const cases: Case[] = [];
  let facts: EmulatorInfo;
  let owner: SecretClient;

  beforeAll(async () => {
    facts = await emulatorInfo();
    await admin('/vaults', { method: 'POST', body: { name: vault, permissionModel: 'accessPolicy', softDeleteRetentionInDays: 7 } });
    const ownerPrincipal = await made.servicePrincipal('ap-owner');
    await admin(`/accessPolicies/${vault}/${ownerPrincipal.objectId}`, { method: 'PUT', body: { secrets: ['all'] } });
    owner = new SecretClient(otherVaultUrl(vault), await secretCredential(ownerPrincipal));
    await Promise.all(
      POLICIES.map(async (permissions, index) => {
        const principal = await made.servicePrincipal('ap');
        if (permissions.length > 0) await admin(`/accessPolicies/${vault}/${principal.objectId}`, { method: 'PUT', body: { secrets: permissions } });
        const names = Object.fromEntries(OPS.map((op) => [op, `p${index}-${op}`])) as Record<Op, string>;
        const kase: Case = { permissions, principal, names, kv: new SecretClient(otherVaultUrl(vault), await secretCredential(principal), { retryOptions: { maxRetries: 0 } }) };
        await Promise.all(
          OPS.filter((op) => permissions.includes(PERMISSION[op]) && STATE[op] !== 'none').map(async (op) => {
            const name = names[op];
            await owner.setSecret(name, `value-${name}`);
            if (STATE[op] === 'backup') kase.blob = await owner.backupSecret(name);
            if (STATE[op] === 'deleted' || STATE[op] === 'backup') await (await owner.beginDeleteSecret(name)).pollUntilDone();
            if (STATE[op] === 'backup') await owner.purgeDeletedSecret(name);
          }),
        );
        cases[index] = kase;
      }),
    );
  }, 60_000);

  afterAll(() => admin(`/vaults/${vault}`, { method: 'DELETE' }).catch(() => undefined));

  async function run(kase: Case, op: Op, raw: { response?: Raw }): Promise<unknown> {
    const { kv } = kase;
    const name = kase.names[op];
    const onResponse = (response: Raw) => void (raw.response = response);
    switch (op) {
      case 'get': {
        let assignmentHeader: string | null | undefined;
        const secret = await kv.getSecret(name, { onResponse: (r) => (assignmentHeader = r.headers.get('x-ms-keyvault-rbac-assignment-id')) });
        expect(assignmentHeader).toBeUndefined();
        return expect(secret.value).toBe(`value-${name}`);
      }
      case 'listSecrets':
        return (await kv.listPropertiesOfSecrets({ onResponse }).byPage().next()).value;
      case 'listVersions':
        return expect((await kv.listPropertiesOfSecretVersions(name, { onResponse }).byPage().next()).value).toHaveLength(1);
      case 'set':
        return kv.setSecret(name, 'set-by-case');
      case 'update':
        return expect((await kv.updateSecretProperties(name, '', { enabled: false })).enabled).toBe(false);
      case 'delete':
        return (await kv.beginDeleteSecret(name)).pollUntilDone();
      case 'backup':
        return expect((await kv.backupSecret(name))?.length).toBeGreaterThan(0);
      case 'restore':
        return expect((await kv.restoreSecretBackup(kase.blob ?? new Uint8Array([1, 2, 3]))).name).toBe(name);
      case 'getDeleted':
        return expect((await kv.getDeletedSecret(name)).name).toBe(name);
      case 'listDeleted':
        return (await kv.listDeletedSecrets({ onResponse }).byPage().next()).value;
      case 'recover':
        return (await kv.beginRecoverDeletedSecret(name)).pollUntilDone();
      case 'purge':
        return kv.purgeDeletedSecret(name);
    }
  }

  const denial = (kase: Case, op: Op, region: string) =>
    `The user, group or application 'appid=${kase.principal.clientId};oid=${kase.principal.objectId};numgroups=0;iss=https://sts.windows.net/${facts.tenantId}/' ` +
    `does not have secrets ${PERMISSION[op]} permission on key vault '${vault};location=${region}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;

  it.each(POLICIES.map((p, i) => [p.length ? p.join(', ') : '(no policy)', i] as const))('permissions: %s', async (_label, index) => {
    const kase = cases[index]!;
    const outcomes = await Promise.all(
      OPS.map(async (op) => {
        const raw: { response?: Raw } = {};
        try {
          await run(kase, op, raw);
          return `${op}: allowed`;
        } catch (error) {
          const e = error as { statusCode?: number; message: string; details?: { error?: { code?: string; message?: string; innerError?: { code?: string } } }; response?: { headers: { get(n: string): string | undefined } } };
          const body = (e.details?.error ? e.details : (raw.response?.parsedBody ?? JSON.parse(raw.response?.bodyAsText ?? '{}'))) as {
            error?: { code?: string; message?: string; innerError?: { code?: string }; innererror?: { code?: string } };
          };
          const inner = body.error?.innerError?.code ?? body.error?.innererror?.code;
          if (e.statusCode === 403 && body.error?.code === 'Forbidden' && inner === 'ForbiddenByPolicy') {
            const expected = denial(kase, op, e.response?.headers.get('x-ms-keyvault-region') ?? '');
            return body.error.message === expected ? `${op}: denied` : `${op}: denied with ${JSON.stringify(body.error.message)}, expected ${JSON.stringify(expected)}`;
          }
          return `${op}: failed ${e.statusCode ?? ''} ${e.message}`;
        }
      }),
    );
    expect(outcomes).toEqual(OPS.map((op) => `${op}: ${kase.permissions.includes(PERMISSION[op]) ? 'allowed' : 'denied'}`));
  });

  it('ignores role assignments: Key Vault Administrator at the root does not open an access-policy vault', async () => {
    const admin = await made.servicePrincipal('ap-rbac');
    await assignRole(admin, 'Key Vault Administrator', '/');
    const kv = new SecretClient(otherVaultUrl(vault), await secretCredential(admin), { retryOptions: { maxRetries: 0 } });
    const error = await kv.setSecret('anything', 'v').catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect((error as Error).message).toContain(`does not have secrets set permission on key vault '${vault};location=`);
  });
});
