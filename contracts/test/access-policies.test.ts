// Vaults on the access-policy permission model, with the real SDK and real credentials: each principal
// holds one set of secret permissions, and every operation either succeeds or fails with the service's
// 403 ForbiddenByPolicy message naming the missing permission. Role assignments do not count on such a
// vault. Expectations come from the operation descriptions of the REST API (spec §2, §7.2). Emulator
// only: vaults and policies are made through the admin API.
import { SecretClient } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, otherVaultUrl, skipReason, uniqueName } from '../support/target.js';
import { expectedOutcomes, namesFor, OPS, outcomes, prepareState, type Op } from '../support/operations.js';
import { assignRole, emulatorInfo, principals, secretCredential, type EmulatorInfo, type TestPrincipal } from '../support/identity.js';

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
const POLICIES: string[][] = [[], ['get'], ['list'], ['set'], ['delete'], ['backup', 'restore'], ['recover', 'purge'], ['get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge']];

interface Case {
  permissions: string[];
  principal: TestPrincipal;
  kv: SecretClient;
  names: Record<Op, string>;
  blob?: Uint8Array;
}

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
        const names = namesFor(`p${index}`);
        const kase: Case = { permissions, principal, names, kv: new SecretClient(otherVaultUrl(vault), await secretCredential(principal), { retryOptions: { maxRetries: 0 } }) };
        const blob = await prepareState(owner, OPS.filter((op) => permissions.includes(PERMISSION[op])), names);
        if (blob) kase.blob = blob;
        cases[index] = kase;
      }),
    );
  }, 60_000);

  afterAll(() => admin(`/vaults/${vault}`, { method: 'DELETE' }).catch(() => undefined));

  const denial = (kase: Case, op: Op, region: string) =>
    `The user, group or application 'appid=${kase.principal.clientId};oid=${kase.principal.objectId};numgroups=0;iss=https://sts.windows.net/${facts.tenantId}/' ` +
    `does not have secrets ${PERMISSION[op]} permission on key vault '${vault};location=${region}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;

  it.each(POLICIES.map((p, i) => [p.length ? p.join(', ') : '(no policy)', i] as const))('permissions: %s', async (_label, index) => {
    const kase = cases[index]!;
    let getAssignment: string | undefined = 'not called';
    const ctx = { kv: kase.kv, names: kase.names, ...(kase.blob && { blob: kase.blob }), onGetAssignment: (h: string | undefined) => (getAssignment = h) };
    expect(await outcomes(ctx, 'ForbiddenByPolicy', (op, region) => denial(kase, op, region))).toEqual(
      expectedOutcomes((op) => kase.permissions.includes(PERMISSION[op])),
    );
    // Access-policy decisions name no role assignment.
    if (kase.permissions.includes('get')) expect(getAssignment).toBeUndefined();
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
