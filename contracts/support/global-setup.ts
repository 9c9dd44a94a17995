// Starts the emulator once for the whole contract suite, as a user would: the real CLI, a real HTTPS
// port, a fresh data directory. When KV_CONTRACT_VAULT_URL is set the suite targets that real vault
// instead and no emulator is started.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { setupContainerTarget } from './container-target.js';

export const CLI = resolve(import.meta.dirname, '../../emulator/dist/cli.mjs');
export const RESOLVER = resolve(import.meta.dirname, '../../emulator/dist/localhost-resolver.cjs');

export interface StartedEmulator {
  child: ChildProcess;
  origin: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** Spawns `kv-emulator start` on a free port and waits for its banner. */
export async function startEmulator(extraArgs: string[] = [], dataDir = mkdtempSync(join(tmpdir(), 'kv-contract-'))): Promise<StartedEmulator> {
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dataDir, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let output = '';
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      // The listen address is a name, an IPv4 address or a bracketed IPv6 one (--host ::).
      const match = /listening on https:\/\/(?:\[[^\]\s]+\]|[^\s:]+):(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code}:\n${output}`));
    });
  });
  return {
    child,
    port,
    origin: `https://localhost:${port}`,
    dataDir,
    stop: () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

export default async function setup(project: TestProject) {
  if (process.env.KV_CONTRACT_TARGET === 'container') return setupContainerTarget(project, RESOLVER);
  const azureUrl = process.env.KV_CONTRACT_VAULT_URL;
  if (azureUrl) {
    project.provide('kvTarget', { kind: 'azure', vaultUrl: azureUrl.replace(/\/$/, ''), origin: '' });
    console.log(`[contracts] target: real Azure Key Vault ${azureUrl}`);
    return;
  }
  const emulator = await startEmulator();
  // A first start makes its token-signing key after it listens; private emulators share it (target.ts).
  const signingKey = join(emulator.dataDir, 'token-signing-key.json');
  for (let i = 0; i < 500 && !existsSync(signingKey); i++) await new Promise((r) => setTimeout(r, 20));
  // Workers start after global setup and inherit this environment: the CA for TLS, and the App
  // Service managed-identity variables DefaultAzureCredential picks up.
  process.env.NODE_EXTRA_CA_CERTS = join(emulator.dataDir, 'ca.pem');
  // What `kv-emulator env` adds: resolve <vault>.vault.localhost to loopback without a hosts entry.
  process.env.NODE_OPTIONS = `--require "${RESOLVER}"`;
  process.env.IDENTITY_ENDPOINT = `${emulator.origin}/msi/token`;
  process.env.IDENTITY_HEADER = readFileSync(join(emulator.dataDir, 'identity-header'), 'utf8').trim();
  project.provide('kvTarget', {
    kind: 'emulator',
    vaultUrl: `https://contracts.vault.localhost:${emulator.port}`,
    origin: emulator.origin,
    dataDir: emulator.dataDir,
  });
  console.log(`[contracts] target: emulator at ${emulator.origin} (data in ${emulator.dataDir})`);
  return async () => {
    await emulator.stop();
    rmSync(emulator.dataDir, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** `container`: the emulator image (admin API with adminKey); `unavailable`: that target without a Docker engine. */
    kvTarget: { kind: 'emulator' | 'container' | 'azure' | 'unavailable'; vaultUrl: string; origin: string; dataDir?: string; adminKey?: string; reason?: string };
  }
}
