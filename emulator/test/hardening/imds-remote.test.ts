// IMDS over a real second address: the emulator as a process (the built CLI) listening on all
// interfaces, called through the machine's own non-loopback address, as a stranger on the network would.
// It is refused with 403, the log says once how to allow that caller, and no token appears anywhere;
// with the caller's range allowed, the same request gets a token.
import { rmSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { afterAll, describe, expect, it } from 'vitest';
import { call, newDataDir, startChild, type ChildEmulator } from '../robustness/support.js';
import { outputOnce } from './support.js';

const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

function noExternalAddress(): boolean {
  if (external) return false;
  console.log('[hardening] skipped: this machine has no non-loopback IPv4 address to call IMDS from (imds-sources.test.ts covers the rule with inject)');
  return true;
}

const IMDS = '/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net';
const children: ChildEmulator[] = [];
const dataDir = newDataDir('kv-imds-');
afterAll(async () => {
  for (const child of children) await child.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** GET `path` from the external address; the certificate is checked as issued for localhost. */
const fromOutside = (emulator: ChildEmulator, path: string) => call({ origin: `https://${external}:${emulator.port}`, ca: emulator.ca }, path, { headers: { metadata: 'true' } });

describe.skipIf(noExternalAddress())('IMDS from another address, through the CLI', () => {
  it('is refused with 403 and one log line saying how to allow the caller; loopback still gets its token', async () => {
    const emulator = await startChild({ dataDir, args: ['--host', '0.0.0.0', '--log-level', 'warn'] });
    children.push(emulator);
    expect(emulator.output()).toMatch(/IMDS\s+https:\/\/localhost:\d+\/metadata\/identity\/oauth2\/token \(loopback callers only\)/);
    for (let i = 0; i < 3; i++) {
      const refused = await fromOutside(emulator, IMDS);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.text).error.code).toBe('Forbidden');
      expect(refused.text).not.toMatch(/access_token/);
    }
    const local = await call(emulator, IMDS, { headers: { metadata: 'true' } });
    expect(local.status).toBe(200);
    const token = JSON.parse(local.text).access_token as string;
    const lines = (await outputOnce(emulator, /IMDS token request from/)).split('\n').filter((line) => line.includes('IMDS token request from'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`from ${external} refused`);
    expect(lines[0]).toContain(`--imds-allowed-sources ${external}/32`);
    expect(emulator.output()).not.toContain(token);
  });

  it('answers a caller whose range is allowed', async () => {
    const emulator = await startChild({ dataDir, args: ['--host', '0.0.0.0', '--imds-allowed-sources', `192.0.2.0/24,${external}/32`] });
    children.push(emulator);
    expect(emulator.output()).toContain(`(loopback and 192.0.2.0/24, ${external}/32)`);
    const allowed = await fromOutside(emulator, IMDS);
    expect(allowed.status).toBe(200);
    expect(JSON.parse(allowed.text).token_type).toBe('Bearer');
  });
});
