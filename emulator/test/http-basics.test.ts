import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
let auth: Record<string, string>;
beforeAll(async () => {
  emu = await testEmulator();
  auth = { authorization: `Bearer ${await emu.token()}` };
});
afterAll(() => emu.app.close());

describe('request pipeline', () => {
  it('challenges a request without a token with the real 401', async () => {
    const res = await emu.app.inject({ method: 'PUT', url: '/secrets/a?api-version=7.6', headers: { 'content-type': 'application/json', 'content-length': '0' } });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.' } });
    expect(res.headers['www-authenticate']).toBe(`Bearer authorization="http://localhost:80/${emu.config.tenantId}", resource="https://vault.azure.net"`);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('sets and gets a secret', async () => {
    const put = await emu.app.inject({ method: 'PUT', url: '/secrets/alpha?api-version=7.6', headers: auth, payload: { value: 'v' } });
    expect(put.statusCode).toBe(200);
    const get = await emu.app.inject({ method: 'GET', url: '/secrets/alpha/?api-version=7.6', headers: auth });
    expect(get.json().value).toBe('v');
  });
});
