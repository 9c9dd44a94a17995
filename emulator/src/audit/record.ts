// The record of one request, shaped like Key Vault's `AuditEvent` resource log (the category its
// diagnostic settings export to storage, Event Hubs and Log Analytics). Field names, order and value
// forms follow the service's documentation and real exported records:
//   - learn.microsoft.com/azure/key-vault/general/logging (field table, operationName values: SecretGet,
//     SecretSet, ..., "Authentication" for unauthenticated requests answered 401);
//   - the AZKVAuditLogs table reference (isAccessPolicyMatch, isRbacAuthorized, appliedAssignmentId,
//     isAddressAuthorized, clientInfo, requestUri, tlsVersion);
//   - real exported records (SIEM integration samples of Key Vault's AuditEvent): `resultType` is
//     "Success" for every answered request, 400/403/404/409 included; `resultSignature` is the HTTP
//     reason phrase ("OK", "Bad Request", "Forbidden", "Not Found", "Conflict"); `resultDescription`
//     carries the error message and is absent on success; `durationMs` is a string; `time` has seven
//     fractional digits; `resourceId` is the vault's ARM id in upper case; `identity.claim` holds the
//     token's short claim names (oid, appid, upn, idtyp, xms_mirid, ...); `properties.id` is the URI of
//     the object the request addressed (absent for lists); `requestUri` the full URI with its query.
// Pure functions over plain values: the HTTP layer (http/audit.ts) gathers what it saw of a request and
// the store keeps those facts (audit/filter.ts AuditRow); the record is built from them when read.
import { STATUS_CODES } from 'node:http';
import type { AuditRow } from './filter.js';

/** Key Vault's AuditEvent record. */
export interface AuditEvent {
  time: string;
  resourceId: string;
  operationName: string;
  operationVersion: string;
  category: 'AuditEvent';
  resultType: 'Success' | 'Failure';
  resultSignature: string;
  resultDescription?: string;
  durationMs: string;
  callerIpAddress: string;
  correlationId: string;
  identity?: { claim: Record<string, unknown> };
  properties: AuditProperties;
}

export interface AuditProperties {
  id?: string;
  clientInfo: string;
  httpStatusCode: number;
  requestUri: string;
  isAccessPolicyMatch?: boolean;
  isRbacAuthorized?: boolean;
  appliedAssignmentId?: string;
  isAddressAuthorized?: boolean;
  tlsVersion?: string;
}

/** How the access check of a request came out (http/authorization.ts fills it in the request context). */
export interface AccessDecisionSeen {
  model: 'rbac' | 'accessPolicy';
  allowed: boolean;
  /** The role assignment that allowed an RBAC request. */
  assignmentId?: string;
}

/** What the HTTP layer saw of one answered request: plain values, nothing secret. */
export interface RequestSeen {
  /** Wall-clock milliseconds when the answer was sent. */
  time: number;
  durationMs: number;
  operationName: string;
  apiVersion: string;
  /** Lower-case vault name, if the request addressed one. */
  vault?: string;
  /** scheme://host[:port] as the client called it. */
  origin: string;
  /** Path and query as received, unknown query values replaced (sanitizedUrl). */
  url: string;
  /** Path of the addressed object (`/secrets/a`, `/deletedsecrets/a`), if any. */
  objectPath?: string;
  status: number;
  callerIp: string;
  correlationId?: string;
  userAgent?: string;
  claims?: Record<string, unknown>;
  decision?: AccessDecisionSeen;
  /** The error answer's body (Key Vault or ARM envelope), for error statuses. */
  errorBody?: string;
  tlsVersion?: string;
}

/** Where vaults live in ARM ids. */
export interface ArmPlacement {
  subscriptionId: string;
  resourceGroup: string;
}

/** The long claim names of a vault operation's record (see MANAGEMENT_CLIENT_INFO). */
const OBJECT_ID_CLAIM = 'http://schemas.microsoft.com/identity/claims/objectidentifier';
const UPN_CLAIM = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn';

/** Claims of the caller's token an audit record names (never the token itself). */
const IDENTITY_CLAIMS = ['oid', 'appid', 'azp', 'upn', 'unique_name', 'idtyp', 'appidacr', 'xms_mirid', 'xms_az_rid', OBJECT_ID_CLAIM, UPN_CLAIM] as const;

/**
 * Query parameters whose values a record keeps. Any other parameter's value is replaced: a request URI
 * is kept in the record, and a query string is where a careless client puts a token or a secret.
 */
const KEPT_QUERY_PARAMETERS = new Set([
  'api-version',
  'maxresults',
  '$skiptoken',
  'outcontenttype',
  'vault',
  'principal',
  'operation',
  'status',
  'since',
  'until',
  'correlationid',
  'order',
]);
export const REDACTED = 'REDACTED';

export function armVaultId(vault: string, placement: ArmPlacement): string {
  return `/SUBSCRIPTIONS/${placement.subscriptionId}/RESOURCEGROUPS/${placement.resourceGroup}/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/${vault}`.toUpperCase();
}

/** The resource of a record that names no vault (admin API changes to the emulator as a whole). */
export function armGroupId(placement: ArmPlacement): string {
  return `/SUBSCRIPTIONS/${placement.subscriptionId}/RESOURCEGROUPS/${placement.resourceGroup}`.toUpperCase();
}

/** `time` as the service writes it: ISO-8601 UTC with seven fractional digits. */
export function auditTime(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '0000Z');
}

/** The HTTP reason phrase Key Vault records as `resultSignature`. */
export function resultSignatureOf(status: number): string {
  return STATUS_CODES[status] ?? String(status);
}

/** Queries made only of kept parameters (the common case) are kept as they are without being taken apart. */
const ONLY_KEPT = /^(?:(?:api(?:-|%2d)version|maxresults|%24skiptoken|\$skiptoken|outcontenttype)=[^&]*(?:&|$))*$/i;

/** The last URL sanitized and its answer: a client sends the same URL again and again. */
let lastUrl = '';
let lastSanitized = '';

/** Path and query with the values of unknown query parameters replaced. */
export function sanitizedUrl(url: string): string {
  if (url === lastUrl) return lastSanitized;
  const sanitized = sanitize(url);
  lastUrl = url;
  lastSanitized = sanitized;
  return sanitized;
}

function sanitize(url: string): string {
  const mark = url.indexOf('?');
  if (mark < 0 || ONLY_KEPT.test(url.slice(mark + 1))) return url;
  const parts = url
    .slice(mark + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      const rawKey = eq < 0 ? part : part.slice(0, eq);
      let key: string;
      try {
        key = decodeURIComponent(rawKey.replaceAll('+', ' ')).toLowerCase();
      } catch {
        key = rawKey.toLowerCase();
      }
      if (eq < 0 || KEPT_QUERY_PARAMETERS.has(key)) return part;
      return `${rawKey}=${REDACTED}`;
    });
  return `${url.slice(0, mark)}?${parts.join('&')}`;
}

interface ErrorEnvelope {
  code?: string;
  message?: string;
  innerCode?: string;
}

/** Reads `{error:{code,message,innererror:{code}}}` (Key Vault's and ARM's envelope) from an error answer. */
export function parseErrorBody(body: string | undefined): ErrorEnvelope {
  if (!body) return {};
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown; innererror?: { code?: unknown } } };
    const error = parsed?.error;
    if (!error || typeof error !== 'object') return {};
    return {
      ...(typeof error.code === 'string' && { code: error.code }),
      ...(typeof error.message === 'string' && { message: error.message }),
      ...(typeof error.innererror?.code === 'string' && { innerCode: error.innererror.code }),
    };
  } catch {
    return {};
  }
}

/**
 * Vault operations reach Key Vault through Azure Resource Manager, and their records say so (docs
 * key-vault/general/logging, its VaultGet example): clientInfo is ARM's user agent, and the caller's
 * claims carry their long names.
 */
export const MANAGEMENT_CLIENT_INFO = 'azure-resource-manager/2.0';

/** The identity claims of a vault operation's record, as JSON text (see MANAGEMENT_CLIENT_INFO). */
export function managementIdentityClaimsText(claims: Record<string, unknown>): string {
  const claim: Record<string, string> = {};
  if (typeof claims.oid === 'string') claim[OBJECT_ID_CLAIM] = claims.oid;
  const upn = typeof claims.upn === 'string' ? claims.upn : claims.unique_name;
  if (typeof upn === 'string' && upn !== '') claim[UPN_CLAIM] = upn;
  const appid = typeof claims.appid === 'string' ? claims.appid : claims.azp;
  if (typeof appid === 'string' && appid !== '') claim.appid = appid;
  return JSON.stringify(claim);
}

/** The claims of a caller's token that an audit record names, as JSON text (undefined: no caller). */
export function identityClaimsText(claims: Record<string, unknown> | undefined): string | undefined {
  const identity = identityOf(claims);
  return identity === undefined ? undefined : JSON.stringify(identity.claim);
}

/** The identity part of a record: the caller's token claims that say who it is. */
export function identityOf(claims: Record<string, unknown> | undefined): AuditEvent['identity'] | undefined {
  if (!claims) return undefined;
  const claim: Record<string, unknown> = {};
  for (const name of IDENTITY_CLAIMS) {
    const value = claims[name];
    if (typeof value === 'string' && value !== '') claim[name] = value;
  }
  if (claim.appid === undefined && typeof claims.azp === 'string') claim.appid = claims.azp;
  delete claim.azp;
  return { claim };
}

/**
 * The AuditEvent of one answered request. Access results come from the decision the pipeline recorded;
 * a denial by a step that records none (network rules, say) is still told apart by the answer's
 * innererror code, so a new kind of denial is recorded without changing this function.
 */
export function buildAuditEvent(seen: RequestSeen, placement: ArmPlacement): AuditEvent {
  const failed = seen.status >= 400;
  const error = failed ? parseErrorBody(seen.errorBody) : {};
  const properties: AuditProperties = {
    // A path on the origin called (`/secrets/a`), or a URI of its own (a vault operation's vault URI).
    ...(seen.objectPath !== undefined && { id: seen.objectPath.startsWith('https://') ? seen.objectPath : seen.origin + seen.objectPath }),
    clientInfo: seen.userAgent ?? '',
    httpStatusCode: seen.status,
    requestUri: seen.origin + seen.url,
  };
  if (seen.decision) {
    if (seen.decision.model === 'rbac') properties.isRbacAuthorized = seen.decision.allowed;
    else properties.isAccessPolicyMatch = seen.decision.allowed;
    if (seen.decision.assignmentId !== undefined) properties.appliedAssignmentId = seen.decision.assignmentId.replaceAll('-', '').toLowerCase();
  } else if (error.innerCode === 'ForbiddenByRbac') {
    properties.isRbacAuthorized = false;
  } else if (error.innerCode === 'ForbiddenByPolicy' || error.innerCode === 'AccessDenied') {
    properties.isAccessPolicyMatch = false;
  }
  if (error.innerCode === 'ForbiddenByFirewall' || error.innerCode === 'ForbiddenByConnection') properties.isAddressAuthorized = false;
  if (seen.tlsVersion !== undefined) properties.tlsVersion = seen.tlsVersion;
  const identity = identityOf(seen.claims);
  const description = failed ? (error.message ?? resultSignatureOf(seen.status)) : undefined;
  return {
    time: auditTime(seen.time),
    resourceId: seen.vault !== undefined ? armVaultId(seen.vault, placement) : armGroupId(placement),
    operationName: seen.operationName,
    operationVersion: seen.apiVersion,
    category: 'AuditEvent',
    // Every answered request is "Success" in the service's records, denials and 404s included; only a
    // failure of the service itself is recorded as one [inferred for 5xx].
    resultType: seen.status >= 500 ? 'Failure' : 'Success',
    resultSignature: resultSignatureOf(seen.status),
    ...(description !== undefined && { resultDescription: description }),
    durationMs: String(Math.max(0, Math.round(seen.durationMs))),
    callerIpAddress: seen.callerIp,
    correlationId: seen.correlationId ?? '',
    ...(identity && { identity }),
    properties,
  };
}

/** `TLSv1.3` as Key Vault records it: `TLS1_3`. */
export function tlsVersionName(protocol: string | null | undefined): string | undefined {
  if (!protocol) return undefined;
  const match = /^TLSv(\d)\.(\d)$/.exec(protocol);
  return match ? `TLS${match[1]}_${match[2]}` : protocol;
}

/** The AuditEvent of a stored row. */
export function eventOf(row: AuditRow, placement: ArmPlacement): AuditEvent {
  // The vault's own resource group, when the row names one (a vault made through ARM).
  if (row.resourceGroup !== undefined) placement = { ...placement, resourceGroup: row.resourceGroup };
  let claims: Record<string, unknown> | undefined;
  if (row.identity !== undefined) {
    try {
      claims = JSON.parse(row.identity) as Record<string, unknown>;
    } catch {
      claims = undefined;
    }
  }
  return buildAuditEvent(
    {
      time: row.time,
      durationMs: row.durationMs,
      operationName: row.operation,
      apiVersion: row.apiVersion,
      ...(row.vault !== undefined && { vault: row.vault }),
      origin: row.origin,
      url: row.url,
      ...(row.objectPath !== undefined && { objectPath: row.objectPath }),
      status: row.status,
      callerIp: row.callerIp,
      ...(row.correlationId !== undefined && { correlationId: row.correlationId }),
      ...(row.userAgent !== undefined && { userAgent: row.userAgent }),
      ...(claims !== undefined && { claims }),
      ...(row.decision !== undefined && {
        decision: { model: row.decision, allowed: row.allowed === true, ...(row.assignmentId !== undefined && { assignmentId: row.assignmentId }) },
      }),
      ...(row.errorBody !== undefined && { errorBody: row.errorBody }),
      ...(row.tlsVersion !== undefined && { tlsVersion: row.tlsVersion }),
    },
    placement,
  );
}
