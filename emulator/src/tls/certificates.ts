// TLS material: a local CA and a server certificate it signs, so clients trust the emulator with
// NODE_EXTRA_CA_CERTS (or their OS store) instead of disabling verification. The server certificate
// names every host the emulator answers to (localhost, loopback addresses, *.localhost,
// *.vault.azure.net, *.vault.localhost) plus any extra names configured (container aliases).
// ECDSA P-256 keys, generated and signed with node:crypto; the certificates are written in DER here
// (tls/der.ts, RFC 5280 profile: version 3, the key identifiers, critical basic constraints and key
// usage, as strict verifiers such as OpenSSL's -x509_strict and Python 3.13's default context want).
// A certificate library took some 40% of a first start's CPU time to load and run, for two certificates.
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitString,
  boolean,
  bytesOf,
  children,
  context,
  contentOf,
  integer,
  namedBits,
  nullValue,
  octetString,
  oid,
  read,
  sequence,
  set,
  time,
  utf8String,
} from './der.js';

export interface TlsMaterial {
  caCert: string;
  caKey: string;
  cert: string;
  key: string;
}

export const DEFAULT_SERVER_NAMES = ['localhost', '*.localhost', '*.vault.azure.net', '*.vault.localhost', '127.0.0.1', '::1'];

const DAY_MS = 24 * 3600 * 1000;
const YEAR_MS = 365 * DAY_MS;

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extendedKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** Key usage bits (RFC 5280 4.2.1.3). */
const USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/** A positive 16-byte serial number, its first byte nonzero. */
function serial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x10;
  return integer(bytes);
}

function name(commonName: string): Buffer {
  const attribute = (type: string, value: string) => set(sequence(oid(type), utf8String(value)));
  return sequence(attribute(OID.commonName, commonName), attribute(OID.organization, 'kv-emulator'));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const [, key] = children(spki, read(spki));
  return createHash('sha1').update(contentOf(spki, key!).subarray(1)).digest();
}

/** The signature algorithm of a signing key (the CA's): ECDSA with SHA-256, or RSA with SHA-256. */
function signatureAlgorithm(key: KeyObject): Buffer {
  if (key.asymmetricKeyType === 'ec') return sequence(oid(OID.ecdsaWithSha256));
  if (key.asymmetricKeyType === 'rsa') return sequence(oid(OID.sha256WithRsa), nullValue());
  throw new Error(`cannot sign certificates with a ${String(key.asymmetricKeyType)} key`);
}

function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return Buffer.from(all.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

interface CertificateFields {
  subject: Buffer;
  issuer: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer[];
  signingKey: KeyObject;
}

function certificate(fields: CertificateFields): string {
  const algorithm = signatureAlgorithm(fields.signingKey);
  const tbs = sequence(
    context(0, integer(2)),
    serial(),
    algorithm,
    fields.issuer,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subject,
    fields.spki,
    context(3, sequence(...fields.extensions)),
  );
  const signature = sign('sha256', tbs, fields.signingKey);
  return toPem('CERTIFICATE', sequence(tbs, algorithm, bitString(signature)));
}

function newKeyPair(): { privateKey: KeyObject; spki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

const privatePem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;

export async function createCa(now = Date.now()): Promise<{ cert: string; key: string }> {
  const { privateKey, spki } = newKeyPair();
  const subject = name('Key Vault Emulator Local CA');
  const cert = certificate({
    subject,
    issuer: subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 10 * YEAR_MS),
    spki,
    signingKey: privateKey,
    extensions: [
      extension(OID.basicConstraints, true, sequence(boolean(true), integer(0))),
      extension(OID.keyUsage, true, namedBits([USAGE.keyCertSign, USAGE.cRLSign])),
      extension(OID.subjectKeyIdentifier, false, octetString(keyIdentifier(spki))),
    ],
  });
  return { cert, key: privatePem(privateKey) };
}

/** The CA certificate's subject (as it is encoded, for the issuer field) and key identifier. */
function issuerOf(caPem: string): { subject: Buffer; keyId: Buffer } {
  const der = pemToDer(caPem);
  const [tbs] = children(der, read(der));
  const parts = children(der, tbs!);
  // version [0] is present in a v3 certificate; then serial, signature, issuer, validity, subject, spki.
  const base = parts[0]!.tag === 0xa0 ? 1 : 0;
  const subject = bytesOf(der, parts[base + 4]!);
  const spki = bytesOf(der, parts[base + 5]!);
  let keyId: Buffer | undefined;
  const extensions = parts.find((p) => p.tag === 0xa3);
  if (extensions) {
    for (const ext of children(der, children(der, extensions)[0]!)) {
      const [id, ...rest] = children(der, ext);
      if (!bytesOf(der, id!).equals(oid(OID.subjectKeyIdentifier))) continue;
      const value = contentOf(der, rest[rest.length - 1]!);
      keyId = contentOf(value, read(value));
    }
  }
  return { subject, keyId: keyId ?? keyIdentifier(spki) };
}

export async function createServerCertificate(
  ca: { cert: string; key: string },
  names: string[] = DEFAULT_SERVER_NAMES,
  now = Date.now(),
): Promise<{ cert: string; key: string }> {
  const issuer = issuerOf(ca.cert);
  const { privateKey, spki } = newKeyPair();
  const altNames = names.map((n) => (isIPv4(n) || isIPv6(n) ? context(7, ipBytes(n), false) : context(2, Buffer.from(n, 'latin1'), false)));
  const cert = certificate({
    // A certificate for one name (the proxy's, proxy/certificates.ts) carries it as its subject too.
    subject: name(names.length === 1 ? names[0]! : 'localhost'),
    issuer: issuer.subject,
    notBefore: new Date(now - DAY_MS),
    // Within the 398-day limit clients enforce for server certificates.
    notAfter: new Date(now + 397 * DAY_MS),
    spki,
    signingKey: createPrivateKey(ca.key),
    extensions: [
      extension(OID.basicConstraints, true, sequence()),
      extension(OID.keyUsage, true, namedBits([USAGE.digitalSignature, USAGE.keyEncipherment])),
      extension(OID.extendedKeyUsage, false, sequence(oid(OID.serverAuth))),
      extension(OID.subjectAltName, false, sequence(...altNames)),
      extension(OID.authorityKeyIdentifier, false, sequence(context(0, issuer.keyId, false))),
    ],
  });
  return { cert, key: privatePem(privateKey) };
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
