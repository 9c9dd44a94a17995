// The admin API (which hands out tokens and changes who may do what) answers loopback callers only,
// unless the caller presents the admin key. Checked over a real second address: an emulator of this file
// listening on all interfaces, called through the machine's own non-loopback address. Emulator only.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { privateEmulator, skipReason } from '../support/target.js';

const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

function noExternalAddress(): boolean {
  if (external) return false;
  console.log('[contracts] skipped: this machine has no non-loopback IPv4 address to call the admin API from (the guard is also tested with inject in emulator/test/http-identity.test.ts)');
  return true;
}

/** GET over HTTPS to `address`, verifying the emulator's certificate as issued for "localhost". */
function get(address: string, port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: address, port, path, method: 'GET', servername: 'localhost', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

const ADMIN_KEY = `guard-${Math.random().toString(36).slice(2)}`;
const configFile = join(mkdtempSync(join(tmpdir(), 'kv-guard-')), 'emulator.json');
writeFileSync(configFile, JSON.stringify({ adminKey: ADMIN_KEY }));

describe.skipIf(skipReason('the admin API guard is an emulator control') || noExternalAddress())('admin API from another address', () => {
  const emulator = privateEmulator(['--host', '0.0.0.0', '--config', configFile]);

  it('refuses a non-loopback caller without the admin key, and answers it with the key', async () => {
    const port = Number(new URL(emulator.origin).port);
    for (const path of ['/_emulator/identities', '/_emulator/credentials', '/_emulator/info']) {
      const refused = await get(external!, port, path);
      expect(refused.status, path).toBe(401);
      expect(refused.body.error.code).toBe('Unauthorized');
      expect(refused.body.error.message).toMatch(/^The admin API answers loopback callers only/);
      expect(JSON.stringify(refused.body)).not.toMatch(/clientSecret|AZURE_CLIENT_SECRET/);
    }
    const key = ADMIN_KEY;
    const keyed = await get(external!, port, '/_emulator/identities', { 'x-kv-emulator-admin-key': key });
    expect(keyed.status).toBe(200);
    expect(keyed.body.value.length).toBeGreaterThan(0);
    const wrongKey = await get(external!, port, '/_emulator/identities', { 'x-kv-emulator-admin-key': `${key}x` });
    expect(wrongKey.status).toBe(401);
    const loopback = await get('127.0.0.1', port, '/_emulator/identities');
    expect(loopback.status).toBe(200);
  });
});
