// Clock inputs at and past the limits. The emulator clock stays between 1970-01-01T00:00:00Z and
// 9999-01-01T00:00:00Z, so that every date derived from it (created/updated stamps, purge dates, token
// iat/nbf/exp) is a valid JavaScript Date, JWT NumericDate and SQLite integer, and a date every Azure SDK
// can parse. A change that would leave that range is refused with 400 and changes nothing; before, a
// `{"advanceSeconds":1e15}` answered 500 yet applied, and the clock, the token endpoints and vault
// creation answered 500 until a reset.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from '../support/harness.js';

let emu: TestEmulator;
let identityHeader: string;

beforeAll(async () => {
  emu = await testEmulator();
  identityHeader = emu.material.identityHeader;
});
afterAll(() => emu.app.close());

const MAX = '9999-01-01T00:00:00.000Z';
const MAX_SECONDS = Date.parse(MAX) / 1000;

const admin = (method: 'GET' | 'PUT' | 'POST', url: string, payload?: unknown) =>
  emu.app.inject({ method, url: `/_emulator${url}`, remoteAddress: '127.0.0.1', ...(payload !== undefined && { payload: payload as object }) });

/** What must keep working whatever was refused: the clock, a token, a new vault, a write. */
async function expectWorking(): Promise<void> {
  expect((await admin('GET', '/clock')).statusCode).toBe(200);
  const token = await emu.app.inject({ method: 'GET', url: '/msi/token?api-version=2019-08-01&resource=https://vault.azure.net', headers: { 'x-identity-header': identityHeader } });
  expect(token.statusCode).toBe(200);
  const vault = await admin('POST', '/vaults', { name: `v${Math.random().toString(36).slice(2, 10)}` });
  expect(vault.statusCode).toBe(201);
}

describe('PUT /_emulator/clock limits', () => {
  it('accepts the edges of the range', async () => {
    const top = await admin('PUT', '/clock', { now: MAX, frozen: true });
    expect(top.statusCode).toBe(200);
    expect(top.json()).toMatchObject({ now: MAX, nowEpochSeconds: MAX_SECONDS });
    await expectWorking();
    const bottom = await admin('PUT', '/clock', { now: 0 });
    expect(bottom.statusCode).toBe(200);
    expect(bottom.json().now).toBe('1970-01-01T00:00:00.000Z');
    await expectWorking();
    expect((await admin('PUT', '/clock', { reset: true })).statusCode).toBe(200);
  });

  it('refuses every change that would leave the range with 400, and changes nothing', async () => {
    const before = (await admin('PUT', '/clock', { now: '2032-02-02T00:00:00Z', frozen: true })).json();
    const refused: unknown[] = [
      { advanceSeconds: 1e15 },
      { advanceSeconds: -1e15 },
      { advanceSeconds: 1e308 },
      { now: '+275760-09-13T00:00:00.000Z' },
      { now: '+010000-01-01T00:00:00.000Z' },
      { now: '9999-01-01T00:00:01Z' },
      { now: MAX, advanceSeconds: 1 },
      { now: '1969-12-31T23:59:59Z' },
      { now: -1 },
      { now: 8.64e15 },
      { offsetSeconds: 1e13 },
      { offsetSeconds: -1e13 },
      { reset: true, offsetSeconds: 1e300 },
      // a refused part refuses the whole body: the valid `now` is not applied either
      { now: '2040-01-01T00:00:00Z', advanceSeconds: 1e15, frozen: false },
    ];
    for (const body of refused) {
      const res = await admin('PUT', '/clock', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.json().error.code).toBe('BadParameter');
      expect(res.json().error.message).toMatch(/between 1970-01-01T00:00:00.000Z and 9999-01-01T00:00:00.000Z/);
      expect((await admin('GET', '/clock')).json()).toMatchObject({ now: before.now, frozen: true });
    }
    await expectWorking();
    expect((await admin('PUT', '/clock', { reset: true })).statusCode).toBe(200);
  });

  it('refuses a minted token issued beyond the range (POST /_emulator/tokens issuedAt)', async () => {
    const mint = (issuedAt: number) => admin('POST', '/tokens', { principal: 'kv-emulator-sp', issuedAt });
    expect((await mint(MAX_SECONDS)).statusCode).toBe(200);
    const beyond = await mint(MAX_SECONDS + 1);
    expect(beyond.statusCode).toBe(400);
    expect(beyond.json().error.code).toBe('BadParameter');
  });

  it('keeps created stamps and purge dates of writes at the top of the range valid', async () => {
    await admin('PUT', '/clock', { now: MAX, frozen: true });
    const auth = { authorization: `Bearer ${await emu.token()}`, host: 'edge.vault.azure.net' };
    const set = await emu.app.inject({ method: 'PUT', url: '/secrets/late?api-version=7.6', headers: auth, payload: { value: 'v' } });
    expect(set.statusCode).toBe(200);
    expect(set.json().attributes.created).toBe(MAX_SECONDS);
    const deleted = await emu.app.inject({ method: 'DELETE', url: '/secrets/late?api-version=7.6', headers: auth });
    expect(deleted.statusCode).toBe(200);
    expect(new Date(deleted.json().scheduledPurgeDate * 1000).getUTCFullYear()).toBe(9999);
    expect((await admin('PUT', '/clock', { reset: true })).statusCode).toBe(200);
  });
});
