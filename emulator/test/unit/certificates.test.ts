// The CA and server certificates the emulator writes itself (tls/certificates.ts, tls/der.ts): what a
// strict verifier accepts (OpenSSL's -x509_strict, Python's ssl with VERIFY_X509_STRICT, the default of
// Python 3.13), what Node's TLS client accepts, and a server certificate issued by a CA that an earlier
// version made with a certificate library (fixtures/earlier-ca*.pem): data directories keep their CA,
// and the certificates issued under it must chain to it.
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createCa, createServerCertificate, DEFAULT_SERVER_NAMES, describeCertificate } from '../../src/tls/certificates.js';

const FIXTURES = join(import.meta.dirname, '../fixtures');
const earlierCa = { cert: readFileSync(join(FIXTURES, 'earlier-ca.pem'), 'utf8'), key: readFileSync(join(FIXTURES, 'earlier-ca-key.pem'), 'utf8') };

const has = (command: string, args: string[]) => new Promise<boolean>((resolve) => execFile(command, args, (error) => resolve(!error)));
const openssl = await has('openssl', ['version']);
const python = await has('/usr/bin/python3', ['--version']);

function files(pems: Record<string, string>): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'kv-certs-'));
  return Object.fromEntries(Object.entries(pems).map(([name, pem]) => (writeFileSync(join(dir, name), pem), [name, join(dir, name)])));
}

function opensslVerify(caFile: string, certFile: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', caFile, certFile], (error, stdout, stderr) => (error ? reject(new Error(`${stdout}${stderr}`)) : resolve(stdout))),
  );
}

/** A TLS handshake with Node's client, trusting only `ca`, for `servername`. */
async function handshake(server: { cert: string; key: string }, ca: string, servername: string): Promise<void> {
  const tls = createServer({ cert: server.cert, key: server.key }, (socket) => socket.end());
  await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: (tls.address() as { port: number }).port, ca, servername }, () => {
        socket.end();
        resolve();
      });
      socket.once('error', reject);
    });
  } finally {
    tls.close();
  }
}

describe('certificates written by the emulator', () => {
  it('a CA and a server certificate for every name the emulator answers to', async () => {
    const ca = await createCa();
    const server = await createServerCertificate(ca);
    const caCert = new X509Certificate(ca.cert);
    const cert = new X509Certificate(server.cert);
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(caCert.verify(caCert.publicKey)).toBe(true);
    expect((await describeCertificate(server.cert)).names).toEqual(DEFAULT_SERVER_NAMES);
    expect(cert.subject).toBe('CN=localhost\nO=kv-emulator');
    expect(cert.issuer).toBe(caCert.subject);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.publicKey.asymmetricKeyType).toBe('ec');
    for (const name of ['localhost', 'orders.vault.localhost', 'orders.vault.azure.net']) await handshake(server, ca.cert, name);
    expect(cert.checkIP('::1')).toBe('::1');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('one name: its subject too (the HTTPS proxy)', async () => {
    const ca = await createCa();
    const server = await createServerCertificate(ca, ['login.microsoftonline.com']);
    expect(new X509Certificate(server.cert).subject).toBe('CN=login.microsoftonline.com\nO=kv-emulator');
    await handshake(server, ca.cert, 'login.microsoftonline.com');
  });

  it('under a CA an earlier version made', async () => {
    const server = await createServerCertificate(earlierCa, ['localhost', 'fe80::7', '10.1.2.3']);
    const cert = new X509Certificate(server.cert);
    expect(cert.checkIssued(new X509Certificate(earlierCa.cert))).toBe(true);
    expect(cert.verify(new X509Certificate(earlierCa.cert).publicKey)).toBe(true);
    expect((await describeCertificate(server.cert)).names).toEqual(['localhost', 'fe80::7', '10.1.2.3']);
    await handshake(server, earlierCa.cert, 'localhost');
  });

  it.skipIf(!openssl)('pass OpenSSL -x509_strict, their own CA and an earlier one', async () => {
    const ca = await createCa();
    const paths = files({
      'ca.pem': ca.cert,
      'server.pem': (await createServerCertificate(ca)).cert,
      'earlier-ca.pem': earlierCa.cert,
      'earlier-server.pem': (await createServerCertificate(earlierCa)).cert,
    });
    expect(await opensslVerify(paths['ca.pem']!, paths['server.pem']!)).toContain('OK');
    expect(await opensslVerify(paths['earlier-ca.pem']!, paths['earlier-server.pem']!)).toContain('OK');
  });

  it.skipIf(!python)("pass Python's strict verification (VERIFY_X509_STRICT)", async () => {
    const ca = await createCa();
    const server = await createServerCertificate(ca);
    const paths = files({ 'ca.pem': ca.cert, 'server.pem': server.cert, 'server-key.pem': server.key });
    const script = [
      'import socket, ssl, sys, threading',
      'srv = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); srv.load_cert_chain(sys.argv[2], sys.argv[3])',
      "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)",
      'def serve():',
      '    c, _ = s.accept()',
      '    try: srv.wrap_socket(c, server_side=True).close()',
      '    except Exception: pass',
      'threading.Thread(target=serve, daemon=True).start()',
      'ctx = ssl.create_default_context(cafile=sys.argv[1]); ctx.verify_flags |= ssl.VERIFY_X509_STRICT',
      "raw = socket.create_connection(('127.0.0.1', s.getsockname()[1]))",
      "t = ctx.wrap_socket(raw, server_hostname='orders.vault.azure.net'); print('verified'); t.close()",
    ].join('\n');
    const out = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/python3', ['-c', script, paths['ca.pem']!, paths['server.pem']!, paths['server-key.pem']!], (error, stdout, stderr) => (error ? reject(new Error(stderr)) : resolve(stdout))),
    );
    expect(out.trim()).toBe('verified');
  });
});
