// The `container` target of the contract suite (KV_CONTRACT_TARGET=container): the same tests against
// the emulator image, started with @kv-emulator/testcontainers (KV_EMULATOR_IMAGE, or an image built
// from this checkout). The container's CA, token-signing key and other installation files are copied
// to a local directory, so the suite trusts its certificate and the tests that start private emulator
// processes (clock, restarts, config seeds) share its keys and accept the same tokens. Without a
// Docker engine the target reports why and every test is skipped.
import { containerRuntimeStatus, KeyVaultEmulatorContainer, PRIVATE_NETWORK_RANGES } from '@kv-emulator/testcontainers';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';

/** The installation files a local emulator needs to share the container's trust and keys. */
const SHARED_FILES = ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem', 'token-signing-key.json', 'backup.key'];

export async function setupContainerTarget(project: TestProject, resolverPath: string): Promise<(() => Promise<void>) | undefined> {
  const status = await containerRuntimeStatus();
  if (!status.available) {
    const reason = `container target skipped: ${status.reason}`;
    console.log(`[contracts] ${reason}`);
    project.provide('kvTarget', { kind: 'unavailable', vaultUrl: 'https://unavailable.vault.localhost', origin: '', reason });
    return undefined;
  }
  const image =
    process.env.KV_EMULATOR_IMAGE ?? (await KeyVaultEmulatorContainer.buildImage({ context: resolve(import.meta.dirname, '../..'), image: 'kv-emulator:contracts' }));
  // The suite calls IMDS from this machine (identity-credentials.test.ts, AZURE_POD_IDENTITY_AUTHORITY_HOST):
  // through the published port that is the container network's gateway, not the container's loopback.
  const emulator = await new KeyVaultEmulatorContainer(image).withImdsAllowedSources(...PRIVATE_NETWORK_RANGES).start();
  // A first start makes its token-signing key after it listens: a token exists only once the key is written.
  await emulator.getCredential().getToken('https://vault.azure.net/.default');
  const dataDir = mkdtempSync(join(tmpdir(), 'kv-contract-container-'));
  for (const file of SHARED_FILES) writeFileSync(join(dataDir, file), await emulator.readDataFile(file), { mode: 0o600 });
  writeFileSync(join(dataDir, 'identity-header'), emulator.getIdentityHeader(), { mode: 0o600 });
  writeFileSync(join(dataDir, 'admin.key'), emulator.getAdminKey(), { mode: 0o600 });

  process.env.NODE_EXTRA_CA_CERTS = join(dataDir, 'ca.pem');
  // The published port is on this machine: resolve <vault>.vault.localhost to loopback.
  process.env.NODE_OPTIONS = `--require "${resolverPath}"`;
  process.env.IDENTITY_ENDPOINT = emulator.getIdentityEndpoint();
  process.env.IDENTITY_HEADER = emulator.getIdentityHeader();
  project.provide('kvTarget', {
    kind: 'container',
    vaultUrl: `https://contracts.vault.localhost:${emulator.getPort()}`,
    origin: emulator.getOrigin(),
    dataDir,
    adminKey: emulator.getAdminKey(),
  });
  console.log(`[contracts] target: emulator image ${image} at ${emulator.getOrigin()}`);
  return async () => {
    await emulator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
}
