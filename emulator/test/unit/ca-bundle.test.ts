// The CA bundle of `kv-emulator env --proxy`: the system's CAs (the first file named that holds any),
// or Node's Mozilla roots when the system has none, then the emulator's CA; written to the data
// directory, else the temporary directory.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { CA_BUNDLE_FILE, caBundleText, writeCaBundle } from '../../src/tls/ca-bundle.js';

const certificates = (text: string) => text.split('-----BEGIN CERTIFICATE-----').length - 1;
const [someRoot, otherRoot] = rootCertificates as [string, string];
const emulatorCa = otherRoot;

describe('the CA bundle', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kv-bundle-test-'));

  it('takes the first file that holds certificates, then the emulator CA', () => {
    const empty = join(dir, 'empty.pem');
    writeFileSync(empty, 'no certificates here\n');
    const system = join(dir, 'system.pem');
    writeFileSync(system, `${someRoot}\n`);
    const { text, source } = caBundleText({ caPem: emulatorCa, candidates: [undefined, join(dir, 'missing.pem'), empty, system] });
    expect(source).toBe(system);
    expect(certificates(text)).toBe(2);
    expect(text.indexOf(someRoot.trim())).toBeLessThan(text.indexOf(emulatorCa.trim()));
  });

  it("falls back to Node's roots when the system has no CA file, and never nests a bundle of its own", () => {
    const own = join(dir, CA_BUNDLE_FILE);
    writeFileSync(own, `${someRoot}\n`);
    const { text, source } = caBundleText({ caPem: emulatorCa, candidates: [own, join(dir, 'missing.pem')] });
    expect(source).toBe('node');
    expect(certificates(text)).toBe(rootCertificates.length + 1);
  });

  it('is written to the data directory, or the temporary directory without one', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kv-bundle-data-'));
    const system = join(dir, 'system.pem');
    const inData = writeCaBundle({ caPem: emulatorCa, candidates: [system], dataDir, tmpDir: dir });
    expect(inData).toBe(join(dataDir, CA_BUNDLE_FILE));
    expect(readFileSync(inData, 'utf8')).toContain(emulatorCa.trim());
    const inTmp = writeCaBundle({ caPem: emulatorCa, candidates: [system], dataDir: join(dir, 'not-here'), tmpDir: dir });
    expect(inTmp.startsWith(dir)).toBe(true);
    expect(inTmp.endsWith(CA_BUNDLE_FILE)).toBe(true);
  });
});
