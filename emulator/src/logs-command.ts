// `kv-emulator logs`: the audit log of a running emulator (GET /_emulator/logs, and with --follow the
// server-sent events of /_emulator/logs/stream), one readable line per call, or the AuditEvent records as
// JSON lines with --json. Filters are the admin API's; the emulator checks them and its 400 is printed.
import { request as httpsRequest } from 'node:https';
import { parseArgs } from 'node:util';

export const LOGS_HELP = `Options for logs:
  --url URL          the emulator (default $KV_EMULATOR_URL or https://localhost:8443)
  --follow, -f       keep printing records as they are written (Ctrl-C stops)
  --status S         403, 4xx, or several: 401,403
  --operation O      SecretGet, SecretSet, Authentication, ... (several: comma-separated)
  --vault V          vault name
  --principal P      a principal's name, object id or application id
  --correlation-id C the client request id (x-ms-client-request-id)
  --since T, --until T   ISO-8601 or Unix time (with --follow, --since replays from then first)
  --tail N           only the last N records (before following)
  --json             the AuditEvent records as JSON lines
`;

export interface LogsCommandOptions {
  args: string[];
  /** The emulator's URL when --url is not given. */
  defaultUrl: string;
  adminKey?: string;
  adminKeyHeader: string;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

interface Record {
  time?: string;
  resourceId?: string;
  operationName?: string;
  resultSignature?: string;
  resultDescription?: string;
  durationMs?: string;
  callerIpAddress?: string;
  identity?: { claim?: { oid?: string; appid?: string; upn?: string } };
  properties?: { httpStatusCode?: number; requestUri?: string; id?: string; isRbacAuthorized?: boolean; isAccessPolicyMatch?: boolean };
}

const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));

/** One line a person reads: time, status, operation, vault, object, caller, duration, and why it failed. */
export function formatRecord(record: Record): string {
  const status = record.properties?.httpStatusCode ?? 0;
  const vault = /\/VAULTS\/([^/]+)$/i.exec(record.resourceId ?? '')?.[1]?.toLowerCase() ?? '-';
  let target = '-';
  try {
    if (record.properties?.requestUri) target = new URL(record.properties.requestUri).pathname;
  } catch {
    // keep '-'
  }
  const claim = record.identity?.claim;
  const caller = claim?.upn ?? (claim?.appid ? `appid=${claim.appid}` : claim?.oid ? `oid=${claim.oid}` : (record.callerIpAddress ?? '-'));
  const time = (record.time ?? '').replace(/(\.\d{3})\d*Z$/, '$1Z');
  const why = status >= 400 && record.resultDescription ? `  ${record.resultDescription.split(/\r?\n/)[0]!.slice(0, 160)}` : '';
  return [
    time,
    pad(`${status} ${record.resultSignature ?? ''}`, 22),
    pad(record.operationName ?? '-', 20),
    pad(vault, 12),
    pad(target, 32),
    pad(caller, 44),
    `${record.durationMs ?? '?'}ms${why}`,
  ].join(' ');
}

class AnswerError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function get(url: URL, headers: { [name: string]: string }, onResponse: (res: import('node:http').IncomingMessage) => void): import('node:http').ClientRequest {
  // The emulator's CA may be what the user has not trusted yet: the admin API is asked for the URL the
  // user named, as `kv-emulator env` does.
  const req = httpsRequest(url, { rejectUnauthorized: false, headers }, onResponse);
  req.end();
  return req;
}

function getJson(url: URL, headers: { [name: string]: string }): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = get(url, headers, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          return reject(new AnswerError(res.statusCode ?? 0, body.slice(0, 300)));
        }
        if (res.statusCode !== 200) {
          const message = (parsed as { error?: { message?: string } }).error?.message ?? body.slice(0, 300);
          return reject(new AnswerError(res.statusCode ?? 0, message));
        }
        resolve(parsed);
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`timed out asking ${url.origin}`)));
    req.on('error', reject);
  });
}

export async function logsCommand(options: LogsCommandOptions): Promise<number> {
  const { values } = parseArgs({
    args: options.args,
    strict: true,
    options: {
      url: { type: 'string' },
      follow: { type: 'boolean', short: 'f' },
      status: { type: 'string' },
      operation: { type: 'string' },
      vault: { type: 'string' },
      principal: { type: 'string' },
      'correlation-id': { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      tail: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const base = values.url ?? options.defaultUrl;
  const filters = new URLSearchParams();
  for (const [flag, param] of [
    ['status', 'status'],
    ['operation', 'operation'],
    ['vault', 'vault'],
    ['principal', 'principal'],
    ['correlation-id', 'correlationId'],
    ['since', 'since'],
    ['until', 'until'],
  ] as const) {
    const value = values[flag];
    if (value !== undefined) filters.set(param, value);
  }
  let tail: number | undefined;
  if (values.tail !== undefined) {
    tail = Number(values.tail);
    if (!/^\d+$/.test(values.tail) || tail < 1 || tail > 1000) {
      options.err.write('--tail must be a number from 1 to 1000.\n');
      return 2;
    }
  }
  const headers: { [name: string]: string } = { accept: 'application/json', ...(options.adminKey && { [options.adminKeyHeader]: options.adminKey }) };
  const print = (record: Record) => options.out.write(`${values.json ? JSON.stringify(record) : formatRecord(record)}\n`);

  try {
    if (!(values.follow && values.since !== undefined)) {
      // History first: oldest first, or the last N.
      const query = new URLSearchParams(filters);
      if (tail !== undefined) {
        query.set('order', 'desc');
        query.set('maxresults', String(tail));
        const page = (await getJson(new URL(`/_emulator/logs?${query}`, base), headers)) as { value: Record[] };
        for (const record of page.value.reverse()) print(record);
      } else if (!values.follow) {
        query.set('maxresults', '1000');
        let next: string | null = `/_emulator/logs?${query}`;
        while (next) {
          const page = (await getJson(new URL(next, base), headers)) as { value: Record[]; nextLink: string | null };
          for (const record of page.value) print(record);
          next = page.nextLink;
        }
      }
    }
  } catch (error) {
    return reportFailure(error, base, options.err);
  }
  if (!values.follow) return 0;
  return follow(new URL(`/_emulator/logs/stream?${filters}`, base), headers, print, options.err);
}

function reportFailure(error: unknown, base: string, err: NodeJS.WritableStream): number {
  if (error instanceof AnswerError) {
    err.write(`The emulator answered ${error.status}: ${error.message}\n`);
    return error.status === 400 ? 2 : 1;
  }
  err.write(`No emulator answered at ${base} (${(error as Error).message}). Start it with: npm start\n`);
  return 1;
}

/** Reads the server-sent events of the stream until the connection ends or the process is stopped. */
function follow(url: URL, headers: { [name: string]: string }, print: (record: Record) => void, err: NodeJS.WritableStream): Promise<number> {
  return new Promise((resolve) => {
    const req = get(url, { ...headers, accept: 'text/event-stream' }, (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          let message = body;
          try {
            message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? body;
          } catch {
            // as it came
          }
          resolve(reportFailure(new AnswerError(res.statusCode ?? 0, message), url.origin, err));
        });
        return;
      }
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data === '') continue;
          try {
            print(JSON.parse(data) as Record);
          } catch {
            // not a record
          }
        }
      });
      res.on('end', () => resolve(0));
    });
    req.on('error', (error) => resolve(reportFailure(error, url.origin, err)));
    const stop = () => {
      req.destroy();
      resolve(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
