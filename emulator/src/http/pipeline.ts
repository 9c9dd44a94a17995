// The request pipeline: one onRequest hook, synchronous unless a token is seen for the first time or a
// fault delays the answer. In order:
//   0. every request: an HTTP/1.1 request without a Host header is refused (400, in the envelope);
//   1. every request: request id, the echo of x-ms-client-request-id, the headers every Key Vault
//      response carries (spec §4), and the request context (origin, addressed vault, the route's surface
//      and permission, read once).
//   1a. admin routes (surface 'admin'): only loopback callers, or callers with the admin key
//      (http/routes/admin.ts adminAccess), get further;
//   2. data plane only: the bearer-token check, before body parsing, so the SDK's body-less challenge
//      probe gets its 401 + WWW-Authenticate (spec §1.8, §9.1); then the api-version check;
//   3. then the data-plane steps, in order (http/network-rules.ts: the vault's firewall, public network
//      access and private endpoints, 403 ForbiddenByFirewall / ForbiddenByConnection; http/authorization.ts:
//      403 RBAC / access policy before any 400 or 404, spec §5.2;
//      http/realism.ts: the service's request limits (429) and latency, when realism turns them on;
//      http/faults.ts: injected faults and broken connections);
//   4. the route handler: parse, call the domain, present;
//   5. after the answer is sent (onResponse): its audit record and the service metrics (http/audit.ts),
//      built from this request context and the answer, written outside the answer's commit.
// Unknown data-plane paths go through 1-3 as well (an unauthenticated caller gets 401 before 404/405).
// Management-plane routes (surface 'arm', arm/routes/) carry ARM's headers instead of Key Vault's in 1,
// and their bearer token is checked in 2 the way ARM checks it (arm/authentication.ts: ARM audiences,
// ARM's 401s); the api-version, authorization (403 AuthorizationFailed) and existence checks follow in
// the ARM domain, in ARM's order, when the route runs; a request that gets past them to a Key Vault
// operation on one vault notes it in the context (`vaultOperation`), and gets its audit record in 5.
import type { FastifyContextConfig, FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { randomUUID } from 'node:crypto';
import { errors, KvError } from '../errors.js';
import type { TokenClaims, TokenService } from '../identity/tokens.js';
import { unauthorized } from '../identity/tokens.js';
import { cloudOfVaultHost } from '../vault/clouds.js';
import type { Vault } from '../vault/model.js';
import type { VaultService } from '../vault/vaults.js';
import { networkInfo } from '../network/evaluate.js';
import { checkApiVersion } from './api-version.js';
import { clientAddressOf, connectionTagOf } from './connections.js';
import { errorBody, statusOf } from './error-mapper.js';
import { originOf } from './ids.js';

/** What a data-plane route needs the caller to be allowed to do. */
export type Permission = 'get' | 'list' | 'set' | 'update' | 'delete' | 'backup' | 'restore' | 'recover' | 'purge' | 'getDeleted';

export type Surface = 'data' | 'admin' | 'identity' | 'public' | 'arm';

export interface RequestContext {
  /** scheme://host[:port] as the client called it. */
  origin: string;
  /** The vault the Host header names (lower case). */
  vaultName: string;
  apiVersion: string;
  /** Which part of the API the route belongs to (unknown paths: the data plane). */
  surface: Surface;
  /** What a data-plane route needs the caller to be allowed to do. */
  permission: Permission | undefined;
  /**
   * The route's config (Fastify's request.routeOptions, read once: that getter makes a new object at
   * every read); undefined for a path no route matched.
   */
  config: RouteConfig | undefined;
  claims?: TokenClaims;
  /** How the access check came out, once it ran (http/authorization.ts); audit records read it. */
  decision?: { model: 'rbac' | 'accessPolicy'; allowed: boolean; assignmentId?: string };
  /** The Key Vault operation a management-plane request reached (arm/ vaults.ts), for its audit record. */
  vaultOperation?: VaultOperation;
  /** The addressed vault, created on first use unless strict (resolved once, after authentication). */
  vault(): Vault;
}

/** A management-plane operation on one vault, as Key Vault's audit records name it (VaultGet, VaultPut, ...). */
export interface VaultOperation {
  operationName: string;
  vault: string;
  resourceGroup: string;
  /** The vault's URI as the caller is shown it (the record's properties.id). */
  vaultUri: string;
}

/** A route's config as Fastify keeps it: what the routes declare (FastifyContextConfig), and the route's url. */
export type RouteConfig = FastifyContextConfig & { url?: string };

declare module 'fastify' {
  interface FastifyRequest {
    kv: RequestContext;
  }
  interface FastifyContextConfig {
    surface?: Surface;
    permission?: Permission;
  }
}

/**
 * A data-plane step run after authentication and the api-version check. It throws a KvError to answer
 * instead of the route, or returns a promise to hold the request (a delay); otherwise it returns nothing.
 */
export type DataPlaneStep = (request: FastifyRequest, reply: FastifyReply) => void | Promise<void>;

export interface PipelineOptions {
  vaults: VaultService;
  tokens: TokenService;
  defaultVault: string;
  region: string;
  serviceVersion: string;
  steps: DataPlaneStep[];
  /**
   * Authenticates a management-plane request from its Authorization header (ARM's checks and 401s):
   * the claims, synchronously for a token seen before, or a promise of them; throws or rejects to answer.
   */
  management?: (authorization: string | undefined, origin: string) => TokenClaims | Promise<TokenClaims>;
  /** Who may call the admin API (http/routes/admin.ts adminAccess): the error to answer an admin request with, if any. */
  admin?: (request: FastifyRequest) => KvError | undefined;
}

/**
 * Host names that select a vault: <name>.vault.azure.net (and the other public clouds' vault suffixes,
 * vault/clouds.ts), <name>.vault.localhost, <name>.localhost.
 */
const VAULT_HOST = /^([a-z0-9-]+)\.(vault\.azure\.net|vault\.azure\.cn|vault\.usgovcloudapi\.net|vault\.localhost|localhost)$/;

export function hostnameOf(host: string | undefined): string {
  if (!host) return '';
  const bracket = /^\[([^\]]+)\](:\d+)?$/.exec(host);
  if (bracket) return bracket[1]!.toLowerCase();
  return host.replace(/:\d+$/, '').replace(/\.$/, '').toLowerCase();
}

export function vaultNameFromHost(host: string | undefined, defaultVault: string): string {
  const match = VAULT_HOST.exec(hostnameOf(host));
  return match ? match[1]! : defaultVault;
}

/**
 * The resource the 401 challenge advertises. The SDK checks that the vault host ends with "." + the
 * resource's host (spec §8.1.4), so *.vault.localhost and *.localhost hosts get a resource that passes;
 * a vault name of a public cloud gets that cloud's resource, every other host the real
 * https://vault.azure.net.
 */
export function challengeResourceFor(host: string | undefined): string {
  const hostname = hostnameOf(host);
  const cloud = cloudOfVaultHost(hostname);
  if (cloud) return cloud.resource;
  if (hostname.endsWith('.vault.localhost')) return 'https://vault.localhost';
  if (hostname.endsWith('.localhost')) return 'https://localhost';
  return 'https://vault.azure.net';
}

/**
 * The 401 challenge. A vault name of a public cloud (reached through the proxy, or a hosts-file entry)
 * gets the real vault's challenge, naming the cloud's Entra authority, so that every SDK signs in at its
 * default authority host (which the proxy answers for); other hosts name the authority the emulator
 * serves on the origin called. The SDKs take only the tenant from it.
 */
export function challengeHeader(request: FastifyRequest, tenantId: string): string {
  const cloud = cloudOfVaultHost(hostnameOf(request.headers.host));
  const authority = cloud ? `https://${cloud.authorityHost}` : request.kv.origin;
  return `Bearer authorization="${authority}/${tenantId}", resource="${challengeResourceFor(request.headers.host)}"`;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function surfaceOf(request: FastifyRequest): Surface {
  return request.kv?.surface ?? routeConfigOf(request)?.surface ?? 'data';
}

/** The route's config: from the request context once the pipeline made it, else from Fastify (a new object each read). */
export function routeConfigOf(request: FastifyRequest): RouteConfig | undefined {
  const kv = request.kv as RequestContext | null;
  return kv ? kv.config : (request.routeOptions?.config as RouteConfig | undefined);
}

/** x-ms-keyvault-network-info names the caller's address (network/evaluate.ts); computed once per connection. */
const networkInfoBySocket = new WeakMap<object, string>();

/**
 * What the last request of a connection presented and was found to be: its Authorization header and the
 * claims it verified to, and its Host header and the vault and origin it names. A keep-alive client (an
 * SDK) sends the same ones again and again; comparing a header with the last one costs less than hashing
 * a 1-2 KB token to look it up, or parsing the host again.
 */
interface ConnectionMemo {
  authorization?: string;
  claims?: TokenClaims;
  host?: string;
  vaultName?: string;
  origin?: string;
}
const memoBySocket = new WeakMap<object, ConnectionMemo>();

function memoOf(request: FastifyRequest): ConnectionMemo {
  const socket = request.raw.socket;
  let memo = memoBySocket.get(socket);
  if (memo === undefined) {
    memo = {};
    memoBySocket.set(socket, memo);
  }
  return memo;
}

function networkInfoOf(request: FastifyRequest): string {
  const socket = request.raw.socket;
  let info = networkInfoBySocket.get(socket);
  if (info === undefined) {
    info = networkInfo(clientAddressOf(socket), { privateLink: connectionTagOf(socket)?.via === 'private-endpoint' });
    networkInfoBySocket.set(socket, info);
  }
  return info;
}

export function installPipeline(app: FastifyInstance, options: PipelineOptions): void {
  app.decorateRequest('kv', null as unknown as RequestContext);
  const { tokens, steps } = options;

  /** ARM's request headers, then its bearer check; the route does the rest (arm/routes/). */
  const authenticateManagement = (request: FastifyRequest, config: RouteConfig | undefined, done: HookHandlerDoneFunction): void => {
    const origin = originOf(request);
    request.kv = {
      origin,
      vaultName: '',
      apiVersion: '',
      surface: 'arm',
      permission: undefined,
      config,
      vault: () => {
        throw errors.notFound('The management plane addresses vaults by resource id.');
      },
    };
    if (!options.management) return done(errors.notFound(`The requested path ${request.url.split('?')[0]} was not found.`));
    try {
      const claims = options.management(request.headers.authorization, origin);
      if (!(claims instanceof Promise)) {
        request.kv.claims = claims;
        return done();
      }
      claims.then((verified) => {
        request.kv.claims = verified;
        done();
      }, done);
    } catch (error) {
      done(error as Error);
    }
  };

  const continueFrom = (index: number, request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    try {
      for (let i = index; i < steps.length; i++) {
        const pending = steps[i]!(request, reply);
        if (pending) {
          pending.then(() => continueFrom(i + 1, request, reply, done), done);
          return;
        }
      }
    } catch (error) {
      done(error as Error);
      return;
    }
    done();
  };

  const authenticated = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction, claims: TokenClaims): void => {
    request.kv.claims = claims;
    try {
      request.kv.apiVersion = checkApiVersion((request.query as Record<string, unknown>)['api-version']);
    } catch (error) {
      done(error as Error);
      return;
    }
    continueFrom(0, request, reply, done);
  };

  app.addHook('onRequest', (request, reply, done) => {
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') return done(errors.missingHost());
    const config = request.routeOptions.config as RouteConfig | undefined;
    const surface = config?.surface ?? 'data';
    const clientRequestId = request.headers['x-ms-client-request-id'];
    reply.header('cache-control', 'no-cache');
    reply.header('pragma', 'no-cache');
    reply.header('expires', '-1');
    reply.header('x-ms-request-id', request.id);
    if (typeof clientRequestId === 'string') reply.header('x-ms-client-request-id', clientRequestId);
    if (surface === 'arm') return authenticateManagement(request, config, done);
    reply.headers({
      'x-ms-keyvault-region': options.region,
      'x-ms-keyvault-service-version': options.serviceVersion,
      'x-ms-keyvault-network-info': networkInfoOf(request),
      'x-content-type-options': 'nosniff',
      'strict-transport-security': 'max-age=31536000;includeSubDomains',
    });
    let vault: Vault | undefined;
    const memo = memoOf(request);
    const host = request.headers.host;
    if (memo.host !== host || memo.vaultName === undefined) {
      memo.host = host;
      memo.vaultName = vaultNameFromHost(host, options.defaultVault);
      memo.origin = originOf(request);
    }
    const vaultName = memo.vaultName;
    request.kv = {
      origin: memo.origin!,
      vaultName,
      apiVersion: '',
      surface,
      permission: config?.permission,
      config,
      vault: () => (vault ??= options.vaults.resolve(vaultName)),
    };
    if (surface === 'admin') return done(options.admin?.(request));
    if (surface !== 'data') return done();

    const challenge = () => challengeHeader(request, tokens.tenantId);
    const authorization = request.headers.authorization;
    let claims: TokenClaims | undefined;
    try {
      // The token this connection presented last, verified then: only its lifetime is judged again.
      if (memo.claims !== undefined && authorization === memo.authorization) return authenticated(request, reply, done, tokens.stillValid(memo.claims, challenge));
      // A token seen before is found without parsing the header (a verified token has no whitespace).
      if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) claims = tokens.verified(authorization.slice(7), challenge);
      if (claims) {
        memo.authorization = authorization;
        memo.claims = claims;
        return authenticated(request, reply, done, claims);
      }
      const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
      if (!match) return done(unauthorized('AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.', challenge()));
      const token = match[1]!;
      claims = tokens.verified(token, challenge);
      if (claims) return authenticated(request, reply, done, claims);
      tokens.verify(token, challenge()).then((verified) => {
        memo.authorization = authorization;
        memo.claims = verified;
        authenticated(request, reply, done, verified);
      }, done);
    } catch (error) {
      done(error as Error);
    }
  });
}

/** Shown each answer as it is sent (installDurableAnswers). */
export type SendingObserver = (request: FastifyRequest, reply: FastifyReply, payload: unknown) => void;

/**
 * Every answer waits until the writes made before it are committed (store/commit-group.ts): a client is
 * never told of a write a crash could still take away, nor shown one. If the commit fails, the answer
 * becomes the error the store names (a storage fault: 503 ServiceUnavailable, in the envelope), whatever
 * the answer was going to be, an error answer included: Fastify gives an error raised while an error
 * answer is sent its own body, not ours, so the answer is rewritten here instead.
 * `sending` is shown each answer as it is sent, after any such rewriting (the audit log keeps the body
 * of error answers, http/audit.ts): one hook rather than one more for every request.
 */
export function installDurableAnswers(app: FastifyInstance, commits: { settled(): Promise<void> | undefined }, sending?: SendingObserver): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    const settled = commits.settled();
    if (!settled) {
      sending?.(request, reply, payload);
      return done(null, payload);
    }
    settled.then(
      () => {
        sending?.(request, reply, payload);
        done(null, payload);
      },
      (error: unknown) => {
        let answer: KvError;
        if (error instanceof KvError) answer = error;
        else {
          request.log.error({ err: error }, 'a commit failed');
          answer = errors.internal();
        }
        reply.code(statusOf(answer)).type('application/json; charset=utf-8');
        const body = JSON.stringify(errorBody(answer));
        sending?.(request, reply, body);
        done(null, body);
      },
    );
  });
}

export function newRequestId(): string {
  return randomUUID();
}

/** The answer for a path no route matched: 405 if the path exists with other methods, else 404. */
export function notFoundError(app: FastifyInstance, request: FastifyRequest) {
  const path = request.url.split('?')[0] ?? '/';
  for (const method of ['GET', 'PUT', 'PATCH', 'POST', 'DELETE'] as const) {
    if (method !== request.method && app.findRoute({ url: path, method })) return errors.methodNotAllowed(request.method);
  }
  return errors.notFound(`The requested path ${path} was not found.`);
}
