// The request pipeline, in order:
//   1. onRequest (every request): request id, the echo of x-ms-client-request-id, the headers every Key
//      Vault response carries (spec §4), and the request context (origin, addressed vault).
//   2. onRequest (data plane only): the bearer-token check, before body parsing, so the SDK's body-less
//      challenge probe gets its 401 + WWW-Authenticate (spec §1.8, §9.1); then the api-version check.
//   3. onRequest (data plane, http/authorization.ts): authorization against the route's `permission`,
//      still before body parsing, so an unauthorized caller gets 403 before any 400 or 404 (spec §5.2).
//   4. the route handler: parse, call the domain, present.
// Unknown data-plane paths go through 1-2 as well (an unauthenticated caller gets 401 before 404/405).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { errors } from '../errors.js';
import type { TokenClaims, TokenService } from '../identity/tokens.js';
import { unauthorized } from '../identity/tokens.js';
import type { Vault } from '../vault/model.js';
import type { VaultService } from '../vault/vaults.js';
import { checkApiVersion } from './api-version.js';
import { originOf } from './ids.js';

/** What a data-plane route needs the caller to be allowed to do. */
export type Permission = 'get' | 'list' | 'set' | 'update' | 'delete' | 'backup' | 'restore' | 'recover' | 'purge' | 'getDeleted';

export type Surface = 'data' | 'admin' | 'identity' | 'public';

export interface RequestContext {
  /** scheme://host[:port] as the client called it. */
  origin: string;
  /** The vault the Host header names (lower case). */
  vaultName: string;
  apiVersion: string;
  claims?: TokenClaims;
  /** The addressed vault, created on first use unless strict (resolved once, after authentication). */
  vault(): Vault;
}

declare module 'fastify' {
  interface FastifyRequest {
    kv: RequestContext;
  }
  interface FastifyContextConfig {
    surface?: Surface;
    permission?: Permission;
  }
}

export interface PipelineOptions {
  vaults: VaultService;
  tokens: TokenService;
  defaultVault: string;
  region: string;
  serviceVersion: string;
}

/** Host names that select a vault: <name>.vault.azure.net, <name>.vault.localhost, <name>.localhost. */
const VAULT_HOST = /^([a-z0-9-]+)\.(vault\.azure\.net|vault\.localhost|localhost)$/;

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
 * every other host gets the real https://vault.azure.net.
 */
export function challengeResourceFor(host: string | undefined): string {
  const hostname = hostnameOf(host);
  if (hostname.endsWith('.vault.localhost')) return 'https://vault.localhost';
  if (hostname.endsWith('.localhost') && !hostname.endsWith('.vault.azure.net')) return 'https://localhost';
  return 'https://vault.azure.net';
}

export function challengeHeader(request: FastifyRequest, tenantId: string): string {
  return `Bearer authorization="${request.kv.origin}/${tenantId}", resource="${challengeResourceFor(request.headers.host)}"`;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function surfaceOf(request: FastifyRequest): Surface {
  return request.routeOptions.config?.surface ?? 'data';
}

export function installPipeline(app: FastifyInstance, options: PipelineOptions): void {
  app.decorateRequest('kv', null as unknown as RequestContext);

  app.addHook('onRequest', async (request, reply) => {
    const clientRequestId = request.headers['x-ms-client-request-id'];
    reply.headers({
      'cache-control': 'no-cache',
      pragma: 'no-cache',
      expires: '-1',
      'x-ms-request-id': request.id,
      ...(typeof clientRequestId === 'string' && { 'x-ms-client-request-id': clientRequestId }),
      'x-ms-keyvault-region': options.region,
      'x-ms-keyvault-service-version': options.serviceVersion,
      'x-ms-keyvault-network-info': `conn_type=${request.ip.includes(':') ? 'Ipv6' : 'Ipv4'};addr=${request.ip};act_addr_fam=InterNetwork;`,
      'x-content-type-options': 'nosniff',
      'strict-transport-security': 'max-age=31536000;includeSubDomains',
    });
    let vault: Vault | undefined;
    const vaultName = vaultNameFromHost(request.headers.host, options.defaultVault);
    request.kv = {
      origin: originOf(request),
      vaultName,
      apiVersion: '',
      vault: () => (vault ??= options.vaults.resolve(vaultName)),
    };
  });

  app.addHook('onRequest', async (request) => {
    if (surfaceOf(request) !== 'data') return;
    const challenge = challengeHeader(request, options.tokens.tenantId);
    const authorization = request.headers.authorization;
    const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    if (!match) throw unauthorized('AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.', challenge);
    request.kv.claims = await options.tokens.verify(match[1]!, challenge);
    request.kv.apiVersion = checkApiVersion((request.query as Record<string, unknown>)['api-version']);
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
