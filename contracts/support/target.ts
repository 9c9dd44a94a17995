// What a contract test needs to know about its target: the vault URL, a credential, a client, unique
// names, cleanup, and whether emulator-only controls (clock, admin API) are available. The same tests
// run against the emulator (default) and a real vault (KV_CONTRACT_VAULT_URL + Azure credentials).
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type StartedEmulator } from './global-setup.js';

export const target = inject('kvTarget');
/** The emulator as a local process or as its container image: emulator-only controls are available. */
export const onEmulator = target.kind === 'emulator' || target.kind === 'container';

// The container target without a Docker engine: global setup printed why; every test says so too.
if (target.kind === 'unavailable') beforeEach((context) => context.skip(target.reason));

const runId = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let counter = 0;

/** A secret name unique to this run (Key Vault names: letters, digits, hyphens). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${runId}-${counter}`;
}

let sharedCredential: TokenCredential | undefined;
export function credential(): TokenCredential {
  return (sharedCredential ??= new DefaultAzureCredential());
}

export function client(vaultUrl = target.vaultUrl, options: SecretClientOptions = {}): SecretClient {
  return new SecretClient(vaultUrl, credential(), options);
}

/** URL of another vault of the same emulator (emulator only: a real run has one vault). */
export function otherVaultUrl(name: string): string {
  if (!onEmulator) throw new Error('otherVaultUrl is emulator-only');
  return `https://${name}.vault.localhost:${new URL(target.origin).port}`;
}

/** Says why a test is skipped on this target, once, in the output. */
export function skipReason(needsEmulator: string): boolean {
  if (onEmulator) return false;
  if (target.kind === 'unavailable') return true;
  console.log(`[contracts] skipped on Azure: ${needsEmulator}`);
  return true;
}

/** Calls the admin API of the emulator at `origin`. */
async function adminAt<T>(origin: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${origin}/_emulator${path}`, {
    method: init.method ?? 'GET',
    headers: {
      // The container target is not a loopback caller: the admin API wants its key.
      ...(target.adminKey !== undefined && { 'x-kv-emulator-admin-key': target.adminKey }),
      ...(init.body !== undefined && { 'content-type': 'application/json' }),
    },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Calls the main emulator's admin API (emulator only). */
export async function admin<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  if (!onEmulator) throw new Error('admin API is emulator-only');
  return adminAt<T>(target.origin, path, init);
}

/**
 * Registers secrets to remove after the file's tests: delete, then purge where the vault allows it,
 * so real-vault runs leave nothing behind.
 */
export function cleanupAfterAll(secretClient: SecretClient = client()): (name: string) => string {
  const names = new Set<string>();
  afterAll(async () => {
    for (const name of names) {
      try {
        await (await secretClient.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
      } catch {
        // already deleted or never created
      }
      try {
        await secretClient.purgeDeletedSecret(name);
      } catch {
        // purge protection, or already purged
      }
    }
  }, 120_000);
  return (name: string) => {
    names.add(name);
    return name;
  };
}

export interface PrivateEmulator {
  origin: string;
  vaultUrl(vault: string): string;
  admin<T = unknown>(path: string, init?: { method?: string; body?: unknown }): Promise<T>;
}

/**
 * An emulator of this test file's own (emulator only), for tests that move its clock or change
 * settings other files must not see. It shares the main emulator's CA, token-signing key and identity
 * secrets (same data directory, --in-memory), so the suite's credential works against it unchanged.
 */
export function privateEmulator(extraArgs: string[] = []): PrivateEmulator {
  let started: StartedEmulator | undefined;
  beforeAll(async () => {
    if (!onEmulator) return;
    started = await startEmulator(['--in-memory', ...extraArgs], target.dataDir);
  }, 30_000);
  afterAll(async () => started?.stop());
  const origin = () => {
    if (!started) throw new Error('private emulator not started (emulator only)');
    return started.origin;
  };
  return {
    get origin() {
      return origin();
    },
    vaultUrl: (vault) => `https://${vault}.vault.localhost:${new URL(origin()).port}`,
    admin: <T>(path: string, init: { method?: string; body?: unknown } = {}) => adminAt<T>(origin(), path, init),
  };
}

/**
 * A new, empty data directory holding the main emulator's CA, token-signing key and identity secrets
 * (but not its database), so an emulator started on it accepts the suite's credential (emulator only).
 */
export function dataDirSharingKeys(): string {
  if (!target.dataDir) throw new Error('dataDirSharingKeys is emulator-only');
  const dir = mkdtempSync(join(tmpdir(), 'kv-contract-private-'));
  for (const file of readdirSync(target.dataDir)) {
    if (!file.startsWith('emulator.db')) copyFileSync(join(target.dataDir, file), join(dir, file));
  }
  return dir;
}
