// Builds an emulator for HTTP tests: real SQLite in memory, a controllable clock, generated keys in a
// temporary directory, no listening socket (use app.inject) unless a test listens itself.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type BuildOptions, type Emulator } from '../../src/app.js';
import { resolveConfig, type EmulatorConfig } from '../../src/config.js';
import { loadMaterial, type Material } from '../../src/data-dir.js';
import { ControllableClock } from '../../src/vault/clock.js';

let material: Promise<Material> | undefined;

/** Keys and certificates are slow to make: share one set across a test file. */
export function sharedMaterial(): Promise<Material> {
  return (material ??= loadMaterial({ dataDir: mkdtempSync(join(tmpdir(), 'kv-test-')), persist: true }));
}

export interface TestEmulator extends Emulator {
  /** A valid bearer token for the default managed identity. */
  token(): Promise<string>;
}

export async function testEmulator(config: Partial<EmulatorConfig> = {}, options: { https?: boolean; limits?: BuildOptions['limits'] } = {}): Promise<TestEmulator> {
  const clock = new ControllableClock();
  const emulator = await buildApp(resolveConfig({ inMemory: true, logLevel: 'silent' }, config), {
    clock,
    material: await sharedMaterial(),
    https: options.https ?? false,
    ...(options.limits && { limits: options.limits }),
  });
  return {
    ...emulator,
    token: async () => {
      const { SYSTEM_ASSIGNED_IDENTITY } = await import('../../src/identity/principals.js');
      const issued = await emulator.tokens.issue({ audience: 'https://vault.azure.net', oid: SYSTEM_ASSIGNED_IDENTITY.objectId, appid: SYSTEM_ASSIGNED_IDENTITY.clientId });
      return issued.token;
    },
  };
}

/** What a request answered: its status, headers and body (parsed as JSON when there is one). */
export interface Reply {
  status: number;
  headers: Record<string, unknown>;
  body: any;
}

export interface InjectOptions {
  token?: string;
  host?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is, instead of `body`. */
  raw?: string;
  headers?: Record<string, string>;
}

/**
 * A request to the emulator in-process (Fastify's inject), as a client sends it: a Host header (the
 * vault it names), a bearer token, a JSON body (content-type application/json unless `headers` says
 * otherwise).
 */
export async function injectJson(emu: Emulator, method: string, url: string, options: InjectOptions = {}, defaultHost = 'localhost:8443'): Promise<Reply> {
  const headers: Record<string, string> = { host: options.host ?? defaultHost, ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const res = await emu.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined && { payload }) });
  return { status: res.statusCode, headers: res.headers, body: res.body ? JSON.parse(res.body) : undefined };
}

/** An admin API call in-process (`path` after /_emulator); an answer of 300 or more throws. */
export async function injectAdmin(emu: Emulator, method: string, path: string, body?: unknown): Promise<any> {
  const res = await emu.app.inject({
    method: method as 'GET',
    url: `/_emulator${path}`,
    ...(body !== undefined && { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
  return res.body ? JSON.parse(res.body) : undefined;
}
