// Robustness tests drive the emulator as a separate process through its real CLI (emulator/dist, built
// by `npm test`), over real HTTPS, so that a crash, a hang or a lost write is seen as a client sees it.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.mjs');

export interface ChildEmulator {
  child: ChildProcess;
  origin: string;
  port: number;
  dataDir: string;
  ca: string;
  /** Everything the process printed (stdout and stderr). */
  output(): string;
  alive(): boolean;
  /** SIGTERM and wait for exit; a data directory the emulator was started on without being given one is removed. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

export function newDataDir(prefix = 'kv-robust-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startChild(options: { dataDir?: string; args?: string[] } = {}): Promise<ChildEmulator> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does).`);
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? newDataDir();
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dataDir, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`the emulator did not start:\n${output}`)), 20_000);
    const onData = () => {
      const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the emulator exited (${code ?? signal}):\n${output}`));
    });
  });
  const waitExit = (signal: NodeJS.Signals) =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill(signal);
    });
  return {
    child,
    port,
    origin: `https://localhost:${port}`,
    dataDir,
    ca: readFileSync(join(dataDir, 'ca.pem'), 'utf8'),
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async () => {
      await waitExit('SIGTERM');
      if (ownsDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    kill: () => waitExit('SIGKILL'),
  };
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: Agent;
  /** Fail (reject) if no complete answer arrives within this many milliseconds. */
  timeoutMs?: number;
}

/** One HTTPS request trusting the emulator's CA. Rejects on a network error or a hang. */
export function call(emulator: Pick<ChildEmulator, 'origin' | 'ca'>, path: string, options: CallOptions = {}): Promise<Answer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolveAnswer, reject) => {
    const req = httpsRequest(
      `${emulator.origin}${path}`,
      {
        method: options.method ?? 'GET',
        ca: emulator.ca,
        // The certificate is checked for localhost whatever Host header a test sends.
        servername: 'localhost',
        headers: { ...(options.body !== undefined && { 'content-length': String(Buffer.byteLength(options.body)) }), ...options.headers },
        ...(options.agent && { agent: options.agent }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(timer);
          resolveAnswer({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms: ${options.method ?? 'GET'} ${path}`));
    }, timeoutMs);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}

/** A bearer token for the default managed identity, from the emulator's App Service token endpoint. */
export async function bearerToken(emulator: ChildEmulator): Promise<string> {
  const identityHeader = readFileSync(join(emulator.dataDir, 'identity-header'), 'utf8').trim();
  const res = await call(emulator, '/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net', {
    headers: { 'x-identity-header': identityHeader },
  });
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${res.text}`);
  return (JSON.parse(res.text) as { access_token: string }).access_token;
}

/** Error codes of the Key Vault envelope the emulator may answer with. */
export const ENVELOPE_CODES = new Set([
  'BadParameter',
  'Unauthorized',
  'Forbidden',
  'SecretNotFound',
  'NotFound',
  'MethodNotAllowed',
  'Conflict',
  'NotSupported',
  'Throttled',
  'UnsupportedMediaType',
  'RequestEntityTooLarge',
  'Malformed backup blob',
  'ServiceUnavailable',
  'RequestTimeout',
]);

/**
 * Why `answer` is not a well-formed Key Vault error ({error:{code,message,innererror?}}, JSON content
 * type), or undefined if it is one.
 */
export function envelopeProblem(answer: Answer): string | undefined {
  const type = String(answer.headers['content-type'] ?? '');
  if (!type.startsWith('application/json')) return `content-type is '${type}'`;
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    return `body is not JSON: ${answer.text.slice(0, 200)}`;
  }
  const error = (body as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || Object.keys(body).length !== 1 || !error || typeof error !== 'object') return `not an envelope: ${answer.text.slice(0, 200)}`;
  if (typeof error.code !== 'string' || !ENVELOPE_CODES.has(error.code)) return `unknown code ${String(error.code)}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'message missing';
  const extra = Object.keys(error).filter((k) => !['code', 'message', 'innererror'].includes(k));
  if (extra.length > 0) return `unexpected fields ${extra.join(', ')}`;
  if (error.innererror !== undefined && typeof (error.innererror as { code?: unknown }).code !== 'string') return 'innererror without code';
  return undefined;
}
