// TLS material: a local CA and a server certificate it signs, so clients trust the emulator with
// NODE_EXTRA_CA_CERTS (or their OS store) instead of disabling verification. The server certificate
// names every host the emulator answers to (localhost, loopback addresses, *.localhost,
// *.vault.azure.net, *.vault.localhost) plus any extra names configured (container aliases).
// ECDSA P-256 keeps generation fast; @peculiar/x509 is loaded only when something must be generated.
import { webcrypto, X509Certificate } from 'node:crypto';

export interface TlsMaterial {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export const DEFAULT_SERVER_NAMES = ['localhost', '*.localhost', '*.vault.azure.net', '*.vault.localhost', '127.0.0.1', '::1'];

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const YEAR_MS = 365 * 24 * 3600 * 1000;

async function x509() {
  await import('reflect-metadata');
  const lib = await import('@peculiar/x509');
  lib.cryptoProvider.set(webcrypto as unknown as Parameters<typeof lib.cryptoProvider.set>[0]);
  return lib;
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

function serial(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1');
}

export async function createCa(now = Date.now()): Promise<{ cert: string; key: string }> {
  const lib = await x509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await lib.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=Key Vault Emulator Local CA, O=kv-emulator',
    notBefore: new Date(now - 24 * 3600 * 1000),
    notAfter: new Date(now + 10 * YEAR_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new lib.BasicConstraintsExtension(true, 0, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.keyCertSign | lib.KeyUsageFlags.cRLSign, true),
      await lib.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem') + '\n', key: toPem('PRIVATE KEY', key) };
}

export async function createServerCertificate(
  ca: { cert: string; key: string },
  names: string[] = DEFAULT_SERVER_NAMES,
  now = Date.now(),
): Promise<{ cert: string; key: string }> {
  const lib = await x509();
  const caCert = new lib.X509Certificate(ca.cert);
  const caKey = await webcrypto.subtle.importKey('pkcs8', pemBody(ca.key), ALG, false, ['sign']);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ip = /^[\d.]+$|:/;
  const cert = await lib.X509CertificateGenerator.create({
    serialNumber: serial(),
    // A certificate for one name (the proxy's, proxy/certificates.ts) carries it as its subject too.
    subject: `CN=${names.length === 1 ? names[0] : 'localhost'}, O=kv-emulator`,
    issuer: caCert.subject,
    notBefore: new Date(now - 24 * 3600 * 1000),
    // Within the 398-day limit clients enforce for server certificates.
    notAfter: new Date(now + 397 * 24 * 3600 * 1000),
    signingKey: caKey,
    publicKey: keys.publicKey,
    signingAlgorithm: ALG,
    extensions: [
      new lib.BasicConstraintsExtension(false, undefined, true),
      new lib.KeyUsagesExtension(lib.KeyUsageFlags.digitalSignature | lib.KeyUsageFlags.keyEncipherment, true),
      new lib.ExtendedKeyUsageExtension([lib.ExtendedKeyUsage.serverAuth]),
      new lib.SubjectAlternativeNameExtension(names.map((n) => ({ type: ip.test(n) ? ('ip' as const) : ('dns' as const), value: n }))),
      await lib.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const key = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem') + '\n', key: toPem('PRIVATE KEY', key) };
}

/** Names and expiry of a PEM certificate, to decide whether it must be re-issued. */
export async function describeCertificate(pem: string): Promise<{ names: string[]; notAfter: Date }> {
  const cert = new X509Certificate(pem);
  const names = (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => (entry.startsWith('IP Address:') ? canonicalName(entry.slice('IP Address:'.length)) : entry.replace(/^DNS:/, '')))
    .filter(Boolean);
  return { names, notAfter: new Date(cert.validTo) };
}

/**
 * One spelling per name, so a certificate read back compares equal to the names it was made for:
 * Node prints IPv6 SANs uncompressed (0:0:0:0:0:0:0:1 for ::1); IPv6 literals are compressed here.
 */
export function canonicalName(name: string): string {
  if (!name.includes(':')) return name;
  try {
    return new URL(`http://[${name}]/`).hostname.slice(1, -1);
  } catch {
    return name;
  }
}

function pemBody(pem: string): ArrayBuffer {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}
