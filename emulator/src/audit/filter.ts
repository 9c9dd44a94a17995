// Filters of the audit log (GET /_emulator/logs, the stream, `kv-emulator logs`), parsed from query text
// into plain values, with a clear message for every value that is not understood. The store applies
// them in SQL (store/audit-repository.ts); the live stream applies `matches` to each new record.

export interface AuditFilter {
  /** Lower-case vault names. */
  vaults?: string[];
  /** operationName values, compared case-insensitively. */
  operations?: string[];
  /** Exact statuses and status classes (4 for 4xx). */
  statuses?: number[];
  statusClasses?: number[];
  /** Object ids or application ids (a principal's name is resolved to its object id before). */
  principals?: string[];
  correlationId?: string;
  /** Wall-clock milliseconds, inclusive. */
  since?: number;
  until?: number;
}

/**
 * What is stored of one answered request: plain facts, the searchable ones first. The AuditEvent record is
 * built from them when it is read (audit/record.ts eventOf), so writing one costs one row and no JSON.
 */
export interface AuditRow {
  /** Assigned by the store; ascending in the order records were written. */
  seq: number;
  /** Wall-clock milliseconds when the answer was sent. */
  time: number;
  vault?: string;
  /** The vault's resource group, when it is not the default one (a vault made through ARM). */
  resourceGroup?: string;
  operation: string;
  status: number;
  /** The caller's object id (oid claim). */
  principal?: string;
  appid?: string;
  correlationId?: string;
  durationMs: number;
  apiVersion: string;
  /** scheme://host[:port] as the client called it. */
  origin: string;
  /** Path and query as received, the values of unknown query parameters already replaced. */
  url: string;
  objectPath?: string;
  callerIp: string;
  userAgent?: string;
  /** The identity claims of the record (JSON object text), oid and appid included. */
  identity?: string;
  decision?: 'rbac' | 'accessPolicy';
  allowed?: boolean;
  assignmentId?: string;
  /** The error answer's body as it was sent (Key Vault or ARM envelope: a code and a message). */
  errorBody?: string;
  tlsVersion?: string;
}

export class FilterError extends Error {}

const fail = (message: string): never => {
  throw new FilterError(message);
};

function list(value: unknown, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  const values = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).map((v) => v.trim());
  if (values.length === 0 || values.some((v) => v === '')) fail(`The '${name}' filter must be a non-empty value (several are separated by commas).`);
  return values;
}

/** ISO-8601, or Unix time in seconds or milliseconds. */
export function parseTime(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const n = Number(text);
    return n < 1e11 ? Math.round(n * 1000) : Math.round(n);
  }
  const parsed = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(parsed)) return fail(`The '${name}' filter must be an ISO-8601 date and time (2025-01-31T12:00:00Z) or a Unix time, got '${text}'.`);
  return parsed;
}

const VAULT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const OPERATION_NAME = /^[A-Za-z]{1,64}$/;
const PRINCIPAL = /^[A-Za-z0-9._@:/-]{1,256}$/;

/**
 * Parses the filter parameters of a query. `resolvePrincipal` turns a principal's name into its object
 * id (identifiers it does not know are kept as given: object or application ids).
 */
export function parseFilter(query: Record<string, unknown>, resolvePrincipal: (reference: string) => string): AuditFilter {
  const filter: AuditFilter = {};
  const vaults = list(query.vault, 'vault')?.map((v) => v.toLowerCase());
  if (vaults) {
    for (const v of vaults) if (!VAULT_NAME.test(v)) fail(`The 'vault' filter must name vaults (letters, digits and hyphens), got '${v}'.`);
    filter.vaults = vaults;
  }
  const operations = list(query.operation, 'operation');
  if (operations) {
    for (const o of operations) if (!OPERATION_NAME.test(o)) fail(`The 'operation' filter must be operation names such as SecretGet, got '${o}'.`);
    filter.operations = operations;
  }
  const statuses = list(query.status, 'status');
  if (statuses) {
    for (const s of statuses) {
      const exact = /^([1-5]\d\d)$/.exec(s);
      const cls = /^([1-5])xx$/i.exec(s);
      if (exact) (filter.statuses ??= []).push(Number(exact[1]));
      else if (cls) (filter.statusClasses ??= []).push(Number(cls[1]));
      else fail(`The 'status' filter must be HTTP statuses (403) or classes (4xx), got '${s}'.`);
    }
  }
  const principals = list(query.principal, 'principal');
  if (principals) {
    for (const p of principals) if (!PRINCIPAL.test(p)) fail(`The 'principal' filter must be a principal's name, object id or application id, got '${p}'.`);
    filter.principals = principals.map(resolvePrincipal);
  }
  if (query.correlationId !== undefined) {
    const id = String(query.correlationId).trim();
    if (id === '' || id.length > 256) fail("The 'correlationId' filter must be a client request id.");
    filter.correlationId = id;
  }
  const since = parseTime(query.since, 'since');
  const until = parseTime(query.until, 'until');
  if (since !== undefined) filter.since = since;
  if (until !== undefined) filter.until = until;
  if (since !== undefined && until !== undefined && until < since) fail("The 'until' filter must not be before 'since'.");
  return filter;
}

/** Whether a record passes a filter (the live stream's check; the store's SQL says the same). */
export function matches(filter: AuditFilter, row: Pick<AuditRow, 'vault' | 'operation' | 'status' | 'principal' | 'appid' | 'correlationId' | 'time'>): boolean {
  if (filter.vaults && (row.vault === undefined || !filter.vaults.includes(row.vault))) return false;
  if (filter.operations && !filter.operations.some((o) => o.toLowerCase() === row.operation.toLowerCase())) return false;
  if (filter.statuses || filter.statusClasses) {
    const exact = filter.statuses?.includes(row.status) ?? false;
    const cls = filter.statusClasses?.includes(Math.floor(row.status / 100)) ?? false;
    if (!exact && !cls) return false;
  }
  if (filter.principals) {
    const ids = filter.principals.map((p) => p.toLowerCase());
    if (!ids.includes(row.principal?.toLowerCase() ?? '\0') && !ids.includes(row.appid?.toLowerCase() ?? '\0')) return false;
  }
  if (filter.correlationId !== undefined && row.correlationId !== filter.correlationId) return false;
  if (filter.since !== undefined && row.time < filter.since) return false;
  if (filter.until !== undefined && row.time > filter.until) return false;
  return true;
}
