// What the get path keeps to answer a client that asks the same again and again, on one keep-alive
// connection as an SDK holds it: the token the connection presented last (its signature is not checked
// again, its lifetime is), the vault and origin its Host header names, and a secret's serialized answer
// (http/presenters.ts secretBundleBody). Each must give way as soon as what it was made from changes:
// another token, another Host, the secret changed, the vault's settings changed, the clock past expiry.
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerToken, call, startChild, type ChildEmulator } from './robustness/support.js';

describe('what one connection keeps between its requests', () => {
  let emulator: ChildEmulator;
  let token: string;
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (path: string, headers: Record<string, string> = {}) =>
    call(emulator, path, { agent, headers: { authorization: `Bearer ${token}`, ...headers } });
  const admin = (path: string, method: string, body: unknown) =>
    call(emulator, `/_emulator${path}`, { method, body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  beforeAll(async () => {
    emulator = await startChild();
    token = await bearerToken(emulator);
    const set = await call(emulator, '/secrets/kept?api-version=7.6', { method: 'PUT', body: JSON.stringify({ value: 'one' }), headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    expect(set.status).toBe(200);
  });
  afterAll(async () => {
    agent.destroy();
    await emulator?.stop();
  });

  it('another token on the same connection is verified, not taken for the one before', async () => {
    expect((await get('/secrets/kept?api-version=7.6')).status).toBe(200);
    const [header, payload] = token.split('.');
    const tampered = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    const refused = await get('/secrets/kept?api-version=7.6', { authorization: `Bearer ${tampered}` });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text).error.message).toMatch(/^AKV10046/);
    expect((await get('/secrets/kept?api-version=7.6', { authorization: 'Bearer ' })).status).toBe(401);
    expect((await get('/secrets/kept?api-version=7.6')).status).toBe(200);
  });

  it("another Host on the same connection names another vault and origin in the answer's ids", async () => {
    const first = JSON.parse((await get('/secrets/kept?api-version=7.6', { host: `localhost:${emulator.port}` })).text);
    expect(first.id).toBe(`https://localhost:${emulator.port}/secrets/kept/${first.id.split('/').pop()}`);
    const other = await get('/secrets/kept?api-version=7.6', { host: `elsewhere.vault.localhost:${emulator.port}` });
    expect(other.status).toBe(404);
    const again = JSON.parse((await get('/secrets/kept?api-version=7.6', { host: `127.0.0.1:${emulator.port}` })).text);
    expect(again.id).toBe(`https://127.0.0.1:${emulator.port}/secrets/kept/${first.id.split('/').pop()}`);
  });

  it('a secret read again shows its changes, and its vault\'s', async () => {
    const before = JSON.parse((await get('/secrets/kept?api-version=7.6')).text);
    expect(before.attributes.recoverableDays).toBe(90);
    const patched = await call(emulator, `/secrets/kept/${before.id.split('/').pop()}?api-version=7.6`, {
      agent,
      method: 'PATCH',
      body: JSON.stringify({ contentType: 'text/plain' }),
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    });
    expect(patched.status).toBe(200);
    expect(JSON.parse((await get('/secrets/kept?api-version=7.6')).text).contentType).toBe('text/plain');
    expect((await admin('/vaults/default', 'PATCH', { softDeleteRetentionInDays: 7 })).status).toBe(200);
    const after = JSON.parse((await get('/secrets/kept?api-version=7.6')).text);
    expect(after.attributes.recoverableDays).toBe(7);
    expect(after.attributes.recoveryLevel).toBe('CustomizedRecoverable+Purgeable');
  });

  it('the token kept for the connection still expires', async () => {
    // Valid for a second more (300 s of clock skew are allowed past exp, as Key Vault allows), then expired
    // on the wall clock; the emulator clock is moved past it as well (a token expires on both).
    const nowSeconds = Math.floor(Date.now() / 1000);
    const minted = await admin('/tokens', 'POST', { principal: 'kv-emulator-app', issuedAt: nowSeconds - 3600 - 299, lifetimeSeconds: 3600 });
    expect(minted.status).toBe(200);
    const short = JSON.parse(minted.text).access_token as string;
    expect((await get('/secrets/kept?api-version=7.6', { authorization: `Bearer ${short}` })).status).toBe(200);
    while (Math.floor(Date.now() / 1000) <= nowSeconds + 1) await new Promise((r) => setTimeout(r, 100));
    expect((await admin('/clock', 'PUT', { advanceSeconds: 86_400 })).status).toBe(200);
    const refused = await get('/secrets/kept?api-version=7.6', { authorization: `Bearer ${short}` });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.text).error.message).toContain('TokenExpired');
    expect((await admin('/clock', 'PUT', { reset: true })).status).toBe(200);
  });
});
