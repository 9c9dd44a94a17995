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
