// The HTTPS proxy: a listener an app reaches through the standard proxy variables (HTTPS_PROXY,
// HTTP_PROXY), so that it keeps its real Azure URLs (https://<vault>.vault.azure.net,
// https://login.microsoftonline.com/<tenant>) and every SDK's checks stay on.
//  - CONNECT <name>:443 for a name the emulator answers for (proxy/names.ts): the tunnel's socket is
//    handed to the app's one HTTPS server (http/connections.ts handToServer), whose TLS picks a
//    certificate for the name (proxy/certificates.ts); requests are then served exactly as on the
//    emulator's own port. The TCP peer stays the proxy's client: its address is the client address.
//  - plain-HTTP proxy requests (GET http://169.254.169.254/metadata/identity/...) for those names and
//    the IMDS address: served by the app's request handler on this connection.
//  - any other host: tunnelled (or forwarded) to the real destination, or refused with 403 when the
//    configuration says "proxy": {"passthrough": false}.
// Every refusal is an HTTP answer in the Key Vault envelope (a bad CONNECT target 400, a refused
// passthrough 403, an unreachable destination 502 or 504), then the connection is closed.
import { createServer, request as httpRequest, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Server as NetServer, type Socket } from 'node:net';
import type { KvError } from '../errors.js';
import { errors } from '../errors.js';
import { errorBody, statusOf } from '../http/error-mapper.js';
import { handToServer, tagConnection } from '../http/connections.js';
import { answersPlain, answersTls, normalizeHost } from './names.js';

export interface ProxyLog {
  debug(object: object, message: string): void;
  warn(object: object, message: string): void;
}

export interface ProxyLimits {
  /** Time a client has to send a request's headers (CONNECT line included). */
  headersTimeoutMs: number;
  /** Time a client has to send a whole plain-HTTP request. */
  requestTimeoutMs: number;
  maxHeaderBytes: number;
  /** Time allowed to connect to a passthrough destination. */
  connectTimeoutMs: number;
  /** A passthrough tunnel with no traffic either way for this long is closed. */
  tunnelIdleMs: number;
}

export const PROXY_LIMITS: ProxyLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxHeaderBytes: 16 * 1024,
  connectTimeoutMs: 10_000,
  tunnelIdleMs: 5 * 60_000,
};

export interface HttpsProxyOptions {
  /** The app's HTTPS server: tunnels to the names answered here are handed to it. */
  tlsServer: NetServer;
  /** The app's request handler, for plain-HTTP requests answered here. */
  route: (request: IncomingMessage, response: ServerResponse) => void;
  /** Tunnel other hosts (true) or refuse them (false). */
  passthrough: boolean;
  /** Answers a request the HTTP parser refuses (the app's envelope, then the connection is closed). */
  clientError: (error: Error & { code?: string }, socket: Socket) => void;
  log: ProxyLog;
  limits?: Partial<ProxyLimits>;
}

export interface ProxyListenOptions {
  /** Addresses to listen on (the app's); the first decides the port, the others share it. */
  hosts: string[];
  /** 0 picks a free port. */
  port: number;
}

const ESTABLISHED = 'HTTP/1.1 200 Connection Established\r\n\r\n';
/** Request headers that concern one hop (RFC 9110 §7.6.1) or the proxy, not the destination. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);

/** host and port of a CONNECT target (`host:port`, `[v6]:port`), or undefined. */
export function parseAuthority(target: string): { host: string; port: number } | undefined {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^\s:/?#@[\]]+):(\d{1,5})$/.exec(target);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: normalizeHost(match[1]!), port };
}

export class HttpsProxy {
  private readonly limits: ProxyLimits;
  private servers: Server[] = [];
  /** Both ends of passthrough tunnels and forwarded requests' upstream sockets, closed with the proxy. */
  private readonly passthroughSockets = new Set<Socket>();
  private boundPort: number | undefined;

  constructor(private readonly options: HttpsProxyOptions) {
    this.limits = { ...PROXY_LIMITS, ...options.limits };
  }

  /** The port listened on, once listening. */
  get port(): number | undefined {
    return this.boundPort;
  }

  /** Listens on every address given, on one port; resolves the port. */
  async listen(options: ProxyListenOptions): Promise<number> {
    const [first, ...others] = options.hosts;
    if (first === undefined) throw new Error('the proxy needs an address to listen on');
    const primary = this.newServer();
    await listenOn(primary, first, options.port);
    this.servers.push(primary);
    const port = (primary.address() as { port: number }).port;
    // Secondary addresses (::1 beside 127.0.0.1 for localhost) are best effort, as for the HTTPS port.
    for (const host of others) {
      const server = this.newServer();
      try {
        await listenOn(server, host, port);
        this.servers.push(server);
      } catch (error) {
        this.options.log.debug({ err: error, host }, 'the proxy could not listen on this address too');
      }
    }
    this.boundPort = port;
    return port;
  }

  async close(): Promise<void> {
    for (const socket of this.passthroughSockets) socket.destroy();
    this.passthroughSockets.clear();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      ),
    );
    this.servers = [];
    this.boundPort = undefined;
  }

  private newServer(): Server {
    const server = createServer({
      maxHeaderSize: this.limits.maxHeaderBytes,
      headersTimeout: this.limits.headersTimeoutMs,
      requestTimeout: this.limits.requestTimeoutMs,
      connectionsCheckingInterval: 1000,
    });
    server.on('connection', (socket: Socket) => tagConnection(socket, { via: 'proxy' }));
    server.on('connect', (request: IncomingMessage, socket: Socket, head: Buffer) => this.onConnect(server, request, socket, head));
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
    server.on('clientError', (error: Error & { code?: string }, socket: Socket) => this.options.clientError(error, socket));
    return server;
  }

  private onConnect(server: Server, request: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', (error) => this.options.log.debug({ err: error }, 'proxy client connection failed'));
    const target = parseAuthority(request.url ?? '');
    if (!target) return refuse(socket, errors.proxyBadTarget(request.url ?? ''));
    if (target.port === 443 && answersTls(target.host)) {
      socket.write(ESTABLISHED);
      handToServer(this.options.tlsServer, socket, { via: 'proxy' }, head);
      return;
    }
    if (target.port === 80 && answersPlain(target.host)) {
      // A tunnel for plain HTTP (curl --proxytunnel): its requests come back to this proxy's handler.
      socket.write(ESTABLISHED);
      handToServer(server, socket, { via: 'proxy' }, head);
      return;
    }
    this.tunnel(socket, target, head);
  }

  /** A passthrough tunnel to the real destination. */
  private tunnel(socket: Socket, target: { host: string; port: number }, head: Buffer): void {
    const name = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
    if (!this.options.passthrough) return refuse(socket, errors.proxyPassthroughRefused(name));
    this.options.log.debug({ target: name }, 'proxy passthrough tunnel');
    const upstream = connect({ host: target.host, port: target.port });
    this.passthroughSockets.add(upstream);
    this.passthroughSockets.add(socket);
    let connected = false;
    upstream.setTimeout(this.limits.connectTimeoutMs);
    upstream.once('timeout', () => {
      if (!connected) refuse(socket, errors.proxyTimeout(name, Math.round(this.limits.connectTimeoutMs / 1000)));
      upstream.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      upstream.setTimeout(0);
      socket.write(ESTABLISHED);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream);
      upstream.pipe(socket);
      // A tunnel idle both ways is closed: either side's timeout ends both.
      const idle = () => {
        socket.destroy();
        upstream.destroy();
      };
      socket.setTimeout(this.limits.tunnelIdleMs, idle);
      upstream.setTimeout(this.limits.tunnelIdleMs, idle);
    });
    upstream.on('error', (error: Error & { code?: string }) => {
      if (!connected) refuse(socket, errors.proxyUnreachable(name, error.code ?? error.message));
      else socket.destroy();
    });
    upstream.once('close', () => {
      this.passthroughSockets.delete(upstream);
      if (connected) socket.end();
    });
    socket.once('close', () => {
      this.passthroughSockets.delete(socket);
      upstream.destroy();
    });
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '';
    let target: URL | undefined;
    if (!url.startsWith('/')) {
      try {
        target = new URL(url);
      } catch {
        return answer(response, errors.proxyBadTarget(url));
      }
      if (target.protocol !== 'http:') return answer(response, errors.proxyBadTarget(url));
    }
    // The destination: the absolute URL's, or (in a CONNECT tunnel for plain HTTP) the Host header's.
    const host = target ? target.hostname : normalizeHost((request.headers.host ?? '').replace(/:\d+$/, ''));
    const port = target ? Number(target.port || 80) : 80;
    if (port === 80 && answersPlain(host)) {
      if (target) {
        request.url = `${target.pathname}${target.search}`;
        request.headers.host ??= target.host;
      }
      this.options.route(request, response);
      return;
    }
    if (!target) return answer(response, errors.notAProxyRequest());
    if (!this.options.passthrough) return answer(response, errors.proxyPassthroughRefused(target.host));
    this.forward(request, response, target);
  }

  /** A plain-HTTP request passed on to its real destination. */
  private forward(request: IncomingMessage, response: ServerResponse, target: URL): void {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
    }
    this.options.log.debug({ target: target.host }, 'proxy passthrough request');
    const upstream = httpRequest({ host: target.hostname, port: target.port || 80, method: request.method, path: `${target.pathname}${target.search}`, headers });
    upstream.setTimeout(this.limits.connectTimeoutMs, () => upstream.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    upstream.on('socket', (socket: Socket) => {
      this.passthroughSockets.add(socket);
      socket.once('close', () => this.passthroughSockets.delete(socket));
    });
    upstream.on('response', (reply) => {
      upstream.setTimeout(0);
      const replyHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(reply.headers)) {
        if (value !== undefined && !HOP_HEADERS.has(name)) replyHeaders[name] = value;
      }
      response.writeHead(reply.statusCode ?? 502, reply.statusMessage, replyHeaders);
      reply.pipe(response);
      reply.on('error', () => response.destroy());
    });
    upstream.on('error', (error: Error & { code?: string }) => {
      if (response.headersSent) return response.destroy();
      answer(response, error.code === 'ETIMEDOUT' ? errors.proxyTimeout(target.host, Math.round(this.limits.connectTimeoutMs / 1000)) : errors.proxyUnreachable(target.host, error.code ?? error.message));
    });
    request.pipe(upstream);
  }
}

function listenOn(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => reject(error);
    server.once('error', failed);
    server.listen({ host, port }, () => {
      server.off('error', failed);
      resolve();
    });
  });
}

function envelope(error: KvError): { status: number; body: string } {
  return { status: statusOf(error), body: JSON.stringify(errorBody(error)) };
}

/** Answers a CONNECT on its raw socket and closes the connection. */
function refuse(socket: Socket, error: KvError): void {
  if (socket.destroyed || socket.writableEnded) return;
  const { status, body } = envelope(error);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** Answers a plain-HTTP proxy request with an error. */
function answer(response: ServerResponse, error: KvError): void {
  const { status, body } = envelope(error);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  response.end(body);
}
