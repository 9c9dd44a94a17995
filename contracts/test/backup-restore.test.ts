import { describe, expect, it } from 'vitest';
import { armUnavailable, ownedVault, PROPAGATION_TIMEOUT, skipWithout, uniqueVaultName, vaultsCleanup } from '../support/arm.js';
import { cleanupAfterAll, client, uniqueName } from '../support/target.js';

describe('backupSecret and restoreSecretBackup', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('round-trips every version through a blob, after a purge', async () => {
    const name = track(uniqueName('backup'));
    const one = await kv.setSecret(name, 'one', { tags: { n: '1' }, contentType: 'text/plain' });
    const two = await kv.setSecret(name, 'two', { enabled: false });
    const blob = await kv.backupSecret(name);
    expect(blob).toBeInstanceOf(Uint8Array);
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    await kv.purgeDeletedSecret(name);

    let restored;
    for (let attempt = 0; attempt < 30 && !restored; attempt++) {
      // The real service may briefly report a conflict right after a purge.
      restored = await kv.restoreSecretBackup(blob!).catch(async (e: { statusCode?: number }) => {
        if (e.statusCode !== 409) throw e;
        await new Promise((r) => setTimeout(r, 1000));
        return undefined;
      });
    }
    expect(restored?.name).toBe(name);
    expect(restored?.version).toBe(two.properties.version);
    const first = await kv.getSecret(name, { version: one.properties.version! });
    expect(first.value).toBe('one');
    expect(first.properties.tags).toEqual({ n: '1' });
    expect(first.properties.createdOn?.getTime()).toBe(one.properties.createdOn?.getTime());
    await expect(kv.getSecret(name)).rejects.toMatchObject({ statusCode: 403 });
  });

  it('answers 404 when backing up a missing secret', async () => {
    await expect(kv.backupSecret(uniqueName('nobackup'))).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('refuses a malformed blob with the real 400', async () => {
    const error = await kv.restoreSecretBackup(new Uint8Array(4728)).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 400, code: 'Malformed backup blob', message: 'Backup blob contains invalid or corrupt version.' });
  });

  it('refuses to restore over an existing name (409 Conflict)', async () => {
    const name = track(uniqueName('exists'));
    const created = await kv.setSecret(name, 'v');
    const blob = await kv.backupSecret(name);
    const error = await kv.restoreSecretBackup(blob!).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 409, code: 'Conflict' });
    expect((error as Error).message).toContain(`There was a conflict restoring the secret '${created.properties.id}'.`);
  });

  it('refuses to restore over a soft-deleted name (409 ObjectIsDeletedButRecoverable)', async () => {
    const name = track(uniqueName('restoredeleted'));
    await kv.setSecret(name, 'v');
    const blob = await kv.backupSecret(name);
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    const error = await kv.restoreSecretBackup(blob!).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 409, code: 'Conflict' });
    expect((error as { details?: { error?: { innerError?: { code?: string } } } }).details?.error?.innerError?.code).toBe('ObjectIsDeletedButRecoverable');
  });

  // The second vault is made through the management plane, on both targets.
  const vaults = skipWithout(armUnavailable()) ? undefined : vaultsCleanup();

  it.skipIf(vaults === undefined)(
    'restores into another vault with all versions',
    async () => {
      const name = track(uniqueName('move'));
      await kv.setSecret(name, 'one');
      const two = await kv.setSecret(name, 'two');
      const blob = await kv.backupSecret(name);
      const { url, owner: other } = await ownedVault(vaults!(uniqueVaultName('target')));
      const restored = await other.restoreSecretBackup(blob!);
      expect(restored.vaultUrl).toBe(url);
      expect((await other.getSecret(name)).value).toBe('two');
      const versions = [];
      for await (const v of other.listPropertiesOfSecretVersions(name)) versions.push(v.version);
      expect(versions).toHaveLength(2);
      expect(versions).toContain(two.properties.version);
    },
    PROPAGATION_TIMEOUT,
  );
});
