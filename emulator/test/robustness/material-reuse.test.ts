// A restart must reuse the data directory's server certificate: re-issuing it costs a key generation
// and a signature on every start (cold start budget) and changes what clients pinned.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FILES, loadMaterial } from '../../src/data-dir.js';
import { canonicalName } from '../../src/tls/certificates.js';
import { newDataDir, startChild } from './support.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('data directory material on restart', () => {
  it('keeps the server certificate, IPv6 names included', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kv-material-'));
    dirs.push(dataDir);
    const extraServerNames = ['fe80:0:0:0:0:0:0:7', 'emulator.internal'];
    const first = await loadMaterial({ dataDir, persist: true, extraServerNames });
    const second = await loadMaterial({ dataDir, persist: true, extraServerNames });
    expect(second.tls.cert).toBe(first.tls.cert);
    expect(readFileSync(join(dataDir, FILES.serverCert), 'utf8')).toBe(first.tls.cert);
  });

  it('keeps it across starts of the built command too', async () => {
    // The command runs a bundle of the sources (scripts/bundle.mjs) from a code cache (src/launcher.ts):
    // the same checks must hold there.
    const dataDir = newDataDir('kv-material-cli-');
    dirs.push(dataDir);
    const first = await startChild({ dataDir });
    const issued = readFileSync(join(dataDir, FILES.serverCert), 'utf8');
    await first.stop();
    const second = await startChild({ dataDir });
    await second.stop();
    expect(readFileSync(join(dataDir, FILES.serverCert), 'utf8')).toBe(issued);
  });

  it('still re-issues the certificate when a new name is asked for', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kv-material-'));
    dirs.push(dataDir);
    const first = await loadMaterial({ dataDir, persist: true });
    const second = await loadMaterial({ dataDir, persist: true, extraServerNames: ['::2'] });
    expect(second.tls.cert).not.toBe(first.tls.cert);
  });

  it('spells IPv6 names one way', () => {
    expect(canonicalName('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(canonicalName('FE80:0:0::7')).toBe('fe80::7');
    expect(canonicalName('127.0.0.1')).toBe('127.0.0.1');
    expect(canonicalName('localhost')).toBe('localhost');
  });
});
