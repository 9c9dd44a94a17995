// Fault injection: make the next matching data-plane requests fail the way Key Vault fails under load
// or during an incident (429 Throttled with the real message, 503, 500), or answer late, or break the
// connection as a network does (reset it, cut it after the answer's headers, or hold the answer until the
// client gives up), so clients' retry and timeout handling can be tested on demand. Rules are armed
// through the admin API or the config file and count down as they fire.
import { errors, KvError } from '../errors.js';

export type FaultKind = 'throttled' | 'serviceUnavailable' | 'internalError' | ConnectionFault;

/**
 * Broken connections (http/faults.ts): `reset` resets the TCP connection before the operation runs;
 * `stall` holds the request, unanswered and not run, until the client gives up (or `stallMs` passes, when
 * the emulator resets it); `closeAfterHeaders` runs the operation, sends the status line and headers of its
 * answer, and cuts the connection before the body: the change is made, the client never learns it.
 */
export type ConnectionFault = 'reset' | 'closeAfterHeaders' | 'stall';

export interface FaultMatch {
  /** HTTP method, e.g. GET. */
  method?: string;
  /** The route's operation: get, list, set, update, delete, backup, restore, recover, purge, getDeleted. */
  operation?: string;
  vault?: string;
  /** Secret name (case-insensitive). */
  secret?: string;
}

export interface FaultRule {
  id: string;
  match: FaultMatch;
  /** What to answer; omitted: only delay. */
  fault?: FaultKind;
  /** How many matching requests it affects; undefined: until removed. */
  times?: number;
  /** Sent as Retry-After (seconds) with 429/503, which makes the SDK retry after that long. */
  retryAfterSeconds?: number;
  /** Milliseconds to wait before answering (with or without a fault). */
  delayMs?: number;
  /** `stall` only: how long to hold the request before resetting the connection (default 120,000). */
  stallMs?: number;
  /** How many requests it has affected. */
  fired: number;
}

export interface RequestFacts {
  method: string;
  operation?: string;
  vault: string;
  secret?: string;
}

export interface FaultOutcome {
  error?: KvError;
  connection?: ConnectionFault;
  /** With `stall`: how long to hold the connection. */
  stallMs?: number;
  delayMs: number;
}

const CONNECTION_FAULTS: ConnectionFault[] = ['reset', 'closeAfterHeaders', 'stall'];
const KINDS: FaultKind[] = ['throttled', 'serviceUnavailable', 'internalError', ...CONNECTION_FAULTS];
const DEFAULT_STALL_MS = 120_000;
const OPERATIONS = ['get', 'list', 'set', 'update', 'delete', 'backup', 'restore', 'recover', 'purge', 'getDeleted'];

export class FaultInjector {
  private rules: FaultRule[] = [];
  private nextId = 1;

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r, match: { ...r.match } }));
  }

  /** Validates and arms a rule described by plain JSON. */
  add(input: unknown): FaultRule {
    const raw = (typeof input === 'object' && input !== null && !Array.isArray(input) ? input : undefined) as Record<string, unknown> | undefined;
    if (!raw) throw errors.badParameter('A fault rule must be a JSON object.');
    const match = (raw.match ?? {}) as Record<string, unknown>;
    if (typeof match !== 'object' || match === null || Array.isArray(match)) throw errors.badParameter('match must be an object.');
    const text = (v: unknown, field: string) => {
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v === '') throw errors.badParameter(`${field} must be a non-empty string.`);
      return v;
    };
    const operation = text(match.operation, 'match.operation');
    if (operation !== undefined && !OPERATIONS.includes(operation)) throw errors.badParameter(`match.operation must be one of ${OPERATIONS.join(', ')}.`);
    const fault = raw.fault;
    if (fault !== undefined && !KINDS.includes(fault as FaultKind)) throw errors.badParameter(`fault must be one of ${KINDS.join(', ')}.`);
    const count = (v: unknown, field: string, min: number, max: number) => {
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw errors.badParameter(`${field} must be an integer from ${min} to ${max}.`);
      return v;
    };
    const times = count(raw.times, 'times', 1, 1_000_000);
    const retryAfterSeconds = count(raw.retryAfterSeconds, 'retryAfterSeconds', 0, 3600);
    const delayMs = count(raw.delayMs, 'delayMs', 0, 120_000);
    const stallMs = count(raw.stallMs, 'stallMs', 1, 600_000);
    if (fault === undefined && delayMs === undefined) throw errors.badParameter('A fault rule needs a fault, a delayMs, or both.');
    const connection = CONNECTION_FAULTS.includes(fault as ConnectionFault);
    if (connection && retryAfterSeconds !== undefined) throw errors.badParameter(`retryAfterSeconds applies to answers, not to a '${fault as string}' fault.`);
    if (stallMs !== undefined && fault !== 'stall') throw errors.badParameter("stallMs applies to 'stall' faults only.");
    const method = text(match.method, 'match.method');
    const vault = text(match.vault, 'match.vault');
    const secret = text(match.secret, 'match.secret');
    const rule: FaultRule = {
      id: String(this.nextId++),
      match: {
        ...(method !== undefined && { method: method.toUpperCase() }),
        ...(operation !== undefined && { operation }),
        ...(vault !== undefined && { vault: vault.toLowerCase() }),
        ...(secret !== undefined && { secret: secret.toLowerCase() }),
      },
      ...(fault !== undefined && { fault: fault as FaultKind }),
      ...(times !== undefined && { times }),
      ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
      ...(delayMs !== undefined && { delayMs }),
      ...(fault === 'stall' && { stallMs: stallMs ?? DEFAULT_STALL_MS }),
      fired: 0,
    };
    this.rules.push(rule);
    return rule;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length !== before;
  }

  clear(): void {
    this.rules = [];
  }

  /** The first armed rule matching the request fires (and counts down). */
  isEmpty(): boolean {
    return this.rules.length === 0;
  }

  check(request: RequestFacts): FaultOutcome | undefined {
    if (this.rules.length === 0) return undefined;
    const rule = this.rules.find((r) => matches(r.match, request));
    if (!rule) return undefined;
    rule.fired += 1;
    if (rule.times !== undefined && rule.fired >= rule.times) this.remove(rule.id);
    const outcome: FaultOutcome = { delayMs: rule.delayMs ?? 0 };
    if (rule.fault === 'reset' || rule.fault === 'closeAfterHeaders' || rule.fault === 'stall') {
      outcome.connection = rule.fault;
      if (rule.stallMs !== undefined) outcome.stallMs = rule.stallMs;
    } else if (rule.fault) outcome.error = faultError(rule.fault, rule.retryAfterSeconds);
    return outcome;
  }
}

function matches(match: FaultMatch, request: RequestFacts): boolean {
  return (
    (match.method === undefined || match.method === request.method) &&
    (match.operation === undefined || match.operation === request.operation) &&
    (match.vault === undefined || match.vault === request.vault) &&
    (match.secret === undefined || match.secret === request.secret?.toLowerCase())
  );
}

function faultError(kind: Exclude<FaultKind, ConnectionFault>, retryAfterSeconds: number | undefined): KvError {
  const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
  switch (kind) {
    case 'throttled':
      return errors.throttled(retryAfterSeconds);
    case 'serviceUnavailable':
      return new KvError('ServiceUnavailable', 'The service is temporarily unavailable. Please retry the request.', { headers });
    case 'internalError':
      return errors.internal();
  }
}
