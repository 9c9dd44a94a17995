// The first start on a new data directory (every CI job's, every new container's) makes its RSA
// token-signing key on the thread pool while it starts and listens, instead of before. What clients rely
// on stays: a token asked for at once is signed by that key (RS256, its kid in the JWKS), the key is
// written, so tokens issued before a restart verify after it, and the CA is kept too.
import { existsSync, readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, startChild, type ChildEmulator } from '../robustness/support.js';
import { startCli, tempDir } from './support.js';

async function tokenOf(emulator: ChildEmulator, identityHeader: string): Promise<string> {
  const res = await call(emulator, '/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net', { headers: { 'x-identity-header': identityHeader } });
  expect(res.status, res.text).toBe(200);
  return (JSON.parse(res.text) as { access_token: string }).access_token;
}

const headerOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { alg: string; kid: string };

describe('the first start on a new data directory', () => {
  it('signs the first token with a key it then keeps: the same kid, the same CA, and the token still verifies after a restart', async () => {
    const dataDir = join(tempDir(), 'new');
    const first = await startChild({ dataDir });
    const identityHeader = readFileSync(join(dataDir, 'identity-header'), 'utf8').trim();
    const token = await tokenOf(first, identityHeader);
    expect(headerOf(token).alg).toBe('RS256');
    const jwks = JSON.parse((await call(first, '/adfs/discovery/keys')).text) as { keys: Array<{ kid: string; alg: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual([headerOf(token).kid]);
    const ca = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
    await first.stop();
    expect(existsSync(join(dataDir, 'token-signing-key.json'))).toBe(true);

    const second = await startChild({ dataDir });
    try {
      expect(readFileSync(join(dataDir, 'ca.pem'), 'utf8')).toBe(ca);
      // The first run's token, presented to the second: a 404 for a missing secret, not a 401.
      const res = await call(second, '/secrets/missing?api-version=7.6', { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, res.text).toBe(404);
      expect(headerOf(await tokenOf(second, identityHeader)).kid).toBe(headerOf(token).kid);
    } finally {
      await second.stop();
    }
  });

  it('writes the key even when stopped before anything asked for it', async () => {
    const dataDir = join(tempDir(), 'new');
    const emulator = await startChild({ dataDir });
    await emulator.stop();
    const key = JSON.parse(readFileSync(join(dataDir, 'token-signing-key.json'), 'utf8')) as { kty: string; d?: string };
    expect(key.kty).toBe('RSA');
    expect(key.d).toBeTypeOf('string');
  });

  it('in memory, signs with a key of its own and writes nothing', async () => {
    const dataDir = join(tempDir(), 'memory');
    const emulator = await startCli(['--in-memory', '--port', '0', '--proxy-port', 'off', '--data-dir', dataDir]);
    try {
      const origin = `https://localhost:${emulator.port}`;
      // Nothing on disk: the CA and the identity header come from the admin API (as kv-emulator env gets them).
      const info = await new Promise<{ caPem: string; identityHeader: string }>((resolve, reject) =>
        httpsGet(`${origin}/_emulator/info`, { rejectUnauthorized: false }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(JSON.parse(text) as { caPem: string; identityHeader: string }));
        }).on('error', reject),
      );
      const token = await tokenOf({ origin, ca: info.caPem } as ChildEmulator, info.identityHeader);
      expect(headerOf(token).alg).toBe('RS256');
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await emulator.stop();
    }
  });
});
