import { describe, expect, it } from 'vitest';
import { armPlace, armUnavailable, ownedVault, PROPAGATION_TIMEOUT, skipWithout, uniqueVaultName, vaultsCleanup } from '../support/arm.js';
import { client, uniqueName } from '../support/target.js';

describe('purgeDeletedSecret', () => {
  const kv = client();

  it('purges a deleted secret (204) and frees its name', async () => {
    const name = uniqueName('purge');
    await kv.setSecret(name, 'v');
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    await kv.purgeDeletedSecret(name);
    await expect(kv.getDeletedSecret(name)).rejects.toMatchObject({ statusCode: 404 });
    // The real service frees the name eventually; retry briefly.
    let created;
    for (let attempt = 0; attempt < 30 && !created; attempt++) {
      created = await kv.setSecret(name, 'again').catch(async () => {
        await new Promise((r) => setTimeout(r, 1000));
        return undefined;
      });
    }
    expect(created?.value).toBe('again');
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    await kv.purgeDeletedSecret(name);
  });

  it('answers 404 for a name that is not deleted', async () => {
    const name = uniqueName('nopurge');
    await expect(kv.purgeDeletedSecret(name)).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound', message: `Deleted Secret not found: ${name}` });
  });

  // The purge-protected vault is made through the management plane, on both targets.
  const vaults = skipWithout(armUnavailable()) ? undefined : vaultsCleanup();

  it.skipIf(vaults === undefined)(
    'refuses to purge under purge protection (403) until the retention has passed',
    async () => {
      const vault = vaults!(uniqueVaultName('pp'));
      const protectedKv = (await ownedVault(vault, { purgeProtection: true, retentionDays: 7 })).owner;
      const { location } = await armPlace();
      const name = uniqueName('kept');
      const secret = await protectedKv.setSecret(name, 'v');
      expect(secret.properties.recoveryLevel).toBe('CustomizedRecoverable');
      expect(secret.properties.recoverableDays).toBe(7);
      await (await protectedKv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
      const error = await protectedKv.purgeDeletedSecret(name).catch((e: unknown) => e);
      expect(error).toMatchObject({
        statusCode: 403,
        code: 'Forbidden',
        message: `Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Vault: ${vault};location=${location}`,
      });
      await expect(protectedKv.getDeletedSecret(name)).resolves.toMatchObject({ name });
    },
    PROPAGATION_TIMEOUT,
  );
});
