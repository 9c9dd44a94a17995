// The emulator's installation material, kept in the data directory so trust and keys survive restarts:
// the local CA and server certificate, the token-signing key, the backup-blob key, the managed-identity
// header secret, the admin key and the built-in service principal's client secret. With --in-memory
// nothing is written, but existing files are reused (so a trusted CA stays trusted); missing ones are
// generated for this run only.
import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { SigningKey } from './identity/tokens.js';
import { canonicalName, createCa, createServerCertificate, describeCertificate, DEFAULT_SERVER_NAMES, type TlsMaterial } from './tls/certificates.js';

export const FILES = {
  database: 'emulator.db',
  caCert: 'ca.pem',
  caKey: 'ca-key.pem',
  serverCert: 'server.pem',
  serverKey: 'server-key.pem',
  signingKey: 'token-signing-key.json',
  backupKey: 'backup.key',
  identityHeader: 'identity-header',
  adminKey: 'admin.key',
  clientSecret: 'client-secret',
} as const;

export interface Material {
  tls: TlsMaterial;
  /** Path of the CA certificate on disk, when there is one. */
  caFile?: string;
  signingKey: SigningKey;
  backupKey: Uint8Array;
  identityHeader: string;
  adminKey: string;
  /** Secret of the built-in service principal. */
  clientSecret: string;
}

export interface MaterialOptions {
  dataDir: string;
  /** Write what is generated (false for --in-memory). */
  persist: boolean;
  /** Extra DNS names or IPs for the server certificate. */
  extraServerNames?: string[];
  /** Configured values win over files. */
  backupKey?: Uint8Array;
  adminKey?: string;
  identityHeader?: string;
  /** Use this certificate and key instead of the generated ones. */
  tls?: { cert: string; key: string };
}

class Dir {
  constructor(
    private readonly root: string,
    private readonly persist: boolean,
  ) {
    if (persist) mkdirSync(root, { recursive: true });
  }

  path(name: string): string {
    return join(this.root, name);
  }

  read(name: string): string | undefined {
    const file = this.path(name);
    return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  }

  write(name: string, content: string, secret: boolean): void {
    if (!this.persist) return;
    const file = this.path(name);
    writeFileSync(file, content, { mode: secret ? 0o600 : 0o644 });
    if (secret) chmodSync(file, 0o600);
  }

  /** Reads `name`, or generates, writes (when persisting) and returns it. */
  async ensure(name: string, secret: boolean, generate: () => string | Promise<string>): Promise<string> {
    const existing = this.read(name);
    if (existing !== undefined && existing.trim() !== '') return existing;
    const created = await generate();
    this.write(name, created, secret);
    return created;
  }
}

export async function loadMaterial(options: MaterialOptions): Promise<Material> {
  const dir = new Dir(options.dataDir, options.persist);
  const token = () => randomBytes(24).toString('base64url');
  const [tls, signingKey, backupKeyText, identityHeader, adminKey, clientSecret] = await Promise.all([
    loadTls(dir, options),
    loadSigningKey(dir),
    dir.ensure(FILES.backupKey, true, () => randomBytes(32).toString('base64')),
    options.identityHeader ?? dir.ensure(FILES.identityHeader, true, token),
    options.adminKey ?? dir.ensure(FILES.adminKey, true, token),
    dir.ensure(FILES.clientSecret, true, token),
  ]);
  const caFile = dir.path(FILES.caCert);
  return {
    tls,
    ...(existsSync(caFile) && { caFile }),
    signingKey,
    backupKey: options.backupKey ?? Buffer.from(backupKeyText.trim(), 'base64'),
    identityHeader: identityHeader.trim(),
    adminKey: adminKey.trim(),
    clientSecret: clientSecret.trim(),
  };
}

async function loadTls(dir: Dir, options: MaterialOptions): Promise<TlsMaterial> {
  const caKey = dir.read(FILES.caKey);
  const caCertText = dir.read(FILES.caCert);
  let ca = caKey && caCertText ? { cert: caCertText, key: caKey } : undefined;
  if (!ca) {
    ca = await createCa();
    dir.write(FILES.caKey, ca.key, true);
    dir.write(FILES.caCert, ca.cert, false);
  }
  if (options.tls) return { caCert: ca.cert, caKey: ca.key, ...options.tls };
  const names = [...new Set([...DEFAULT_SERVER_NAMES, ...(options.extraServerNames ?? [])])];
  const cert = dir.read(FILES.serverCert);
  const key = dir.read(FILES.serverKey);
  if (cert && key && (await stillGood(cert, ca.cert, names))) return { caCert: ca.cert, caKey: ca.key, cert, key };
  const server = await createServerCertificate(ca, names);
  dir.write(FILES.serverKey, server.key, true);
  dir.write(FILES.serverCert, server.cert, false);
  return { caCert: ca.cert, caKey: ca.key, ...server };
}

/** The server certificate is kept while it names every host, is issued by this CA, and is not near expiry. */
async function stillGood(certPem: string, caPem: string, names: string[]): Promise<boolean> {
  try {
    if (!new X509Certificate(certPem).checkIssued(new X509Certificate(caPem))) return false;
    const described = await describeCertificate(certPem);
    const soon = Date.now() + 30 * 24 * 3600 * 1000;
    return described.notAfter.getTime() > soon && names.every((n) => described.names.includes(canonicalName(n)));
  } catch {
    return false;
  }
}

async function loadSigningKey(dir: Dir): Promise<SigningKey> {
  const text = await dir.ensure(FILES.signingKey, true, async () => {
    const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
    return JSON.stringify(await exportJWK(privateKey));
  });
  const privateJwk = JSON.parse(text) as JWK;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicFields } = privateJwk;
  const kid = (await calculateJwkThumbprint(publicFields)).slice(0, 27);
  const publicJwk: JWK = { ...publicFields, kid, use: 'sig', alg: 'RS256' };
  return {
    kid,
    privateKey: (await importJWK({ ...privateJwk, alg: 'RS256' }, 'RS256')) as SigningKey['privateKey'],
    publicKey: (await importJWK({ ...publicFields, alg: 'RS256' }, 'RS256')) as SigningKey['publicKey'],
    publicJwk,
  };
}

/** A short fingerprint to show which CA is in use. */
export function fingerprint(pem: string): string {
  const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return createHash('sha256').update(der).digest('hex').slice(0, 16).replace(/(..)(?!$)/g, '$1:');
}
