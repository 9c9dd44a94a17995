// Helpers for contract tests that sign in with principals of the emulator's own directory (emulator
// only): tenant facts, principals and role assignments made through the admin API and removed after the
// file, real @azure/identity credentials pointed at the emulator's authority, and a way to run the
// credential probe as a separate process with a given environment.
import { ClientSecretCredential } from '@azure/identity';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll } from 'vitest';
import { CLI } from './global-setup.js';
import { admin, target, uniqueName } from './target.js';

export const PROBE = resolve(import.meta.dirname, 'credential-probe.mjs');

export interface EmulatorInfo {
  tenantId: string;
  subscriptionId: string;
  resourceGroup: string;
  identityEndpoint: string;
  identityHeader: string;
}

let infoPromise: Promise<EmulatorInfo> | undefined;
export function emulatorInfo(): Promise<EmulatorInfo> {
  return (infoPromise ??= admin<EmulatorInfo>('/info'));
}

export interface TestPrincipal {
  name: string;
  kind: 'servicePrincipal' | 'managedIdentity' | 'user';
  objectId: string;
  clientId: string;
  resourceId?: string;
  clientSecret?: string;
}

/**
 * Creates principals through the admin API under unique names and deletes them (with everything they
 * were granted) after the file's tests.
 */
export function principals() {
  const created: string[] = [];
  afterAll(async () => {
    await Promise.all(created.map((name) => admin(`/identities/${name}`, { method: 'DELETE' }).catch(() => undefined)));
  });
  async function create(prefix: string, body: Record<string, unknown>): Promise<TestPrincipal> {
    const name = uniqueName(prefix);
    const principal = await admin<TestPrincipal>(`/identities/${name}`, { method: 'PUT', body });
    created.push(name);
    return { ...principal, ...(typeof body.clientSecret === 'string' && { clientSecret: body.clientSecret }) };
  }
  return {
    servicePrincipal: (prefix: string, body: Record<string, unknown> = {}) =>
      create(prefix, { kind: 'servicePrincipal', clientSecret: `secret-${Math.random().toString(36).slice(2)}`, ...body }),
    managedIdentity: (prefix: string) => create(prefix, { kind: 'managedIdentity' }),
  };
}

/** Assigns a role; returns the assignment id. */
export async function assignRole(principal: TestPrincipal, role: string, scope: string): Promise<string> {
  return (await admin<{ id: string }>('/roleAssignments', { method: 'POST', body: { principal: principal.objectId, role, scope } })).id;
}

/** ClientSecretCredential against the emulator's authority: the tenant form (needs disableInstanceDiscovery) or AD FS. */
export async function secretCredential(principal: TestPrincipal, form: 'tenant' | 'adfs' = 'tenant'): Promise<ClientSecretCredential> {
  if (form === 'adfs') return new ClientSecretCredential('adfs', principal.clientId, principal.clientSecret!, { authorityHost: target.origin });
  const { tenantId } = await emulatorInfo();
  return new ClientSecretCredential(tenantId, principal.clientId, principal.clientSecret!, { authorityHost: target.origin, disableInstanceDiscovery: true });
}

/** The claims of a token, unverified (to see who a credential signed in as). */
export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

export interface ProbeResult {
  value?: string;
  oid?: string;
  appid?: string;
  error?: string;
}

/** Per credential name, what the probe saw. */
export type ProbeResults = Record<string, ProbeResult>;

/** A clean environment for a child process: no credential variables inherited from the test worker. */
export function bareEnvironment(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT'];
  return { ...Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!])), ...extra };
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<ProbeResults> {
  return new Promise((done, fail) => {
    execFile(file, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        done(JSON.parse(line) as ProbeResults);
      } catch {
        fail(new Error(`probe printed no result (${error?.message ?? 'exit 0'}):\n${stdout}\n${stderr}`));
      }
    });
  });
}

/** Runs the probe for the named credentials with exactly `env` (plus PATH/HOME). */
export function probeWith(env: Record<string, string>, vaultUrl: string, credentials: string[]): Promise<ProbeResults> {
  return run(process.execPath, [PROBE, vaultUrl, uniqueName('probe'), ...credentials], bareEnvironment(env));
}

/** Runs the probe in a shell that first evaluates what `kv-emulator env [args]` prints, as a user would. */
export function probeAfterEnv(envArgs: string[], vaultUrl: string, credentials: string[]): Promise<ProbeResults> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const envCommand = [process.execPath, CLI, 'env', '--url', target.origin, ...envArgs].map(quote).join(' ');
  const probe = [process.execPath, PROBE, vaultUrl, uniqueName('probe'), ...credentials].map(quote).join(' ');
  // An emulator in a container sees the CLI as a non-loopback caller: it needs the admin key.
  const adminKey: Record<string, string> = target.adminKey === undefined ? {} : { KV_EMULATOR_ADMIN_KEY: target.adminKey };
  return run('/bin/sh', ['-c', `eval "$(${envCommand})" && exec ${probe}`], bareEnvironment(adminKey));
}
