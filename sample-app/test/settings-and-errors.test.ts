// The app's settings from the environment, and how Key Vault failures are put into words.
import { CredentialUnavailableError } from '@azure/identity';
import { RestError } from '@azure/keyvault-secrets';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeFailure } from '../src/connection-secret.js';
import { rotatorSettingsFrom, settingsFrom, SettingsError } from '../src/settings.js';

describe('settings', () => {
  it('turns KEY_VAULT_NAME into the Azure vault URL, with defaults for the rest', () => {
    expect(settingsFrom({ KEY_VAULT_NAME: 'Health-KV' })).toEqual({
      vaultUrl: 'https://health-kv.vault.azure.net',
      secretName: 'db-connection-string',
      host: '0.0.0.0',
      port: 8080,
      secretRefreshIntervalMs: 10_000,
      databaseTimeoutMs: 5_000,
      logLevel: 'info',
    });
  });

  it('prefers a whole KEY_VAULT_URL, keeping only its origin', () => {
    expect(settingsFrom({ KEY_VAULT_URL: 'https://health.vault.localhost:8443/', KEY_VAULT_NAME: 'other', PORT: '3000' })).toMatchObject({
      vaultUrl: 'https://health.vault.localhost:8443',
      port: 3000,
    });
  });

  it('says what to set when the vault is missing or malformed', () => {
    expect(() => settingsFrom({})).toThrow(new SettingsError('Set KEY_VAULT_NAME (the vault https://<name>.vault.azure.net) or KEY_VAULT_URL (the whole vault URL).'));
    expect(() => settingsFrom({ KEY_VAULT_NAME: 'a_b' })).toThrow(/KEY_VAULT_NAME must be a vault name/);
    expect(() => settingsFrom({ KEY_VAULT_URL: 'http://health.vault.azure.net' })).toThrow(/must be an https:\/\/ URL/);
    expect(() => settingsFrom({ KEY_VAULT_NAME: 'health', PORT: 'eighty' })).toThrow("PORT must be a whole number from 0 to 65535, got 'eighty'.");
  });
});

describe('the rotator\'s settings', () => {
  it('shares the app\'s vault, secret and listening settings, and bounds the validity above the 30 days of SecretNearExpiry', () => {
    expect(rotatorSettingsFrom({ KEY_VAULT_URL: 'https://kv.vault.azure.net', PORT: '9000' })).toEqual({
      vaultUrl: 'https://kv.vault.azure.net',
      secretName: 'db-connection-string',
      host: '0.0.0.0',
      port: 9000,
      validityDays: 60,
      databaseTimeoutMs: 5_000,
      logLevel: 'info',
    });
    expect(() => rotatorSettingsFrom({ KEY_VAULT_NAME: 'kv', ROTATION_VALIDITY_DAYS: '30' })).toThrow(SettingsError);
  });
});

describe('both processes, started with bad settings', () => {
  for (const entry of ['main.js', 'rotator.js']) {
    it(`${entry} says what is wrong on stderr and exits 2`, () => {
      const script = fileURLToPath(new URL(`../dist/${entry}`, import.meta.url));
      const env = { PATH: process.env.PATH ?? '', KEY_VAULT_NAME: 'health-kv', PORT: 'eighty' };
      const run = spawnSync(process.execPath, [script], { env, encoding: 'utf8', timeout: 30_000 });
      expect(run.status).toBe(2);
      expect(run.stderr.trim()).toBe("PORT must be a whole number from 0 to 65535, got 'eighty'.");
    });
  }
});

describe('Key Vault failures in words', () => {
  const where = { vaultUrl: 'https://health.vault.azure.net', secretName: 'db-connection-string' };
  const restError = (statusCode: number, error: { code: string; message: string; innerError?: { code: string } }) => {
    const e = new RestError(error.message, { statusCode, code: error.code });
    (e as RestError & { details: unknown }).details = { error };
    return e;
  };

  it('names the missing role for an RBAC denial, with the caller and the action', () => {
    const failure = describeFailure(
      restError(403, {
        code: 'Forbidden',
        message:
          "Caller is not authorized to perform action on resource.\r\nIf role assignments... \r\nCaller: appid=a;oid=o;iss=https://sts.windows.net/t/\r\nAction: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\nResource: '/x'",
        innerError: { code: 'ForbiddenByRbac' },
      }),
      where,
    );
    expect(failure.problem).toBe('denied');
    expect(failure.message).toBe(
      "Key Vault denied access to secret 'db-connection-string' in https://health.vault.azure.net (403 Forbidden/ForbiddenByRbac: Caller is not authorized to perform action on resource. Caller: appid=a;oid=o;iss=https://sts.windows.net/t/ Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'). Grant this app's identity the 'Key Vault Secrets User' role on the vault (or a 'get' secret permission in its access policy).",
    );
  });

  it('says which secret is missing', () => {
    const failure = describeFailure(restError(404, { code: 'SecretNotFound', message: 'A secret with (name/id) db-connection-string was not found in this key vault.' }), where);
    expect(failure.problem).toBe('not-found');
    expect(failure.message).toMatch(/^Key Vault has no secret 'db-connection-string' in https:\/\/health\.vault\.azure\.net \(404 SecretNotFound: A secret/);
  });

  it('explains a missing identity', () => {
    const failure = describeFailure(new CredentialUnavailableError('DefaultAzureCredential failed to retrieve a token.\nmore'), where);
    expect(failure.problem).toBe('no-credential');
    expect(failure.message).toContain('No identity could get a token for Key Vault');
    expect(failure.message).toContain("DefaultAzureCredential failed to retrieve a token. In Azure, enable a managed identity");
  });
});
