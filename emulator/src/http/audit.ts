// The last step of the request pipeline (http/pipeline.ts): after the answer is sent (onResponse), what
// the request context recorded (vault, caller claims, operation, access decision) and the answer's
// status and error body become an audit record (audit/record.ts) and the service metrics
// (audit/metrics.ts). Recorded: every data-plane request (401s as "Authentication", unknown paths as
// "Unknown"), every change through the admin API (operation names "Emulator..."), and admin reads that
// disclose values (routes marked `audit: true`). Nothing here delays an answer: once it is sent, the
// request's facts are read into a small row (a few property reads, no JSON), written with its batch.
// Routes of other surfaces are recorded when they name an operation (config.auditOperation), and
// management-plane requests when they reach a Key Vault operation on one vault (request context
// `vaultOperation`: VaultGet, VaultPut, ...), as the service records vault operations made through Azure
// Resource Manager (docs key-vault/general/logging): clientInfo is ARM's, the identity claims carry their
// long names, `id` is the vault's URI. Every record names the resource group of its vault.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog, NewAuditRow } from '../audit/log.js';
import type { ServiceMetrics } from '../audit/metrics.js';
import { identityClaimsText, managementIdentityClaimsText, MANAGEMENT_CLIENT_INFO, sanitizedUrl, tlsVersionName } from '../audit/record.js';
import { clientAddressOf } from './connections.js';
import { routeConfigOf, vaultNameFromHost, type Permission, type RouteConfig, type SendingObserver, type Surface } from './pipeline.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The operationName of this route's audit records (set for every route when it is added). */
    auditOperation?: string;
    /** Record admin reads of this route too (they disclose values). */
    audit?: boolean;
  }
  interface FastifyRequest {
    /** The body of an error answer, kept for its audit record. */
    kvAuditError: string | null;
  }
}

/** What the response hook knows of an answered request. */
export interface Answered {
  request: FastifyRequest;
  status: number;
  durationMs: number;
  time: number;
  tlsVersion: string | undefined;
}

/** Key Vault's operationName for each secrets operation (learn.microsoft.com/azure/key-vault/general/logging). */
const SECRET_OPERATIONS: Record<Permission, string> = {
  get: 'SecretGet',
  list: 'SecretList',
  set: 'SecretSet',
  update: 'SecretUpdate',
  delete: 'SecretDelete',
  backup: 'SecretBackup',
  restore: 'SecretRestore',
  recover: 'SecretRecover',
  purge: 'SecretPurge',
  getDeleted: 'SecretGetDeleted',
};

const VERBS: Record<string, string> = { POST: 'Create', PUT: 'Put', PATCH: 'Update', DELETE: 'Delete', GET: 'Get' };

/** The operation name a route's records carry. */
export function operationNameOf(method: string, url: string, config: { surface?: Surface; permission?: Permission; auditOperation?: string }): string | undefined {
  if (config.auditOperation) return config.auditOperation;
  if ((config.surface ?? 'data') === 'data' && config.permission) {
    if (config.permission === 'list') {
      if (url.startsWith('/deletedsecrets')) return 'SecretListDeleted';
      if (url.endsWith('/versions')) return 'SecretListVersions';
    }
    return SECRET_OPERATIONS[config.permission];
  }
  if (config.surface === 'admin' && url.startsWith('/_emulator/')) {
    // Emulator + the resource's words + the verb: POST /_emulator/roleAssignments -> EmulatorRoleAssignmentsCreate.
    const words = url
      .slice('/_emulator/'.length)
      .split('/')
      .filter((part) => part !== '' && !part.startsWith(':') && !part.startsWith('*'))
      .map((part) => part.replace(/[^A-Za-z0-9]/g, ''))
      .map((part) => part.charAt(0).toUpperCase() + part.slice(1));
    return `Emulator${words.join('')}${VERBS[method] ?? method}`;
  }
  return undefined;
}

export interface AuditHooksOptions {
  log: AuditLog<NewAuditRow> | undefined;
  metrics: ServiceMetrics;
  defaultVault: string;
  /** The resource group of a vault other than the default one (records name the vault's ARM id). */
  resourceGroupOf?: (vault: string) => string | undefined;
}

const tlsVersions = new WeakMap<object, string | undefined>();

function tlsVersionOf(request: FastifyRequest): string | undefined {
  const socket = request.raw.socket as { getProtocol?: () => string | null };
  if (tlsVersions.has(socket)) return tlsVersions.get(socket);
  const version = tlsVersionName(socket.getProtocol?.());
  tlsVersions.set(socket, version);
  return version;
}

const text = (value: unknown, max: number): string | undefined => (typeof value === 'string' && value !== '' ? value.slice(0, max) : undefined);

/** Requests the router refuses (a malformed URL) run no hooks: the app tells of them itself. */
export type RefusedObserver = (request: FastifyRequest, reply: { statusCode: number; elapsedTime: number; raw: { once(event: 'finish', listener: () => void): unknown } }) => void;

/** What installAudit answers: the observer of requests the router refuses, and of answers being sent. */
export interface AuditObservers {
  refused: RefusedObserver;
  /** Each answer as it is sent (http/pipeline.ts installDurableAnswers): keeps the body of an error answer. */
  sending: SendingObserver;
}

/**
 * Installs the hooks. Call before any route is added (route operation names are set as routes are
 * added).
 */
export function installAudit(app: FastifyInstance, options: AuditHooksOptions): AuditObservers {
  const { log, metrics } = options;
  const rowOf = auditRowBuilder({ defaultVault: options.defaultVault, ...(options.resourceGroupOf && { resourceGroupOf: options.resourceGroupOf }) });
  const record = (answered: Answered) => {
    if (!log) return;
    try {
      log.observe(rowOf(answered));
    } catch (error) {
      // A record that cannot be made costs only itself.
      answered.request.log.error({ err: error }, 'an audit record could not be made');
    }
  };
  app.decorateRequest('kvAuditError', null);

  app.addHook('onRoute', (route) => {
    const config = (route.config ?? {}) as { surface?: Surface; permission?: Permission; auditOperation?: string };
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const name = operationNameOf(String(methods[0]), route.url ?? route.path, config);
    // Routes often share one config object: each gets its own copy.
    if (name !== undefined) route.config = { ...config, auditOperation: name };
  });

  const sending: SendingObserver = (request, reply, payload) => {
    if (reply.statusCode >= 400 && log !== undefined) {
      if (typeof payload === 'string') request.kvAuditError = payload;
      else if (Buffer.isBuffer(payload)) request.kvAuditError = payload.toString('utf8');
    }
  };

  app.addHook('onResponse', (request, reply, done) => {
    const kv = request.kv as FastifyRequest['kv'] | null;
    const config = routeConfigOf(request);
    const surface = kv?.surface ?? config?.surface ?? 'data';
    const status = reply.statusCode;
    const durationMs = reply.elapsedTime;
    if (surface === 'data') {
      const vault = kv?.vaultName ?? vaultNameFromHost(request.headers.host, options.defaultVault);
      const operationName = status === 401 ? 'Authentication' : (config?.auditOperation ?? 'Unknown');
      metrics.observe({ vault, operationName, status, durationMs });
    } else if (surface === 'admin') {
      if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'OPTIONS') {
        if (config?.audit !== true) return done();
      }
    } else if (config?.auditOperation === undefined && kv?.vaultOperation === undefined) {
      return done();
    }
    record({ request, status, durationMs, time: Date.now(), tlsVersion: tlsVersionOf(request) });
    done();
  });

  const refused: RefusedObserver = (request, reply) => {
    reply.raw.once('finish', () => {
      const vault = vaultNameFromHost(request.headers.host, options.defaultVault);
      const status = reply.statusCode;
      metrics.observe({ vault, operationName: status === 401 ? 'Authentication' : 'Unknown', status, durationMs: reply.elapsedTime });
      record({ request, status, durationMs: reply.elapsedTime, time: Date.now(), tlsVersion: tlsVersionOf(request) });
    });
  };
  return { refused, sending };
}

/** Identity claims as stored, per verified token's claims object (one per token: tokens.ts caches them). */
const identityTexts = new WeakMap<object, string | undefined>();

function identityTextOf(claims: Record<string, unknown>): string | undefined {
  if (identityTexts.has(claims)) return identityTexts.get(claims);
  const text = identityClaimsText(claims);
  identityTexts.set(claims, text);
  return text;
}

/**
 * Builds the stored facts of an answered request (runs when its batch is written): property reads and
 * no JSON, so a record costs little more than its row.
 */
export function auditRowBuilder(options: { defaultVault: string; resourceGroupOf?: (vault: string) => string | undefined }): (answered: Answered) => NewAuditRow {
  return ({ request, status, durationMs, time, tlsVersion }) => {
    const kv = request.kv as FastifyRequest['kv'] | null;
    const config: RouteConfig = routeConfigOf(request) ?? {};
    const surface = kv?.surface ?? config.surface ?? 'data';
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const routeUrl = config.url ?? '';
    let vault: string | undefined;
    let objectPath: string | undefined;
    let operation: string;
    let resourceGroup: string | undefined;
    const managed = kv?.vaultOperation;
    if (surface === 'data') {
      vault = kv?.vaultName ?? vaultNameFromHost(request.headers.host, options.defaultVault);
      operation = status === 401 ? 'Authentication' : (config.auditOperation ?? 'Unknown');
      const name = params.name;
      if (name !== undefined && name !== '' && routeUrl !== '/secrets/restore') {
        objectPath = routeUrl.startsWith('/deletedsecrets') ? `/deletedsecrets/${name}` : params.version ? `/secrets/${name}/${params.version}` : `/secrets/${name}`;
      }
    } else if (managed) {
      operation = managed.operationName;
      vault = managed.vault;
      objectPath = managed.vaultUri;
      resourceGroup = managed.resourceGroup;
    } else {
      operation = config.auditOperation ?? 'Unknown';
      const named = params.vault ?? (routeUrl.startsWith('/_emulator/vaults/') ? params.name : undefined);
      if (named !== undefined) vault = named.toLowerCase();
    }
    if (vault !== undefined && resourceGroup === undefined) resourceGroup = options.resourceGroupOf?.(vault);
    let apiVersion = kv?.apiVersion;
    if (!apiVersion) apiVersion = text((request.query as Record<string, unknown> | undefined)?.['api-version'], 64) ?? '';
    const claims = kv?.claims as Record<string, unknown> | undefined;
    const decision = kv?.decision;
    const headers = request.headers;
    const row: NewAuditRow = {
      time,
      operation,
      status,
      durationMs,
      apiVersion,
      origin: kv?.origin ?? `${request.protocol}://${headers.host ?? 'localhost'}`,
      url: sanitizedUrl(request.url),
      callerIp: clientAddressOf(request.socket),
    };
    if (vault !== undefined) row.vault = vault;
    if (resourceGroup !== undefined) row.resourceGroup = resourceGroup;
    if (objectPath !== undefined) row.objectPath = objectPath;
    const correlationId = text(headers['x-ms-client-request-id'], 256);
    if (correlationId !== undefined) row.correlationId = correlationId;
    // A vault operation reaches the service from ARM, whose user agent it records.
    const userAgent = managed ? MANAGEMENT_CLIENT_INFO : text(headers['user-agent'], 512);
    if (userAgent !== undefined) row.userAgent = userAgent;
    if (claims !== undefined) {
      if (typeof claims.oid === 'string') row.principal = claims.oid;
      const appid = typeof claims.appid === 'string' ? claims.appid : typeof claims.azp === 'string' ? claims.azp : undefined;
      if (appid !== undefined) row.appid = appid;
      const identity = managed ? managementIdentityClaimsText(claims) : identityTextOf(claims);
      if (identity !== undefined) row.identity = identity;
    }
    if (decision !== undefined) {
      row.decision = decision.model;
      row.allowed = decision.allowed;
      if (decision.assignmentId !== undefined) row.assignmentId = decision.assignmentId;
    }
    if (typeof request.kvAuditError === 'string') row.errorBody = request.kvAuditError.slice(0, 8192);
    if (tlsVersion !== undefined) row.tlsVersion = tlsVersion;
    return row;
  };
}
