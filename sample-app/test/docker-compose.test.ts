// docker-compose.yml is the walkthrough users copy, so it is checked without Docker: parsed, and every
// cross-reference verified (the vault alias matches the app's vault name, the seeded secret points at
// the SQL Server service with the login sqlserver-init creates, the app's identity holds only Key Vault
// Secrets User and the rotator's only Secrets Officer on that secret, the event subscription reaches the
// rotator service, the CA reaches both through their own volume); the emulator CLI must accept
// compose/emulator.json. With a Docker engine and the compose plugin, `docker compose up` runs for real
// and / must say healthy.
import sql from 'mssql';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get as httpsGet, request as httpsRequest } from 'node:https';
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
  entrypoint?: string[];
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
  adminKey: string;
  vaults: Array<{
    name: string;
    secrets: Array<{ name: string; value: string; expiresInDays?: number }>;
    eventSubscriptions: Array<{ name: string; endpoint: string; includedEventTypes: string[]; subjectBeginsWith?: string; subjectEndsWith?: string }>;
  }>;
  identities: { managedIdentities: Array<{ name: string; systemAssigned?: boolean; clientId?: string }> };
  roleAssignments: Array<{ principal: string; role: string; scope: string }>;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as Compose;
const { sqlserver, keyvault, app, rotator } = compose.services as Record<'sqlserver' | 'keyvault' | 'app' | 'rotator', Service>;
const sqlInit = compose.services['sqlserver-init']!;
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
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'keyvault', 'keyvault-ca', 'rotator', 'sqlserver', 'sqlserver-init']);
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

  it('seeds the vault with a connection string for the login sqlserver-init creates on the sqlserver service', () => {
    const vault = emulatorFile.vaults.find((v) => v.name === vaultName);
    const secret = vault?.secrets.find((s) => s.name === 'db-connection-string');
    expect(secret).toBeDefined();
    const config = sql.ConnectionPool.parseConnectionString(secret!.value);
    expect(config.server).toBe('sqlserver');
    expect(config.port).toBe(1433);
    expect(config.options?.trustServerCertificate).toBe(true);
    // sqlserver-init logs in as sa and creates the app's login with the seeded password.
    expect(sqlInit.image).toBe(sqlserver.image);
    expect(sqlInit.depends_on).toEqual({ sqlserver: { condition: 'service_healthy' } });
    expect(sqlInit.environment!.MSSQL_SA_PASSWORD).toBe(sqlserver.environment!.MSSQL_SA_PASSWORD);
    expect(config.user).toBe(sqlInit.environment!.APP_LOGIN);
    expect(config.password).toBe(sqlInit.environment!.APP_LOGIN_PASSWORD);
    const script = sqlInit.command!.join(' ');
    expect(script).toContain('-S sqlserver -U sa -P "$$MSSQL_SA_PASSWORD"');
    expect(script).toContain("CREATE LOGIN [$$APP_LOGIN] WITH PASSWORD = '$$APP_LOGIN_PASSWORD'");
    // Expiring in 31 days: two days on the emulator clock bring SecretNearExpiry.
    expect(secret!.expiresInDays).toBe(31);
  });

  it('runs the rotator with its own identity, holding only Key Vault Secrets Officer on that secret, subscribed to its expiry', () => {
    expect(rotator.build).toEqual(app.build);
    expect(rotator.command).toEqual(['node', '/app/sample-app/dist/rotator.js']);
    const identity = emulatorFile.identities.managedIdentities.find((i) => i.clientId === rotator.environment!.AZURE_CLIENT_ID);
    expect(identity).toBeDefined();
    expect(identity!.systemAssigned).toBeUndefined();
    expect(emulatorFile.roleAssignments.filter((a) => a.principal === identity!.name)).toEqual([
      { principal: identity!.name, role: 'Key Vault Secrets Officer', scope: `/vaults/${vaultName}/secrets/${rotator.environment!.DB_SECRET_NAME}` },
    ]);
    expect(rotator.environment).toMatchObject({ KEY_VAULT_NAME: vaultName, IDENTITY_ENDPOINT: app.environment!.IDENTITY_ENDPOINT, IDENTITY_HEADER: emulatorFile.identityHeader, NODE_EXTRA_CA_CERTS: app.environment!.NODE_EXTRA_CA_CERTS });
    expect(mounts(rotator)).toEqual(mounts(app));
    expect(rotator.depends_on).toEqual({ 'keyvault-ca': { condition: 'service_completed_successfully' }, 'sqlserver-init': { condition: 'service_completed_successfully' } });
    const [subscription] = emulatorFile.vaults.find((v) => v.name === vaultName)!.eventSubscriptions;
    const endpoint = new URL(subscription!.endpoint);
    expect(endpoint.hostname).toBe('rotator');
    expect(endpoint.port).toBe(rotator.environment!.PORT);
    expect(endpoint.pathname).toBe('/api/events');
    expect(subscription!.includedEventTypes).toContain('Microsoft.KeyVault.SecretNearExpiry');
    expect([subscription!.subjectBeginsWith, subscription!.subjectEndsWith]).toEqual([rotator.environment!.DB_SECRET_NAME, rotator.environment!.DB_SECRET_NAME]);
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
      // The rotator's identity reads and writes that secret and nothing else.
      const rotatorCredential = new EmulatorManagedIdentityCredential({ endpoint: emulator.env.IDENTITY_ENDPOINT!, identityHeader: emulator.env.IDENTITY_HEADER!, agent, clientId: rotator.environment!.AZURE_CLIENT_ID! });
      const rotatorClient = new SecretClient(`https://${vaultName}.vault.localhost:${emulator.port}`, rotatorCredential, { agent });
      const read = await rotatorClient.getSecret('db-connection-string');
      expect(read.value).toBe(seeded.value);
      expect(read.properties.expiresOn!.getTime() - Date.now()).toBeGreaterThan(30 * 86_400_000);
      await expect(rotatorClient.setSecret('other-secret', 'x')).rejects.toMatchObject({ statusCode: 403 });
      // The subscription to the rotator waits for its endpoint (not running here) to pass the handshake.
      const listed = await new Promise<string>((done, fail) =>
        httpsGet(`${emulator.origin}/_emulator/vaults/${vaultName}/eventSubscriptions`, { ca: emulator.caPem }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => done(text));
        }).on('error', fail),
      );
      expect(JSON.parse(listed).value).toMatchObject([{ name: 'rotate-db-password', origin: 'config', provisioningState: 'AwaitingValidation', endpointBaseUrl: 'http://rotator:8080/api/events' }]);
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

  it('rotates the database password when the emulator clock moves two days, and the app stays healthy', async () => {
    // The walkthrough's clock move, with the admin key (a published port is not loopback inside the container).
    const moved = await new Promise<number>((done, fail) => {
      const req = httpsRequest('https://localhost:18443/_emulator/clock', { method: 'PUT', rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'x-kv-emulator-admin-key': emulatorFile.adminKey } }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
      });
      req.on('error', fail);
      req.end(JSON.stringify({ advanceSeconds: 2 * 86_400 }));
    });
    expect(moved).toBe(200);
    let logs = '';
    for (let attempt = 0; attempt < 60 && !/Rotated 'db-connection-string'/.test(logs); attempt++) {
      await new Promise((r) => setTimeout(r, 2000));
      logs = (await compose('logs', '--no-color', 'rotator')).stdout;
    }
    expect(logs).toMatch(/Changed the password of SQL login 'healthapp'/);
    expect(logs).toMatch(/Rotated 'db-connection-string': new version [0-9a-f]{32}/);
    expect(logs).not.toContain('Local-Only-App-Passw0rd1');
    expect(await fetch('http://127.0.0.1:18080/').then((r) => r.status)).toBe(200);
  }, 300_000);
});
