// Who reaches the token endpoints. IMDS asks for no secret (only `Metadata: true`), and its system-
// assigned identity is Key Vault Administrator by default: with the emulator on 0.0.0.0, anyone who could
// reach the port got a token that reads every secret. IMDS now answers loopback callers and the ranges
// the configuration names, and refuses others with 403. The other token endpoints each need a secret
// the caller must hold: they are checked here from a non-loopback address too.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, parseConfigObject, parseSourceList } from '../../src/config.js';
import { SourcePolicy } from '../../src/identity/source-ranges.js';
import { testEmulator, type TestEmulator } from '../support/harness.js';

const IMDS = '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net';
const STRANGER = '10.1.2.3';

let closed: TestEmulator;
let widened: TestEmulator;

beforeAll(async () => {
  closed = await testEmulator();
  widened = await testEmulator({ imdsAllowedSources: ['10.0.0.0/8', 'fd00::/8', '192.0.2.7'] });
});
afterAll(async () => {
  await closed.app.close();
  await widened.app.close();
});

const get = (emu: TestEmulator, url: string, remoteAddress: string, headers: Record<string, string> = {}) =>
  emu.app.inject({ method: 'GET', url, remoteAddress, headers: { metadata: 'true', ...headers } });

describe('IMDS', () => {
  it('refuses a caller that is not on loopback with 403 in the envelope, whatever the path spelling', async () => {
    for (const path of [IMDS, IMDS.replace('/token?', '/token/?'), IMDS.replace('/metadata/identity', '/METADATA/Identity'), `/${IMDS}`]) {
      const res = await get(closed, path, STRANGER);
      expect(res.statusCode, path).toBe(403);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const body = res.json();
      expect(Object.keys(body)).toEqual(['error']);
      expect(body.error.code).toBe('Forbidden');
      expect(body.error.message).toContain(STRANGER);
      expect(res.body).not.toMatch(/access_token|eyJ/);
    }
  });

  it('answers loopback callers, IPv4, IPv6 and IPv4-mapped', async () => {
    for (const address of ['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1']) {
      const res = await get(closed, IMDS, address);
      expect(res.statusCode, address).toBe(200);
      expect(decodeJwt(res.json().access_token).aud).toBe('https://vault.azure.net');
    }
  });

  it('answers the configured ranges and refuses the rest', async () => {
    for (const address of ['10.1.2.3', '::ffff:10.200.0.1', 'fd12:3456::1', '192.0.2.7', '127.0.0.1']) {
      expect((await get(widened, IMDS, address)).statusCode, address).toBe(200);
    }
    for (const address of ['11.0.0.1', '192.0.2.8', 'fe80::1', '::ffff:172.17.0.1']) {
      expect((await get(widened, IMDS, address)).statusCode, address).toBe(403);
    }
  });
});

describe('the other token endpoints, called from a non-loopback address', () => {
  it('App Service: only with the identity header (the secret App Service hands its apps)', async () => {
    const url = '/msi/token?api-version=2019-08-01&resource=https://vault.azure.net';
    expect((await get(closed, url, STRANGER)).statusCode).toBe(401);
    expect((await get(closed, url, STRANGER, { 'x-identity-header': 'guess' })).statusCode).toBe(401);
    expect((await get(closed, url, STRANGER, { 'x-identity-header': closed.material.identityHeader })).statusCode).toBe(200);
  });

  it('Entra token grants: only with the client secret or a valid assertion', async () => {
    const sp = closed.directory.find('kv-emulator-sp') as { clientId: string };
    const form = (fields: Record<string, string>) => new URLSearchParams({ grant_type: 'client_credentials', scope: 'https://vault.azure.net/.default', client_id: sp.clientId, ...fields }).toString();
    for (const url of ['/adfs/oauth2/token', `/${closed.config.tenantId}/oauth2/v2.0/token`]) {
      const post = (fields: Record<string, string>) =>
        closed.app.inject({ method: 'POST', url, remoteAddress: STRANGER, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(fields) });
      expect((await post({})).statusCode, url).toBe(401);
      expect((await post({ client_secret: 'guess' })).statusCode, url).toBe(401);
      expect((await post({ client_secret: closed.material.clientSecret })).statusCode, url).toBe(200);
    }
  });

  it('the admin API that mints tokens and prints credentials: only with the admin key', async () => {
    for (const [method, url] of [['POST', '/_emulator/tokens'], ['POST', '/_emulator/federatedTokens'], ['GET', '/_emulator/credentials'], ['GET', '/_emulator/info']] as const) {
      const res = await closed.app.inject({ method, url, remoteAddress: STRANGER, ...(method === 'POST' && { payload: { principal: 'kv-emulator-sp' } }) });
      expect(res.statusCode, url).toBe(401);
      expect(res.body).not.toMatch(/access_token|eyJ|clientSecret|AZURE_CLIENT_SECRET/);
    }
  });
});

describe('configuring the allowed sources', () => {
  it('takes addresses and CIDR ranges from the config file, the environment and the flag, and names a bad one', () => {
    expect(parseConfigObject({ imds: { allowedSources: ['172.16.0.0/12', '::1', 'fd00::/8'] } }).imdsAllowedSources).toEqual(['172.16.0.0/12', '::1', 'fd00::/8']);
    expect(configFromEnv({ KV_EMULATOR_IMDS_ALLOWED_SOURCES: '10.0.0.0/8, 192.168.0.0/16' }).imdsAllowedSources).toEqual(['10.0.0.0/8', '192.168.0.0/16']);
    expect(parseSourceList('172.16.0.0/12,10.0.0.0/8', '--imds-allowed-sources')).toEqual(['172.16.0.0/12', '10.0.0.0/8']);
    expect(() => parseConfigObject({ imds: { allowedSources: ['172.16.0.0/33'] } })).toThrow("'imds.allowedSources[0]' '172.16.0.0/33' is not an address or a CIDR range");
    expect(() => parseConfigObject({ imds: { allowedSources: ['everyone'] } })).toThrow(ConfigError);
    expect(() => parseConfigObject({ imds: { allowedSources: '10.0.0.0/8' } })).toThrow("'imds.allowedSources' must be an array");
    expect(() => parseConfigObject({ imds: { allowed: [] } })).toThrow("'imds.allowed' is not a known IMDS setting.");
    expect(() => configFromEnv({ KV_EMULATOR_IMDS_ALLOWED_SOURCES: '10.0.0.0/8,nope' })).toThrow("KV_EMULATOR_IMDS_ALLOWED_SOURCES: 'nope' is not an address or a CIDR range");
  });

  it('always allows loopback, and nothing else unless named', () => {
    const policy = new SourcePolicy([]);
    expect(policy.allows('127.255.0.1')).toBe(true);
    expect(policy.allows('::1')).toBe(true);
    expect(policy.allows('0.0.0.0')).toBe(false);
    expect(policy.allows('')).toBe(false);
    expect(policy.allows('not-an-address')).toBe(false);
  });
});
