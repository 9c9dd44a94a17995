import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { client, privateEmulator, skipReason } from '../support/target.js';

// Certificate-backed secrets exist only through certificates on Azure; the emulator seeds them
// read-only from its config file.
const configFile = join(mkdtempSync(join(tmpdir(), 'kv-managed-')), 'emulator.json');
writeFileSync(
  configFile,
  JSON.stringify({
    vaults: [
      {
        name: 'certs',
        softDeleteRetentionInDays: 7,
        secrets: [
          { name: 'web-tls', value: 'MIIKOAIBAzCC', managed: true, contentType: 'application/x-pkcs12', kid: 'https://certs.vault.azure.net/keys/web-tls/0123456789abcdef0123456789abcdef' },
          { name: 'plain', value: 'seeded', tags: { from: 'config' } },
        ],
      },
    ],
  }),
);

const innerCode = (error: unknown) => (error as { details?: { error?: { innerError?: { code?: string } } } }).details?.error?.innerError?.code;

describe.skipIf(skipReason('managed secrets are seeded through the emulator config file'))('certificate-backed (managed) secrets', () => {
  const emulator = privateEmulator(['--config', configFile]);

  it('reads a seeded managed secret with managed, kid and its content type', async () => {
    const kv = client(emulator.vaultUrl('certs'));
    const secret = await kv.getSecret('web-tls');
    expect(secret.value).toBe('MIIKOAIBAzCC');
    expect(secret.properties.managed).toBe(true);
    expect(secret.properties.certificateKeyId).toBe('https://certs.vault.azure.net/keys/web-tls/0123456789abcdef0123456789abcdef');
    expect(secret.properties.contentType).toBe('application/x-pkcs12');
    expect(secret.properties.recoveryLevel).toBe('CustomizedRecoverable+Purgeable');
    const listed = [];
    for await (const item of kv.listPropertiesOfSecrets()) listed.push(item);
    expect(listed.find((i) => i.name === 'web-tls')?.managed).toBe(true);
    expect((await kv.getSecret('plain')).properties.tags).toEqual({ from: 'config' });
  });

  it('refuses writes with 403 SecretManagedByKeyVault', async () => {
    const kv = client(emulator.vaultUrl('certs'));
    const set = await kv.setSecret('web-tls', 'x').catch((e: unknown) => e);
    expect(set).toMatchObject({ statusCode: 403, code: 'Forbidden', message: `Operation "set" is not allowed as this object's lifetime is managed by Key Vault.` });
    expect(innerCode(set)).toBe('SecretManagedByKeyVault');
    const update = await kv.updateSecretProperties('web-tls', '', { enabled: false }).catch((e: unknown) => e);
    expect(update).toMatchObject({ statusCode: 403 });
    expect(innerCode(update)).toBe('SecretManagedByKeyVault');
    const del = await kv.beginDeleteSecret('web-tls').catch((e: unknown) => e);
    expect(del).toMatchObject({ statusCode: 403 });
    expect((del as Error).message).toMatch(/^Operation "delete" is not allowed on this secret, since it is associated with a certificate\./);
    expect((await kv.getSecret('web-tls')).value).toBe('MIIKOAIBAzCC');
  });
});
