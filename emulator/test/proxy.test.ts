// The HTTPS proxy (proxy/) over real sockets, as a proxy client sees it: CONNECT to the names the
// emulator answers for (served by the app's HTTPS server with a certificate for the name, made once),
// the client address kept, plain-HTTP requests to the IMDS address, passthrough tunnels and forwarded
// requests to local servers only (never the internet), refusal when passthrough is off, and bad input
// (closed ports, malformed CONNECT lines, silent clients, TLS garbage) answered or closed while the
// emulator keeps serving others; and an app's identity mirrored through the admin API (appId).
import { X509Certificate } from 'node:crypto';
import { Agent, createServer as createHttpServer, request as httpRequest, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type Emulator } from '../src/app.js';
import { resolveConfig, type EmulatorConfig } from '../src/config.js';
import { SYSTEM_ASSIGNED_IDENTITY } from '../src/identity/principals.js';
import { createCa, createServerCertificate } from '../src/tls/certificates.js';
import { sharedMaterial, testEmulator } from './support/harness.js';

const V = 'api-version=7.6';

interface Started {
  emu: Emulator;
  port: number;
  proxyPort: number;
  ca: string;
  token: string;
}

async function start(config: Partial<EmulatorConfig> = {}): Promise<Started> {
  const material = await sharedMaterial();
  const emu = await buildApp(resolveConfig({ inMemory: true, logLevel: 'silent', port: 0 }, config), {
    material,
    // Short enough that the tests of silent clients see them cut off within a few seconds.
    limits: { handshakeTimeoutMs: 1000, headersTimeoutMs: 1000, checkIntervalMs: 200 },
    proxyLimits: { connectTimeoutMs: 3000 },
  });
  await emu.app.listen({ port: 0, host: '127.0.0.1' });
  const proxyPort = await emu.proxyListening();
  if (proxyPort === undefined) throw new Error('the proxy did not listen');
  const issued = await emu.tokens.issue({ audience: 'https://vault.azure.net', oid: SYSTEM_ASSIGNED_IDENTITY.objectId, appid: SYSTEM_ASSIGNED_IDENTITY.clientId });
  return { emu, port: (emu.app.server.address() as AddressInfo).port, proxyPort, ca: material.tls.caCert, token: issued.token };
}

interface ProxyAnswer {
  socket: Socket;
  status: number;
  headers: string;
  body: string;
}

/** Sends `head` (a CONNECT or any raw bytes) to the proxy; resolves its answer's status line and headers (and body if it closes). */
function rawToProxy(proxyPort: number, head: string, options: { localAddress?: string } = {}): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: '127.0.0.1', port: proxyPort, ...(options.localAddress && { localAddress: options.localAddress }) });
    let received = Buffer.alloc(0);
    let headerEnd = -1;
    let status = 0;
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (headerEnd < 0) headerEnd = received.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received.toString('latin1'))?.[1] ?? 0);
      if (status === 200) {
        socket.off('data', onData);
        socket.pause();
        resolve({ socket, status, headers: received.subarray(0, headerEnd).toString('latin1'), body: '' });
      }
    };
    socket.on('data', onData);
    socket.once('close', () => {
      if (status === 200) return;
      const text = received.toString('utf8');
      const end = text.indexOf('\r\n\r\n');
      resolve({ socket, status, headers: end < 0 ? text : text.slice(0, end), body: end < 0 ? '' : text.slice(end + 4) });
    });
    socket.once('error', (error) => (received.length === 0 ? reject(error) : undefined));
    socket.write(head);
  });
}

/** A TLS session through a CONNECT tunnel to `host:443`. */
async function tunnel(proxyPort: number, host: string, ca: string, options: { localAddress?: string } = {}): Promise<TLSSocket> {
  const answer = await rawToProxy(proxyPort, `CONNECT ${host}:443 HTTP/1.1\r\nHost: ${host}:443\r\n\r\n`, options);
  expect(answer.status, answer.headers).toBe(200);
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket: answer.socket, servername: host, ca }, () => resolve(tls));
    tls.once('error', reject);
  });
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A keep-alive agent whose one connection is `connection`, so several requests can share a tunnel. */
const agents = new WeakMap<Socket, Agent>();
function agentOn(connection: Socket): Agent {
  let agent = agents.get(connection);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 1 });
    // rawToProxy leaves a tunnel paused until something reads it.
    (agent as unknown as { createConnection: () => Socket }).createConnection = () => connection.resume();
    agents.set(connection, agent);
  }
  return agent;
}

/** One HTTP request on an open connection (a TLS session through the proxy, or a plain tunnel). */
function requestOn(connection: Socket, options: { method?: string; path: string; host: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent: agentOn(connection),
        method: options.method ?? 'GET',
        path: options.path,
        headers: { host: options.host, ...(options.body !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(options.body) }), ...options.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** One plain-HTTP request to the proxy (absolute-form URL), as HTTP_PROXY clients send it. */
function viaProxy(proxyPort: number, url: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: proxyPort, path: url, headers: { host: new URL(url).host, ...headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.resume();
    socket.once('close', () => resolve());
  });
}

const listen = (server: HttpServer | HttpsServer) =>
  new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

describe('the HTTPS proxy', () => {
  let s: Started;
  let localTls: HttpsServer;
  let localTlsPort: number;
  let localTlsCa: string;
  let localHttp: HttpServer;
  let localHttpPort: number;

  beforeAll(async () => {
    s = await start();
    s.emu.secrets.setSecret(s.emu.vaults.resolve('proxied'), 'kept', { value: 'still here' });
    // Local stand-ins for "the rest of the internet": passthrough must never leave the machine in tests.
    const otherCa = await createCa();
    const otherCert = await createServerCertificate(otherCa, ['localhost']);
    localTlsCa = otherCa.cert;
    localTls = createHttpsServer({ key: otherCert.key, cert: otherCert.cert }, (req, res) => res.end(`local tls server: ${req.url}`));
    localTlsPort = await listen(localTls);
    localHttp = createHttpServer((req, res) => {
      res.setHeader('x-seen-proxy-connection', String(req.headers['proxy-connection'] ?? 'none'));
      res.end(`local http server: ${req.method} ${req.url}`);
    });
    localHttpPort = await listen(localHttp);
  });
  afterAll(async () => {
    await s.emu.app.close();
    localTls.close();
    localHttp.close();
  });

  it('serves a vault name through a tunnel exactly as on its own port, keeping the client address', async () => {
    const tls = await tunnel(s.proxyPort, 'proxied.vault.azure.net', s.ca, { localAddress: '127.0.0.9' });
    const auth = { authorization: `Bearer ${s.token}` };
    const set = await requestOn(tls, { method: 'PUT', path: `/secrets/through?${V}`, host: 'proxied.vault.azure.net', headers: auth, body: '{"value":"tunnelled"}' });
    expect(set.status, set.body).toBe(200);
    expect(JSON.parse(set.body).id).toMatch(/^https:\/\/proxied\.vault\.azure\.net\/secrets\/through\/[0-9a-f]{32}$/);
    expect(set.headers['x-ms-keyvault-network-info']).toBe('conn_type=Ipv4;addr=127.0.0.9;act_addr_fam=InterNetwork;');
    const challenge = await requestOn(tls, { path: `/secrets/through?${V}`, host: 'proxied.vault.azure.net' });
    expect(challenge.status).toBe(401);
    expect(challenge.headers['www-authenticate']).toBe(`Bearer authorization="https://login.microsoftonline.com/${s.emu.config.tenantId}", resource="https://vault.azure.net"`);
    tls.destroy();
    // The same vault, the same state, on the emulator's own port.
    expect(s.emu.secrets.peekLatest(s.emu.vaults.resolve('proxied'), 'through')?.value).toBe('tunnelled');
  });

  it('answers for the Entra authority with a certificate for its name, made once and kept', async () => {
    const first = await tunnel(s.proxyPort, 'login.microsoftonline.com', s.ca);
    const certificate = new X509Certificate(first.getPeerX509Certificate()!.raw);
    expect(certificate.checkHost('login.microsoftonline.com')).toBe('login.microsoftonline.com');
    expect(certificate.checkIssued(new X509Certificate(s.ca))).toBe(true);
    const config = await requestOn(first, { path: `/${s.emu.config.tenantId}/v2.0/.well-known/openid-configuration`, host: 'login.microsoftonline.com' });
    expect(config.status).toBe(200);
    expect(JSON.parse(config.body)).toMatchObject({
      issuer: `https://login.microsoftonline.com/${s.emu.config.tenantId}/v2.0`,
      token_endpoint: `https://login.microsoftonline.com/${s.emu.config.tenantId}/oauth2/v2.0/token`,
    });
    first.destroy();
    const again = await tunnel(s.proxyPort, 'login.microsoftonline.com', s.ca);
    expect(again.getPeerX509Certificate()!.fingerprint256).toBe(certificate.fingerprint256);
    const discovery = await requestOn(again, {
      path: `/common/discovery/instance?api-version=1.1&authorization_endpoint=${encodeURIComponent(`https://login.microsoftonline.com/${s.emu.config.tenantId}/oauth2/v2.0/authorize`)}`,
      host: 'login.microsoftonline.com',
    });
    expect(JSON.parse(discovery.body).tenant_discovery_endpoint).toBe(`https://login.microsoftonline.com/${s.emu.config.tenantId}/v2.0/.well-known/openid-configuration`);
    again.destroy();
    // Vault names of another cloud share one certificate for the suffix; *.vault.azure.net is the server's own.
    for (const vault of ['one.vault.azure.cn', 'two.vault.azure.cn', 'three.vault.azure.net']) (await tunnel(s.proxyPort, vault, s.ca)).destroy();
    expect(s.emu.sni!.mintedNames()).toEqual(expect.arrayContaining(['*.vault.azure.cn', 'login.microsoftonline.com']));
    expect(s.emu.sni!.mintedNames().filter((name) => name.includes('vault')).sort()).toEqual(['*.vault.azure.cn']);
  });

  it("answers another cloud's vault names and authority: its challenge, a token for its vault resource", async () => {
    const vault = await tunnel(s.proxyPort, 'china1.vault.azure.cn', s.ca);
    const challenge = await requestOn(vault, { path: `/secrets?${V}`, host: 'china1.vault.azure.cn' });
    expect(challenge.headers['www-authenticate']).toBe(`Bearer authorization="https://login.chinacloudapi.cn/${s.emu.config.tenantId}", resource="https://vault.azure.cn"`);
    const authority = await tunnel(s.proxyPort, 'login.chinacloudapi.cn', s.ca);
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: '3f5b8c1d-2e4a-4b6c-8d7e-9f0a1b2c3d4e',
      client_secret: s.emu.material.clientSecret,
      scope: 'https://vault.azure.cn/.default',
    }).toString();
    const issued = await requestOn(authority, {
      method: 'POST',
      path: `/${s.emu.config.tenantId}/oauth2/v2.0/token`,
      host: 'login.chinacloudapi.cn',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    expect(issued.status, issued.body).toBe(200);
    const listed = await requestOn(vault, { path: `/secrets?${V}`, host: 'china1.vault.azure.cn', headers: { authorization: `Bearer ${JSON.parse(issued.body).access_token}` } });
    expect(listed.status, listed.body).toBe(200);
    vault.destroy();
    authority.destroy();
  });

  it('serves the IMDS address to plain-HTTP proxy requests, and through a plain-HTTP tunnel', async () => {
    const path = '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net';
    const direct = await viaProxy(s.proxyPort, `http://169.254.169.254${path}`, { metadata: 'true' });
    expect(direct.status, direct.body).toBe(200);
    expect(JSON.parse(direct.body)).toMatchObject({ token_type: 'Bearer', resource: 'https://vault.azure.net' });
    const refused = await viaProxy(s.proxyPort, `http://169.254.169.254${path}`);
    expect(refused.status).toBe(400);
    const opened = await rawToProxy(s.proxyPort, 'CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254:80\r\n\r\n');
    expect(opened.status).toBe(200);
    const tunnelled = await requestOn(opened.socket, { path, host: '169.254.169.254', headers: { metadata: 'true' } });
    expect(JSON.parse(tunnelled.body).access_token).toMatch(/^ey/);
    opened.socket.destroy();
  });

  it('tunnels other hosts to their real destination, TLS end to end with that server', async () => {
    const opened = await rawToProxy(s.proxyPort, `CONNECT localhost:${localTlsPort} HTTP/1.1\r\nHost: localhost:${localTlsPort}\r\n\r\n`);
    expect(opened.status).toBe(200);
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const t = tlsConnect({ socket: opened.socket, servername: 'localhost', ca: localTlsCa }, () => resolve(t));
      t.once('error', reject);
    });
    // The certificate is the local server's, not one the emulator made: nothing is intercepted.
    expect(tls.getPeerX509Certificate()!.checkIssued(new X509Certificate(localTlsCa))).toBe(true);
    const reply = await requestOn(tls, { path: '/hello', host: `localhost:${localTlsPort}` });
    expect(reply.body).toBe('local tls server: /hello');
    tls.destroy();
  });

  it('forwards plain-HTTP requests for other hosts without the proxy headers', async () => {
    const reply = await viaProxy(s.proxyPort, `http://localhost:${localHttpPort}/page?x=1`, { 'proxy-connection': 'keep-alive' });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('local http server: GET /page?x=1');
    expect(reply.headers['x-seen-proxy-connection']).toBe('none');
  });

  it('answers bad input with a clear error or a closed connection, and keeps serving others', async () => {
    // A closed port: 502 in the Key Vault envelope.
    const spare = createNetServer();
    const closedPort = await new Promise<number>((resolve) => spare.listen(0, '127.0.0.1', () => resolve((spare.address() as AddressInfo).port)));
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const refusedPort = await rawToProxy(s.proxyPort, `CONNECT 127.0.0.1:${closedPort} HTTP/1.1\r\n\r\n`);
    expect(refusedPort.status).toBe(502);
    expect(JSON.parse(refusedPort.body).error).toMatchObject({ code: 'BadGateway', message: `The proxy could not connect to 127.0.0.1:${closedPort}: ECONNREFUSED.` });

    // A CONNECT target without a port, and a line that is not HTTP: 400.
    const noPort = await rawToProxy(s.proxyPort, 'CONNECT vault.example HTTP/1.1\r\n\r\n');
    expect(noPort.status).toBe(400);
    expect(JSON.parse(noPort.body).error.code).toBe('BadParameter');
    const garbageLine = await rawToProxy(s.proxyPort, 'CONNECT \x00\x01 nonsense\r\n\r\n');
    expect(garbageLine.status).toBe(400);
    expect(JSON.parse(garbageLine.body).error.code).toBe('BadParameter');

    // A direct request to the proxy port says what the port is for.
    const direct = await rawToProxy(s.proxyPort, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    expect(direct.status).toBe(400);
    expect(JSON.parse(direct.body).error.message).toMatch(/^This is the emulator's HTTPS proxy/);

    // A client that opens a tunnel and sends nothing is closed by the TLS handshake timeout; one that
    // sends nothing at all, by the proxy's headers timeout; TLS garbage in a tunnel closes it at once.
    const silentTunnel = await rawToProxy(s.proxyPort, 'CONNECT quiet.vault.azure.net:443 HTTP/1.1\r\n\r\n');
    expect(silentTunnel.status).toBe(200);
    const silentClient = netConnect({ host: '127.0.0.1', port: s.proxyPort });
    const timedOut = new Promise<string>((resolve) => silentClient.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
    const garbage = await rawToProxy(s.proxyPort, 'CONNECT noisy.vault.azure.net:443 HTTP/1.1\r\n\r\n');
    garbage.socket.write(Buffer.from('\x16\x03\x01\x00\x05garbage that is not a TLS record at all'));

    // Meanwhile others are served, through the proxy and directly.
    const tls = await tunnel(s.proxyPort, 'proxied.vault.azure.net', s.ca);
    const served = await requestOn(tls, { path: `/secrets/kept/?${V}`, host: 'proxied.vault.azure.net', headers: { authorization: `Bearer ${s.token}` } });
    expect(JSON.parse(served.body).value).toBe('still here');
    tls.destroy();

    await Promise.all([closed(silentTunnel.socket), closed(garbage.socket)]);
    // The silent client is told why (408 in the envelope) and its connection is closed.
    expect(await timedOut).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*"code":"RequestTimeout"/);
    silentClient.destroy();
    const after = await tunnel(s.proxyPort, 'proxied.vault.azure.net', s.ca);
    expect((await requestOn(after, { path: `/secrets/kept/?${V}`, host: 'proxied.vault.azure.net', headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
    after.destroy();
  });

  it('reports its URL in the facts', () => {
    expect(s.emu.facts('https://localhost:8443').proxyUrl).toBe(`http://localhost:${s.proxyPort}`);
  });
});

describe('the HTTPS proxy without passthrough', () => {
  let s: Started;
  let local: HttpServer;
  let localPort: number;
  beforeAll(async () => {
    s = await start({ proxy: { passthrough: false } });
    local = createHttpServer((_req, res) => res.end('must not be reached'));
    localPort = await listen(local);
  });
  afterAll(async () => {
    await s.emu.app.close();
    local.close();
  });

  it('refuses tunnels and requests to other hosts with 403, and still answers its own names', async () => {
    const tunnelRefused = await rawToProxy(s.proxyPort, `CONNECT localhost:${localPort} HTTP/1.1\r\n\r\n`);
    expect(tunnelRefused.status).toBe(403);
    expect(JSON.parse(tunnelRefused.body).error).toMatchObject({ code: 'Forbidden' });
    expect(JSON.parse(tunnelRefused.body).error.message).toContain('"proxy": {"passthrough": false}');
    const requestRefused = await viaProxy(s.proxyPort, `http://localhost:${localPort}/`);
    expect(requestRefused.status).toBe(403);
    expect(requestRefused.body).not.toContain('must not be reached');
    const tls = await tunnel(s.proxyPort, 'offline.vault.azure.net', s.ca);
    expect((await requestOn(tls, { path: `/secrets?${V}`, host: 'offline.vault.azure.net', headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
    tls.destroy();
  });
});

describe('the proxy port', () => {
  it('is off with proxyPort off, and the facts say so', async () => {
    const material = await sharedMaterial();
    const emu = await buildApp(resolveConfig({ inMemory: true, logLevel: 'silent', port: 0, proxyPort: 'off' }), { material });
    await emu.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      expect(await emu.proxyListening()).toBeUndefined();
      expect(emu.facts('https://localhost:1').proxyUrl).toBeUndefined();
    } finally {
      await emu.app.close();
    }
  });

  it('is the one configured, and a taken one is an error', async () => {
    const blocker = createNetServer();
    const taken = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as AddressInfo).port)));
    const material = await sharedMaterial();
    const emu = await buildApp(resolveConfig({ inMemory: true, logLevel: 'silent', port: 0, proxyPort: taken }), { material });
    await emu.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      await expect(emu.proxyListening()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await emu.app.close();
      blocker.close();
    }
  });
});

describe('a mirrored app identity through the admin API', () => {
  it('takes appId for a service principal, and a new appId replaces the client id it had', async () => {
    const emu = await testEmulator();
    try {
      const put = (appId: string) =>
        emu.app.inject({ method: 'PUT', url: '/_emulator/identities/orders-api', payload: { kind: 'servicePrincipal', appId, clientSecret: 'local-only' } });
      expect((await put('0b7d3c1e-8a44-4f0e-9d5b-2c6e1f3a7b90')).json()).toMatchObject({ name: 'orders-api', clientId: '0b7d3c1e-8a44-4f0e-9d5b-2c6e1f3a7b90' });
      const other = '5e0c1a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b';
      const replaced = await put(other);
      expect(replaced.statusCode).toBe(200);
      expect(replaced.json().clientId).toBe(other);
      expect(emu.directory.findApplication(other)?.name).toBe('orders-api');
      expect(emu.directory.findApplication('0b7d3c1e-8a44-4f0e-9d5b-2c6e1f3a7b90')).toBeUndefined();
    } finally {
      await emu.app.close();
    }
  });
});
