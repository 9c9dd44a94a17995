// The management plane with the real management SDKs (@azure/arm-keyvault, @azure/arm-authorization)
// and DefaultAzureCredential, seen by the real data-plane SDK: a setup script written for Azure (vault
// with RBAC, role assignments, soft delete, recover, purge, purge protection) runs unchanged, and its
// effects are what the data plane does. Runs on the emulator and, given the variables of
// contracts/support/arm.ts, against Azure (where role assignments take a while to apply: `eventually`).
import { SecretClient } from '@azure/keyvault-secrets';
import { describe, expect, it } from 'vitest';
import {
  armPlace,
  armUnavailable,
  assignRoleArm,
  PROPAGATION_TIMEOUT,
  createVault,
  eventually,
  removeRoleArm,
  ROLES,
  selfObjectId,
  skipWithout,
  subjectUnavailable,
  subjects,
  uniqueVaultName,
  vaultId,
  vaultsClient,
  vaultsCleanup,
} from '../support/arm.js';
import { client, onEmulator } from '../support/target.js';

const noRetries = { retryOptions: { maxRetries: 0 } };

describe.skipIf(skipWithout(subjectUnavailable()))('a setup script on the management plane', () => {
  const cleanup = vaultsCleanup();
  const subject = subjects();

  it('RBAC vault: Key Vault Secrets User reads the secret, and is refused once the assignment is removed', { timeout: PROPAGATION_TIMEOUT }, async () => {
    const place = await armPlace();
    const name = cleanup(uniqueVaultName('mp'));
    const vault = await createVault(name, { rbac: true });
    expect(vault.properties).toMatchObject({ enableRbacAuthorization: true, softDeleteRetentionInDays: 7, tenantId: place.tenantId });
    expect(vault.id).toBe(vaultId(place, name));
    const vaultUri = vault.properties.vaultUri!;
    // The suite's identity gives itself Secrets Officer to write the secret, as a setup script would.
    await assignRoleArm(await selfObjectId(), ROLES.keyVaultSecretsOfficer, vault.id!);
    const writer = client(vaultUri);
    await eventually(() => writer.setSecret('db-password', 'p@ss'));

    const app = await subject('mp-app');
    const assignment = await assignRoleArm(app.objectId, ROLES.keyVaultSecretsUser, vault.id!);
    const reader = new SecretClient(vaultUri, app.credential, noRetries);
    expect((await eventually(() => reader.getSecret('db-password'))).value).toBe('p@ss');
    // A Secrets User cannot write.
    await expect(reader.setSecret('db-password', 'x')).rejects.toMatchObject({ statusCode: 403, code: 'Forbidden' });

    await removeRoleArm(assignment);
    const denied = await eventually(async () => {
      const error = await reader.getSecret('db-password').then(() => undefined, (e: unknown) => e);
      if (!error) throw new Error('still allowed');
      return error as { statusCode?: number; code?: string; details?: { error?: { innerError?: { code?: string } } } };
    });
    expect(denied).toMatchObject({ statusCode: 403, code: 'Forbidden' });
    expect(denied.details?.error?.innerError?.code).toBe('ForbiddenByRbac');
  });

  it('Key Vault Contributor updates the vault and is refused the secret', { timeout: PROPAGATION_TIMEOUT }, async () => {
    const name = cleanup(uniqueVaultName('mc'));
    const vault = await createVault(name, { rbac: true });
    await assignRoleArm(await selfObjectId(), ROLES.keyVaultSecretsOfficer, vault.id!);
    await eventually(() => client(vault.properties.vaultUri!).setSecret('guarded', 'v'));

    const ops = await subject('mc-ops');
    await assignRoleArm(ops.objectId, ROLES.keyVaultContributor, vault.id!);
    const place = await armPlace();
    const asOps = await vaultsClient(ops.credential);
    const updated = await eventually(() => asOps.vaults.update(place.resourceGroup, name, { tags: { owner: 'ops' } }));
    expect(updated.tags).toEqual({ owner: 'ops' });
    const error = await new SecretClient(vault.properties.vaultUri!, ops.credential, noRetries).getSecret('guarded').then(
      () => undefined,
      (e: unknown) => e as { statusCode?: number; details?: { error?: { innerError?: { code?: string } } } },
    );
    expect(error).toMatchObject({ statusCode: 403 });
    expect(error?.details?.error?.innerError?.code).toBe('ForbiddenByRbac');
  });
});

describe.skipIf(skipWithout(armUnavailable()))('vault soft delete on the management plane', () => {
  const cleanup = vaultsCleanup();

  it('delete puts the vault in deleted vaults; recover brings it back with its secrets; delete and purge remove it', { timeout: PROPAGATION_TIMEOUT }, async () => {
    const place = await armPlace();
    const name = cleanup(uniqueVaultName('md'));
    const vault = await createVault(name, { rbac: true });
    await assignRoleArm(await selfObjectId(), ROLES.keyVaultSecretsOfficer, vault.id!);
    await eventually(() => client(vault.properties.vaultUri!).setSecret('kept', 'through deletion'));
    const arm = await vaultsClient();

    await arm.vaults.delete(place.resourceGroup, name);
    const deleted = await arm.vaults.getDeleted(name, place.location);
    expect(deleted.properties).toMatchObject({ vaultId: vault.id, location: place.location });
    expect(deleted.properties?.purgeProtectionEnabled ?? false).toBe(false);
    expect(deleted.properties?.scheduledPurgeDate!.getTime()).toBeGreaterThan(deleted.properties!.deletionDate!.getTime());
    const listed = [];
    for await (const v of arm.vaults.listDeleted()) listed.push(v.name);
    expect(listed).toContain(name);
    await expect(arm.vaults.get(place.resourceGroup, name)).rejects.toMatchObject({ statusCode: 404, code: 'ResourceNotFound' });
    await expect(
      arm.vaults.createOrUpdate(place.resourceGroup, name, { location: place.location, properties: { tenantId: place.tenantId, sku: { family: 'A', name: 'standard' }, accessPolicies: [] } }),
    ).rejects.toMatchObject({ statusCode: 409, code: 'ConflictError' });

    const recovered = await arm.vaults.createOrUpdate(place.resourceGroup, name, {
      location: place.location,
      properties: { tenantId: place.tenantId, sku: { family: 'A', name: 'standard' }, createMode: 'recover' },
    }, { updateIntervalInMs: onEmulator ? 0 : 2000 });
    expect(recovered.name).toBe(name);
    // Role assignments do not survive a vault's deletion (docs soft-delete-overview): assign again.
    await assignRoleArm(await selfObjectId(), ROLES.keyVaultSecretsOfficer, vault.id!);
    expect((await eventually(() => client(recovered.properties.vaultUri!).getSecret('kept'))).value).toBe('through deletion');

    await arm.vaults.delete(place.resourceGroup, name);
    await arm.vaults.purgeDeleted(name, place.location, { updateIntervalInMs: onEmulator ? 0 : 5000 });
    await expect(arm.vaults.getDeleted(name, place.location)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('purge protection refuses the purge of a deleted vault', { timeout: PROPAGATION_TIMEOUT }, async () => {
    const place = await armPlace();
    const name = cleanup(uniqueVaultName('mq'));
    await createVault(name, { rbac: true, purgeProtection: true, retentionDays: 7 });
    const arm = await vaultsClient();
    await expect(arm.vaults.update(place.resourceGroup, name, { properties: { enablePurgeProtection: false } })).rejects.toMatchObject({
      statusCode: 400,
      message: 'The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.',
    });
    await arm.vaults.delete(place.resourceGroup, name);
    const error = await arm.vaults.purgeDeleted(name, place.location, { updateIntervalInMs: onEmulator ? 0 : 5000 }).then(
      () => undefined,
      (e: unknown) => e as { statusCode?: number; code?: string; message?: string },
    );
    expect(error).toBeDefined();
    expect(error?.message).toContain("Operation 'DeletedVaultPurge' is not allowed.");
    expect((await arm.vaults.getDeleted(name, place.location)).properties?.purgeProtectionEnabled).toBe(true);
  });
});
