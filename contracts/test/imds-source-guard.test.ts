// What an app on another machine meets when it asks the emulator's IMDS endpoint for a token: the real
// ManagedIdentityCredential (AZURE_POD_IDENTITY_AUTHORITY_HOST pointing at the emulator through this
// machine's non-loopback address) fails at once with the emulator's 403 message, which says what to do;
// the same credential through loopback signs in. Emulator only: an emulator of this file listening on
// all interfaces, with a certificate naming that address.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { probeWith } from '../support/identity.js';
import { privateEmulator, skipReason } from '../support/target.js';

const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

function noExternalAddress(): boolean {
  if (external) return false;
  console.log('[contracts] skipped: this machine has no non-loopback IPv4 address to call IMDS from (emulator/test/hardening covers the rule)');
  return true;
}

const configFile = join(mkdtempSync(join(tmpdir(), 'kv-imds-guard-')), 'emulator.json');
writeFileSync(configFile, JSON.stringify({ serverNames: external ? [external] : [] }));

describe.skipIf(skipReason('IMDS source ranges are an emulator setting') || noExternalAddress())('IMDS from another address', () => {
  const emulator = privateEmulator(['--host', '0.0.0.0', '--config', configFile]);

  it('ManagedIdentityCredential fails at once with the 403 saying what to do; through loopback it signs in', async () => {
    const port = new URL(emulator.origin).port;
    const env = (host: string) => ({
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS!,
      NODE_OPTIONS: process.env.NODE_OPTIONS!,
      AZURE_POD_IDENTITY_AUTHORITY_HOST: `https://${host}:${port}`,
    });
    const vaultUrl = emulator.vaultUrl('imdsguard');
    const refused = await probeWith(env(external!), vaultUrl, ['managed-identity']);
    expect(refused['managed-identity']!.error).toMatch(/The IMDS token endpoint answers callers on the emulator's machine and the source ranges its configuration names/);
    expect(refused['managed-identity']!.error).toContain(external!);
    const local = await probeWith(env('localhost'), vaultUrl, ['managed-identity']);
    expect(local['managed-identity']).toMatchObject({ value: 'written-by-managed-identity' });
  });
});
