// Real clients of other languages and tools, unchanged from what they run against Azure, through the
// emulator's HTTPS proxy with only what `kv-emulator env --proxy` prints: a Node app and a Python app
// (Debian's python3-azure: azure-keyvault-secrets, azure-identity, MSAL) reading and writing
// https://default.vault.azure.net and signing in at https://login.microsoftonline.com/<tenant>, and curl
// with --proxy. The emulator mirrors an app's real identity (its tenant id and the app's client id).
// Emulator only: the proxy and the mirrored identity are the emulator's; the tests start their own.
// Nothing here reaches the internet: every name used is one the proxy answers for.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/global-setup.js';
import { bareEnvironment } from '../support/identity.js';
import { afterEnvProxy, envProxy, PYTHON, pythonUnavailable, run } from '../support/proxy-env.js';
import { privateEmulator, skipReason, uniqueName } from '../support/target.js';

const NODE_APP = resolve(import.meta.dirname, '../support/proxy-app.mjs');
const PYTHON_APP = resolve(import.meta.dirname, '../support/proxy_app.py');

// An app's identity as it is in Azure (AZURE_TENANT_ID, AZURE_CLIENT_ID), mirrored by the emulator.
const TENANT = '4d1f7f8e-3c2b-4a59-9e61-5b7c0a2d8e13';
const APP_ID = '0b7d3c1e-8a44-4f0e-9d5b-2c6e1f3a7b90';
const config = {
  tenantId: TENANT,
  identities: {
    servicePrincipals: [
      { name: 'orders-api', appId: APP_ID, clientSecret: 'local-only-orders-secret' },
      { name: 'orders-reader', clientSecret: 'local-only-reader-secret' },
    ],
  },
  roleAssignments: [
    { principal: 'orders-api', role: 'Key Vault Secrets Officer', scope: '/' },
    { principal: 'orders-reader', role: 'Key Vault Secrets User', scope: '/' },
  ],
};
const configDir = mkdtempSync(join(tmpdir(), 'kv-contract-proxy-'));
writeFileSync(join(configDir, 'emulator.json'), JSON.stringify(config));

function curlUnavailable(): string | undefined {
  try {
    execFileSync('curl', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch (error) {
    return `curl is not installed: ${(error as Error).message}`;
  }
}

describe.skipIf(skipReason('the HTTPS proxy and the mirrored identity are the emulator’s'))('real clients through the HTTPS proxy', () => {
  const emulator = privateEmulator(['--config', join(configDir, 'emulator.json')]);
  let vars: Record<string, string>;

  beforeAll(async () => {
    vars = await envProxy(emulator.origin, ['--as', 'orders-api']);
  });

  it('env --proxy prints what any language needs: the proxy, the real vault URL, the app identity and a CA bundle', () => {
    expect(vars.HTTPS_PROXY).toMatch(/^http:\/\/localhost:\d+$/);
    expect(vars.https_proxy).toBe(vars.HTTPS_PROXY);
    expect(vars.NO_PROXY).toBe('localhost,127.0.0.1,::1');
    expect(vars.AZURE_KEYVAULT_URL).toBe('https://default.vault.azure.net');
    expect(vars.KEY_VAULT_URL).toBe('https://default.vault.azure.net');
    expect({ tenant: vars.AZURE_TENANT_ID, client: vars.AZURE_CLIENT_ID, secret: vars.AZURE_CLIENT_SECRET }).toEqual({ tenant: TENANT, client: APP_ID, secret: 'local-only-orders-secret' });
    expect(vars).not.toHaveProperty('AZURE_AUTHORITY_HOST');
    expect(vars).not.toHaveProperty('NODE_OPTIONS');
    for (const name of ['REQUESTS_CA_BUNDLE', 'SSL_CERT_FILE', 'CURL_CA_BUNDLE']) expect(vars[name]).toBe(vars.REQUESTS_CA_BUNDLE);
    const bundle = readFileSync(vars.REQUESTS_CA_BUNDLE!, 'utf8');
    const emulatorCa = readFileSync(vars.NODE_EXTRA_CA_CERTS!, 'utf8').trim();
    expect(bundle).toContain(emulatorCa);
    // The system's CAs too, so tunnelled traffic still verifies.
    expect(bundle.split('BEGIN CERTIFICATE').length - 1).toBeGreaterThan(10);
  });

  it('a Node app (DefaultAzureCredential, default client options) writes, reads and lists https://default.vault.azure.net', async () => {
    const name = uniqueName('proxy-node');
    const seen = await afterEnvProxy(emulator.origin, ['--as', 'orders-api'], [process.execPath, NODE_APP, name]);
    expect(seen).toMatchObject({ vaultUrl: 'https://default.vault.azure.net', value: 'written-by-node', listed: true, tid: TENANT, appid: APP_ID });
    expect(seen.id).toMatch(new RegExp(`^https://default\\.vault\\.azure\\.net/secrets/${name}/[0-9a-f]{32}$`));
  });

  describe('a Python app (azure-keyvault-secrets, azure-identity)', () => {
    const unavailable = pythonUnavailable();
    if (unavailable) console.log(`[contracts] skipped the Python SDK through the proxy: ${unavailable}`);
    const name = uniqueName('proxy-python');

    it.skipIf(unavailable !== undefined)('sets, gets, lists, deletes and recovers, and sees the 401 of a bad token', async () => {
      const seen = await afterEnvProxy(emulator.origin, ['--as', 'orders-api'], [PYTHON, PYTHON_APP, 'lifecycle', name]);
      expect(seen.error).toBeUndefined();
      expect(seen.vault_url).toBe('https://default.vault.azure.net');
      expect(seen.set.id).toMatch(new RegExp(`^https://default\\.vault\\.azure\\.net/secrets/${name}/[0-9a-f]{32}$`));
      expect(seen.set.content_type).toBe('text/plain');
      expect(seen.get).toBe('written-by-python');
      expect(seen.listed).toBe(true);
      expect(seen.delete).toEqual({ recovery_id: `https://default.vault.azure.net/deletedsecrets/${name}`, has_purge_date: true });
      expect(seen.get_while_deleted).toMatchObject({ type: 'ResourceNotFoundError', status: 404, code: 'SecretNotFound' });
      expect(seen.recover).toBe(name);
      expect(seen.get_after_recover).toBe('written-by-python');
      expect(seen.bad_token).toMatchObject({
        type: 'ClientAuthenticationError',
        status: 401,
        code: 'Unauthorized',
        message: 'AKV10000: Request is missing a Bearer or PoP token.',
      });
    });

    it.skipIf(unavailable !== undefined)('is denied with the RBAC 403 when its principal may only read', async () => {
      const seen = await afterEnvProxy(emulator.origin, ['--as', 'orders-reader'], [PYTHON, PYTHON_APP, 'denied', name]);
      expect(seen.error).toBeUndefined();
      expect(seen.get).toBe('written-by-python');
      expect(seen.set).toMatchObject({ type: 'HttpResponseError', status: 403, code: 'Forbidden', inner: 'ForbiddenByRbac' });
      expect(seen.set.message).toMatch(/^Caller is not authorized to perform action on resource\.\r\n/);
      expect(seen.set.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'");
    });
  });

  describe('curl --proxy', () => {
    const unavailable = curlUnavailable();
    if (unavailable) console.log(`[contracts] skipped curl through the proxy: ${unavailable}`);

    it.skipIf(unavailable !== undefined)('gets the real challenge from a vault name, a token from the real authority path, then the secret', async () => {
      const curl = (args: string[]) => run('curl', ['-sS', '--proxy', vars.HTTPS_PROXY!, '--cacert', vars.CURL_CA_BUNDLE!, ...args], bareEnvironment());
      const challenge = await curl(['-i', 'https://default.vault.azure.net/secrets?api-version=7.6']);
      expect(challenge.stdout).toMatch(/^HTTP\/1\.1 401 Unauthorized\r$/m);
      expect(challenge.stdout).toContain(`www-authenticate: Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`);
      const token = await curl([
        '--data-urlencode', 'grant_type=client_credentials',
        '--data-urlencode', `client_id=${APP_ID}`,
        '--data-urlencode', 'client_secret=local-only-orders-secret',
        '--data-urlencode', 'scope=https://vault.azure.net/.default',
        `https://login.microsoftonline.com/${TENANT}/oauth2/v2.0/token`,
      ]);
      const accessToken = (JSON.parse(token.stdout) as { access_token: string }).access_token;
      const name = uniqueName('proxy-curl');
      const set = await curl(['-X', 'PUT', '-H', `authorization: Bearer ${accessToken}`, '-H', 'content-type: application/json', '--data', '{"value":"written-by-curl"}', `https://default.vault.azure.net/secrets/${name}?api-version=7.6`]);
      expect(JSON.parse(set.stdout)).toMatchObject({ value: 'written-by-curl', id: expect.stringMatching(`^https://default.vault.azure.net/secrets/${name}/`) });
      const read = await curl(['-H', `authorization: Bearer ${accessToken}`, `https://default.vault.azure.net/secrets/${name}?api-version=7.6`]);
      expect(JSON.parse(read.stdout).value).toBe('written-by-curl');
    });
  });
});

describe.skipIf(skipReason('starts an emulator without its proxy'))('env --proxy without a proxy', () => {
  const emulator = privateEmulator(['--proxy-port', 'off']);

  it('says so and fails, rather than printing a proxy that is not there', async () => {
    const result = await run(process.execPath, [CLI, 'env', '--proxy', '--url', emulator.origin], bareEnvironment());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('has no HTTPS proxy (it was started with --proxy-port off)');
    expect(result.stdout).toBe('');
  });
});
