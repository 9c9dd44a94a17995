// Fault injection: rules match by method, operation, vault and secret, count down, and answer in the
// Key Vault envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjector } from '../src/faults/injector.js';
import { testEmulator, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
let headers: Record<string, string>;
const V = 'api-version=7.6';
beforeAll(async () => {
  emu = await testEmulator();
  headers = { authorization: `Bearer ${await emu.token()}`, host: 'faulty.vault.azure.net' };
});
afterAll(() => emu.app.close());

const arm = (rule: unknown) => emu.app.inject({ method: 'POST', url: '/_emulator/faults', payload: rule as object });

describe('fault rules', () => {
  it('throttles the next matching request with the real 429, then lets requests through', async () => {
    await emu.app.inject({ method: 'PUT', url: `/secrets/hot?${V}`, headers, payload: { value: 'v' } });
    const armed = await arm({ match: { operation: 'get', secret: 'HOT' }, fault: 'throttled', times: 2 });
    expect(armed.statusCode).toBe(201);
    const other = await emu.app.inject({ method: 'GET', url: `/secrets?${V}`, headers });
    expect(other.statusCode).toBe(200);
    for (let i = 0; i < 2; i++) {
      const res = await emu.app.inject({ method: 'GET', url: `/secrets/hot/?${V}`, headers });
      expect(res.statusCode).toBe(429);
      expect(res.json()).toEqual({
        error: { code: 'Throttled', message: 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached' },
      });
      expect(res.headers['retry-after']).toBeUndefined();
    }
    expect((await emu.app.inject({ method: 'GET', url: `/secrets/hot/?${V}`, headers })).statusCode).toBe(200);
    expect((await emu.app.inject({ method: 'GET', url: '/_emulator/faults' })).json().value).toEqual([]);
  });

  it('answers 503 with Retry-After when asked, per vault, until removed', async () => {
    const rule = (await arm({ match: { vault: 'faulty', method: 'put' }, fault: 'serviceUnavailable', retryAfterSeconds: 2 })).json();
    for (let i = 0; i < 3; i++) {
      const res = await emu.app.inject({ method: 'PUT', url: `/secrets/x?${V}`, headers, payload: { value: 'v' } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('2');
      expect(res.json().error.code).toBe('ServiceUnavailable');
    }
    const elsewhere = await emu.app.inject({ method: 'PUT', url: `/secrets/x?${V}`, headers: { ...headers, host: 'calm.vault.azure.net' }, payload: { value: 'v' } });
    expect(elsewhere.statusCode).toBe(200);
    expect((await emu.app.inject({ method: 'DELETE', url: `/_emulator/faults/${rule.id}` })).statusCode).toBe(204);
    expect((await emu.app.inject({ method: 'PUT', url: `/secrets/x?${V}`, headers, payload: { value: 'v' } })).statusCode).toBe(200);
  });

  it('authentication comes first: an unauthenticated request gets 401, not the fault', async () => {
    await arm({ fault: 'internalError', times: 1 });
    const res = await emu.app.inject({ method: 'GET', url: `/secrets?${V}`, headers: { host: 'faulty.vault.azure.net' } });
    expect(res.statusCode).toBe(401);
    const hit = await emu.app.inject({ method: 'GET', url: `/secrets?${V}`, headers });
    expect(hit.statusCode).toBe(500);
    expect(hit.json().error.code).toBe('InternalServerError');
  });

  it('refuses malformed rules', async () => {
    for (const bad of [{ fault: 'boom' }, { match: { operation: 'dance' }, fault: 'throttled' }, { match: {} }, { fault: 'throttled', times: 0 }, [1]]) {
      const res = await arm(bad);
      expect(res.statusCode, JSON.stringify(bad)).toBe(400);
      expect(res.json().error.code).toBe('BadParameter');
    }
  });
});

describe('FaultInjector', () => {
  it('delays without failing when only delayMs is set', () => {
    const faults = new FaultInjector();
    faults.add({ delayMs: 250 });
    expect(faults.check({ method: 'GET', vault: 'v' })).toEqual({ delayMs: 250 });
  });
});
