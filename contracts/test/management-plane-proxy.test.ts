// The management plane through the emulator's HTTPS proxy, as management.azure.com: a setup script that
// runs against Azure unchanged (contracts/support/proxy-arm-app.mjs: @azure/arm-keyvault with its default
// endpoint, DefaultAzureCredential signing in at the real authority host with the tenant form, then
// SecretClient on the new vault's own vaultUri), in a child process configured only by what
// `kv-emulator env --proxy` prints. It finds its subscription, makes a resource group and a vault, writes
// and reads a secret at https://<vault>.vault.azure.net, then deletes and purges the vault; the emulator's
// audit log has the vault operations as Key Vault records them.
// Emulator only: the proxy is the emulator's. Nothing here reaches the internet: every name used is one
// the proxy answers for.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { afterEnvProxy } from '../support/proxy-env.js';
import { privateEmulator, skipReason, uniqueName } from '../support/target.js';

const APP = resolve(import.meta.dirname, '../support/proxy-arm-app.mjs');

describe.skipIf(skipReason('the HTTPS proxy is the emulator’s'))('the management plane through the HTTPS proxy', () => {
  const emulator = privateEmulator();

  it('a script with the default ARM endpoint and DefaultAzureCredential makes a vault, and the data-plane SDK uses its vaultUri', { timeout: 60_000 }, async () => {
    const group = uniqueName('proxy-rg').slice(0, 40);
    const vault = uniqueName('px').toLowerCase().slice(0, 24).replace(/-$/, '');
    const seen = await afterEnvProxy(emulator.origin, [], [process.execPath, APP, group, vault]);
    expect(seen.error).toBeUndefined();
    const info = await emulator.admin<{ subscriptionId: string; tenantId: string }>('/info');
    const vaultId = `/subscriptions/${info.subscriptionId}/resourceGroups/${group}/providers/Microsoft.KeyVault/vaults/${vault}`;
    expect(seen).toMatchObject({
      subscriptionId: info.subscriptionId,
      id: vaultId,
      fetchedId: vaultId,
      vaultUri: `https://${vault}.vault.azure.net/`,
      value: 'set-on-the-new-vault',
      deletedVaultId: vaultId,
      tid: info.tenantId,
    });
    expect(seen.secretId).toMatch(new RegExp(`^https://${vault}\\.vault\\.azure\\.net/secrets/written-through-arm/[0-9a-f]{32}$`));
    // The token the SDK asked for with https://management.azure.com/.default.
    expect(['https://management.azure.com/', 'https://management.azure.com']).toContain(seen.audience);

    // Key Vault's records of the vault operations: through ARM, named by the host the script called.
    const records = await emulator.admin<{ value: Array<{ operationName: string; resourceId: string; properties: { id?: string; requestUri: string } }> }>(
      `/logs?vault=${vault}&operation=VaultPut,VaultGet,VaultDelete,VaultGetDeleted,VaultPurge`,
    );
    expect(records.value.map((r) => r.operationName)).toEqual(['VaultPut', 'VaultGet', 'VaultDelete', 'VaultGetDeleted', 'VaultPurge']);
    for (const record of records.value) {
      expect(record.resourceId).toBe(vaultId.toUpperCase());
      expect(record.properties.requestUri).toMatch(/^https:\/\/management\.azure\.com\/subscriptions\//);
      expect(record.properties.id).toBe(`https://${vault}.vault.azure.net/`);
    }
  });
});
