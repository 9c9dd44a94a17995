// The admin API of the audit log and the metrics (docs/monitoring.md):
//   GET    /_emulator/logs          records, filtered (vault, operation, status, principal, correlationId,
//                                   since, until), paged (maxresults, $skiptoken -> nextLink), oldest first
//                                   unless order=desc
//   GET    /_emulator/logs/stream   the same records as server-sent events as they are written (id: the
//                                   record's sequence number; Last-Event-ID or `since` replays first)
//   DELETE /_emulator/logs          removes every record
//   GET    /_emulator/metrics       Prometheus text format
// Same guard as the rest of /_emulator/ (loopback, or the admin key). A bad filter is a 400 BadParameter
// naming the filter.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditRow } from '../../audit/filter.js';
import { FilterError, parseFilter, type AuditFilter } from '../../audit/filter.js';
import type { AuditLog, NewAuditRow } from '../../audit/log.js';
import type { ServiceMetrics } from '../../audit/metrics.js';
import { errors } from '../../errors.js';

export interface AdminLogsOptions {
  log: AuditLog<NewAuditRow> | undefined;
  /** A stored row's AuditEvent record as JSON text. */
  recordOf: (row: AuditRow) => string;
  metrics: ServiceMetrics;
  /** A principal's name to its object id; anything else as given. */
  resolvePrincipal: (reference: string) => string;
}

const admin = { config: { surface: 'admin' as const } };
const FILTERS = ['vault', 'operation', 'status', 'principal', 'correlationId', 'since', 'until'];
const PAGING = ['maxresults', '$skiptoken', 'order'];
const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;
const REPLAY_LIMIT = 1000;
const HEARTBEAT_MS = 15_000;

function checkKnown(query: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(query)) {
    if (!allowed.includes(key)) throw errors.badParameter(`Unknown query parameter '${key}'. The audit log takes ${allowed.map((k) => `'${k}'`).join(', ')}.`);
  }
}

function single(query: Record<string, unknown>, key: string): string | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) throw errors.badParameter(`The '${key}' parameter may be given once.`);
  return String(value);
}

function skipTokenOf(seq: number): string {
  return Buffer.from(JSON.stringify({ after: seq }), 'utf8').toString('base64url');
}

function parseSkipToken(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'number' && Number.isSafeInteger(parsed.after) && parsed.after >= 0) return parsed.after;
  } catch {
    // reported below
  }
  throw errors.badParameter("The '$skiptoken' parameter is not one this emulator issued; follow nextLink as given.");
}

const json = (reply: FastifyReply, status: number, payload: unknown) => reply.code(status).type('application/json; charset=utf-8').send(payload);


export function adminLogRoutes(app: FastifyInstance, options: AdminLogsOptions): void {
  const { log, metrics, recordOf } = options;
  const streams = new Set<() => void>();

  const enabled = (): AuditLog<NewAuditRow> => {
    if (!log) throw errors.notFound("The audit log is turned off ('auditLog': {'enabled': false} in the config file).");
    return log;
  };
  const filterOf = (query: Record<string, unknown>): AuditFilter => {
    try {
      return parseFilter(query, options.resolvePrincipal);
    } catch (error) {
      if (error instanceof FilterError) throw errors.badParameter(error.message);
      throw error;
    }
  };

  app.get('/_emulator/logs', admin, async (request, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    checkKnown(query, [...FILTERS, ...PAGING]);
    const filter = filterOf(query);
    const order = single(query, 'order') ?? 'asc';
    if (order !== 'asc' && order !== 'desc') throw errors.badParameter("The 'order' parameter must be 'asc' (oldest first) or 'desc' (newest first).");
    const max = single(query, 'maxresults');
    const limit = max === undefined ? DEFAULT_PAGE : Number(max);
    if (!/^\d+$/.test(max ?? '1') || limit < 1 || limit > MAX_PAGE) throw errors.badParameter(`The 'maxresults' parameter must be an integer from 1 to ${MAX_PAGE}.`);
    const token = single(query, '$skiptoken');
    const after = token === undefined ? undefined : parseSkipToken(token);
    const rows = enabled().query(filter, { limit: limit + 1, order, ...(after !== undefined && { after }) });
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    let nextLink: string | null = null;
    if (more) {
      const url = new URL(request.url, request.kv.origin);
      url.searchParams.set('$skiptoken', skipTokenOf(page[page.length - 1]!.seq));
      nextLink = url.href;
    }
    return reply
      .code(200)
      .type('application/json; charset=utf-8')
      .send(`{"value":[${page.map(recordOf).join(',')}],"nextLink":${JSON.stringify(nextLink)}}`);
  });

  app.get('/_emulator/logs/stream', admin, async (request: FastifyRequest, reply: FastifyReply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    checkKnown(query, [...FILTERS, 'lastEventId']);
    const filter = filterOf(query);
    const lastEventHeader = request.headers['last-event-id'] ?? single(query, 'lastEventId');
    let lastEventId: number | undefined;
    if (lastEventHeader !== undefined) {
      lastEventId = Number(lastEventHeader);
      if (!Number.isSafeInteger(lastEventId) || lastEventId < 0) throw errors.badParameter('Last-Event-ID must be the id of an event this stream sent.');
    }
    const audit = enabled();
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    const send = (rows: AuditRow[]) => {
      let chunk = '';
      for (const row of rows) chunk += `id: ${row.seq}\ndata: ${recordOf(row)}\n\n`;
      raw.write(chunk);
    };
    // Retry after 1 s if the connection drops (EventSource reconnects with Last-Event-ID).
    raw.write('retry: 1000\n\n');
    if (lastEventId !== undefined || filter.since !== undefined) {
      const replay = audit.query(filter, { limit: REPLAY_LIMIT, order: 'asc', ...(lastEventId !== undefined && { after: lastEventId }) });
      if (replay.length > 0) send(replay);
    } else {
      audit.flush();
    }
    const unsubscribe = audit.subscribe({ filter, deliver: send });
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const end = () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    streams.add(end);
    raw.once('close', end);
  });

  app.delete('/_emulator/logs', admin, async (_request, reply) => json(reply, 200, { removed: enabled().clear() }));

  app.get('/_emulator/metrics', admin, async (_request, reply) => reply.code(200).type(metrics.contentType).send(await metrics.text()));

  // Open streams would hold a closing server open: they end first.
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });
}
