// docker-compose.yml is the walkthrough users copy, so it is checked without Docker: parsed, and every
// cross-reference verified (the vault alias matches the app's vault name, the seeded secret points at
// the SQL Server service with its password, the identity holds only Key Vault Secrets User, the CA
// reaches the app through its own volume); the emulator CLI must accept compose/emulator.json. With a
// Docker engine and the compose plugin, `docker compose up` runs for real and / must say healthy.
import sql from 'mssql';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SecretClient } from '@azure/keyvault-secrets';
import { containerRuntimeStatus, emulatorAgent, EmulatorManagedIdentityCredential } from '@kv-emulator/testcontainers';
import { settingsFrom } from '../src/settings.js';
import { startEmulatorProcess } from './support/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');
const run = promisify(execFile);

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  sysctls?: Record<string, string>;
  networks?: { default?: { aliases?: string[] } };
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}
interface EmulatorFile {
  identityHeader: string;
  vaults: Array<{ name: string; secrets: Array<{ name: string; value: string }> }>;
  identities: { managedIdentities: Array<{ name: string; systemAssigned?: boolean }> };
  roleAssignments: Array<{ principal: string; role: string; scope: string }>;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;
const { sqlserver, keyvault, app } = compose.services as Record<'sqlserver' | 'keyvault' | 'app', Service>;
const copier = compose.services['keyvault-ca']!;

/** `volume:/path[:ro]` → { source, target, readOnly }. */
function mounts(service: Service) {
  return (service.volumes ?? []).map((entry) => {
    const [source, target, mode] = entry.split(':');
    return { source: source!, target: target!, readOnly: mode === 'ro' };
  });
}

const configMount = mounts(keyvault).find((m) => m.target === keyvault.command![keyvault.command!.indexOf('--config') + 1]);
const emulatorFile = JSON.parse(readFileSync(join(ROOT, configMount?.source ?? 'missing'), 'utf8')) as EmulatorFile;
const vaultName = app.environment!.KEY_VAULT_NAME!;

describe('docker-compose.yml', () => {
  it('has SQL Server, the emulator, the CA copier and the app, built from this repository', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'keyvault', 'keyvault-ca', 'sqlserver']);
    expect(sqlserver.image).toMatch(/^mcr\.microsoft\.com\/mssql\/server:/);
    expect(sqlserver.environment).toMatchObject({ ACCEPT_EULA: 'Y' });
    expect(sqlserver.healthcheck?.test.join(' ')).toContain('SELECT 1');
    expect(keyvault.build).toEqual({ context: '.', dockerfile: 'emulator/Dockerfile' });
    expect(app.build).toEqual({ context: '.', dockerfile: 'sample-app/Dockerfile' });
    for (const service of [keyvault, app]) expect(existsSync(join(ROOT, service.build!.context, service.build!.dockerfile))).toBe(true);
  });

  it('gives the emulator the alias <vault>.vault.azure.net on port 443, so the app keeps its Azure vault URL', () => {
    expect(keyvault.networks?.default?.aliases).toContain(`${vaultName}.vault.azure.net`);
    expect(settingsFrom(app.environment!).vaultUrl).toBe(`https://${vaultName}.vault.azure.net`);
    expect(keyvault.environment?.KV_EMULATOR_PORT).toBe('443');
    expect(keyvault.sysctls?.['net.ipv4.ip_unprivileged_port_start']).toBe('0');
    const identityEndpoint = new URL(app.environment!.IDENTITY_ENDPOINT!);
    expect(identityEndpoint.host).toBe(`${vaultName}.vault.azure.net`);
    expect(identityEndpoint.pathname).toBe('/msi/token');
    expect(app.environment!.IDENTITY_HEADER).toBe(emulatorFile.identityHeader);
  });

  it('seeds the vault with a connection string that points at the sqlserver service and its password', () => {
    const vault = emulatorFile.vaults.find((v) => v.name === vaultName);
    const secret = vault?.secrets.find((s) => s.name === 'db-connection-string');
    expect(secret).toBeDefined();
    const config = sql.ConnectionPool.parseConnectionString(secret!.value);
    expect(config.server).toBe('sqlserver');
    expect(config.port).toBe(1433);
    expect(config.user).toBe('sa');
    expect(config.password).toBe(sqlserver.environment!.MSSQL_SA_PASSWORD);
    expect(config.options?.trustServerCertificate).toBe(true);
  });

  it("gives the app's managed identity only Key Vault Secrets User on that vault", () => {
    const identities = emulatorFile.identities.managedIdentities;
    expect(identities.filter((i) => i.systemAssigned)).toHaveLength(1);
    const appIdentity = identities.find((i) => i.systemAssigned)!.name;
    expect(emulatorFile.roleAssignments.filter((a) => a.principal === appIdentity)).toEqual([
      { principal: appIdentity, role: 'Key Vault Secrets User', scope: `/vaults/${vaultName}` },
    ]);
  });

  it('shares only the CA with the app, through a volume of its own, after the emulator is healthy', () => {
    const dataVolume = mounts(keyvault).find((m) => m.target === '/data');
    expect(dataVolume).toBeDefined();
    const caVolume = mounts(copier).find((m) => !m.readOnly);
    expect(caVolume).toBeDefined();
    expect(mounts(copier)).toContainEqual({ source: dataVolume!.source, target: '/data', readOnly: true });
    expect(copier.command?.join(' ')).toContain(`cp /data/ca.pem ${caVolume!.target}/ca.pem`);
    const appCa = mounts(app).find((m) => m.source === caVolume!.source);
    expect(appCa?.readOnly).toBe(true);
    expect(mounts(app).some((m) => m.source === dataVolume!.source)).toBe(false);
    expect(app.environment!.NODE_EXTRA_CA_CERTS).toBe(posix.join(appCa!.target, 'ca.pem'));
    expect(copier.depends_on).toEqual({ keyvault: { condition: 'service_healthy' } });
    expect(app.depends_on).toEqual({ 'keyvault-ca': { condition: 'service_completed_successfully' } });
    for (const named of [dataVolume!.source, caVolume!.source]) expect(compose.volumes).toHaveProperty(named);
  });

  it('publishes the app on the port it listens on', () => {
    expect(app.ports).toEqual([`\${APP_PORT:-8080}:${app.environment!.PORT}`]);
  });

  it('has an emulator config the emulator accepts, under which the app identity may read the secret and nothing more', async () => {
    const emulator = await startEmulatorProcess(emulatorFile);
    const agent = emulatorAgent({ ca: emulator.caPem, host: '127.0.0.1' });
    try {
      expect(emulator.env.IDENTITY_HEADER).toBe(app.environment!.IDENTITY_HEADER);
      // The system-assigned identity, as the app gets it with no client id.
      const credential = new EmulatorManagedIdentityCredential({ endpoint: emulator.env.IDENTITY_ENDPOINT!, identityHeader: emulator.env.IDENTITY_HEADER!, agent });
      const client = new SecretClient(`https://${vaultName}.vault.localhost:${emulator.port}`, credential, { agent });
      const seeded = emulatorFile.vaults.find((v) => v.name === vaultName)!.secrets.find((s) => s.name === 'db-connection-string')!;
      expect((await client.getSecret('db-connection-string')).value).toBe(seeded.value);
      await expect(client.setSecret('db-connection-string', 'changed')).rejects.toMatchObject({ statusCode: 403 });
    } finally {
      agent.destroy();
      await emulator.stop();
    }
  });
});

async function composeUnavailable(): Promise<string | undefined> {
  const status = await containerRuntimeStatus();
  if (!status.available) return status.reason;
  try {
    await run('docker', ['compose', 'version']);
    return undefined;
  } catch (error) {
    return `the docker compose plugin is missing: ${(error as Error).message.split('\n')[0]}`;
  }
}

const reason = await composeUnavailable();
if (reason) console.log(`[sample-app] skipped "docker compose up": ${reason}`);

describe.skipIf(reason !== undefined)('docker compose up', () => {
  const project = `kv-sample-${process.pid}`;
  const env = { ...process.env, APP_PORT: '18080', KEYVAULT_PORT: '18443' };
  const compose = (...args: string[]) => run('docker', ['compose', '-p', project, '-f', join(ROOT, 'docker-compose.yml'), ...args], { env, cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const workDir = mkdtempSync(join(tmpdir(), 'kv-compose-'));

  afterAll(async () => {
    await compose('down', '--volumes', '--remove-orphans').catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  }, 120_000);

  it('answers healthy on localhost once SQL Server is up', async () => {
    await compose('up', '--build', '--detach');
    let last: { status: number; body: string } | undefined;
    for (let attempt = 0; attempt < 90; attempt++) {
      last = await fetch('http://127.0.0.1:18080/').then(
        async (r) => ({ status: r.status, body: await r.text() }),
        () => undefined,
      );
      if (last?.status === 200) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    if (last?.status !== 200) console.log((await compose('logs', '--no-color')).stdout);
    expect(last).toEqual({ status: 200, body: '{"status":"healthy"}' });
    const logs = (await compose('logs', '--no-color', 'app')).stdout;
    expect(logs).not.toContain('Local-Only-Passw0rd!');
  }, 600_000);
});
