// Vaults on the access-policy permission model, with the real SDK and real credentials: each principal
// holds one set of secret permissions, and every operation either succeeds or fails with the service's
// 403 ForbiddenByPolicy message naming the missing permission. Role assignments do not count on such a
// vault. Expectations come from the operation descriptions of the REST API (spec §2, §7.2). Vaults and
// policies are made through the management plane (ARM), so this runs on the emulator and on Azure; each
// case has a vault of its own, so that on Azure one subject principal can hold every case's permissions.
import { SecretClient } from '@azure/keyvault-secrets';
import { beforeAll, describe, expect, it } from 'vitest';
import { armPlace, assignRoleArm, eventually, ownedVault, PROPAGATION_TIMEOUT, ROLES, skipWithout, subjectUnavailable, subjects, uniqueVaultName, vaultsCleanup, type ArmPlace, type Subject } from '../support/arm.js';
import { expectedOutcomes, namesFor, OPS, outcomes, prepareState, type Op } from '../support/operations.js';

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
/** Operations that change nothing: the first one a case may run tells that its policy applies. */
const PROBES: Op[] = ['get', 'listSecrets', 'listVersions', 'getDeleted', 'listDeleted', 'backup'];

interface Case {
  permissions: string[];
  subject: Subject;
  vault: string;
  kv: SecretClient;
  names: Record<Op, string>;
  blob?: Uint8Array;
}

describe.skipIf(skipWithout(subjectUnavailable()))('access-policy vaults', () => {
  const subject = subjects();
  const cleanup = vaultsCleanup();
  const cases: Case[] = [];
  let place: ArmPlace;

  beforeAll(async () => {
    place = await armPlace();
    await Promise.all(
      POLICIES.map(async (permissions, index) => {
        const holder = await subject('ap');
        const policies = permissions.length > 0 ? [{ tenantId: place.tenantId, objectId: holder.objectId, permissions: { secrets: permissions } }] : [];
        const { name, url, owner } = await ownedVault(cleanup(uniqueVaultName('ap')), { rbac: false, accessPolicies: policies });
        const names = namesFor(`p${index}`);
        const kase: Case = { permissions, subject: holder, vault: name, names, kv: new SecretClient(url, holder.credential, { retryOptions: { maxRetries: 0 } }) };
        const blob = await prepareState(owner, OPS.filter((op) => permissions.includes(PERMISSION[op])), names);
        if (blob) kase.blob = blob;
        cases[index] = kase;
      }),
    );
  }, 600_000);

  const denial = (kase: Case, op: Op, region: string) =>
    `The user, group or application 'appid=${kase.subject.clientId};oid=${kase.subject.objectId};numgroups=0;iss=https://sts.windows.net/${place.tenantId}/' ` +
    `does not have secrets ${PERMISSION[op]} permission on key vault '${kase.vault};location=${region}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`;

  it.each(POLICIES.map((p, i) => [p.length ? p.join(', ') : '(no policy)', i] as const))('permissions: %s', async (_label, index) => {
    const kase = cases[index]!;
    let getAssignment: string | undefined = 'not called';
    const ctx = { kv: kase.kv, names: kase.names, ...(kase.blob && { blob: kase.blob }), onGetAssignment: (h: string | undefined) => (getAssignment = h) };
    const probe = PROBES.find((op) => kase.permissions.includes(PERMISSION[op]));
    // On Azure a policy applies after a short delay: wait until a harmless allowed operation goes through.
    if (probe) await eventually(async () => expect(await outcomes(ctx, 'ForbiddenByPolicy', (op, region) => denial(kase, op, region), [probe])).toEqual([`${probe}: allowed`]));
    expect(await outcomes(ctx, 'ForbiddenByPolicy', (op, region) => denial(kase, op, region))).toEqual(expectedOutcomes((op) => kase.permissions.includes(PERMISSION[op])));
    // Access-policy decisions name no role assignment.
    if (kase.permissions.includes('get')) expect(getAssignment).toBeUndefined();
  }, PROPAGATION_TIMEOUT);

  it('ignores role assignments: Key Vault Administrator on the vault does not open an access-policy vault', async () => {
    const holder = await subject('ap-rbac');
    const { name, vault } = await ownedVault(cleanup(uniqueVaultName('apr')), { rbac: false });
    await assignRoleArm(holder.objectId, ROLES.keyVaultAdministrator, vault.id!);
    const kv = new SecretClient(vault.properties.vaultUri!, holder.credential, { retryOptions: { maxRetries: 0 } });
    const error = await kv.setSecret('anything', 'v').catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect((error as Error).message).toContain(`does not have secrets set permission on key vault '${name};location=`);
  }, PROPAGATION_TIMEOUT);
});
