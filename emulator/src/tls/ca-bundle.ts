// The CA bundle `kv-emulator env --proxy` points REQUESTS_CA_BUNDLE, SSL_CERT_FILE and CURL_CA_BUNDLE at:
// the system's CAs and the emulator's, in one file, for the clients that take one file of trust
// (Python's requests, OpenSSL, curl, Go): names the proxy answers for verify with the emulator's CA,
// tunnelled ones with the system's.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { fingerprint } from '../data-dir.js';

export const CA_BUNDLE_FILE = 'ca-bundle.pem';

/** Where a system keeps its CA certificates, by distribution. */
export const SYSTEM_CA_FILES = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu
  '/etc/pki/tls/certs/ca-bundle.crt', // Fedora, RHEL
  '/etc/ssl/cert.pem', // Alpine, macOS
  '/etc/ssl/ca-bundle.pem', // openSUSE
];

export interface CaBundleOptions {
  /** The emulator's CA certificate (PEM). */
  caPem: string;
  /** Files to take the system's CAs from, in order; the first that holds certificates wins. */
  candidates: Array<string | undefined>;
  /** The data directory, when it is on this machine: the bundle goes there. */
  dataDir?: string;
  /** Where the bundle goes otherwise (or when the data directory cannot be written). */
  tmpDir: string;
}

/**
 * The bundle's text and where its system part came from: the first candidate holding certificates (a
 * bundle of our own is never taken in again), else Node's copy of the Mozilla roots.
 */
export function caBundleText(options: Pick<CaBundleOptions, 'caPem' | 'candidates'>): { text: string; source: string } {
  let system: string | undefined;
  let source = 'node';
  for (const file of options.candidates) {
    if (!file || file.endsWith(CA_BUNDLE_FILE)) continue;
    try {
      const text = readFileSync(file, 'utf8');
      if (!text.includes('BEGIN CERTIFICATE')) continue;
      system = text;
      source = file;
      break;
    } catch {
      // not on this system
    }
  }
  system ??= rootCertificates.join('\n');
  const text = `${system.trimEnd()}\n\n# Azure Key Vault emulator local CA (sha256 ${fingerprint(options.caPem)})\n${options.caPem.trim()}\n`;
  return { text, source };
}

/** Writes the bundle (whole, and only when its content changed); returns its path. */
export function writeCaBundle(options: CaBundleOptions): string {
  const { text } = caBundleText(options);
  const tmpFile = join(options.tmpDir, `kv-emulator-${fingerprint(options.caPem).replaceAll(':', '')}-${CA_BUNDLE_FILE}`);
  const write = (file: string) => {
    if (existsSync(file) && readFileSync(file, 'utf8') === text) return file;
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(partial, text, { mode: 0o644 });
    renameSync(partial, file);
    return file;
  };
  if (!options.dataDir || !existsSync(options.dataDir)) return write(tmpFile);
  try {
    return write(join(options.dataDir, CA_BUNDLE_FILE));
  } catch {
    // A data directory this user cannot write: the temporary directory instead.
    return write(tmpFile);
  }
}
