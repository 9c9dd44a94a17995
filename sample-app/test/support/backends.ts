// The two worlds the sample app's tests run in, behind one shape:
//  - "emulator + TDS double" (always): the emulator started through its CLI and the fake TDS server;
//  - "containers" (with a Docker engine): the emulator image through @kv-emulator/testcontainers and
//    SQL Server through @testcontainers/mssqlserver (behind a TCP relay the test can switch off).
// Each gives a database the test can stop, start and rotate the password of, and a Key Vault the app
// reaches through its managed identity while an operator identity writes new secret versions.
import { SecretClient } from '@azure/keyvault-secrets';
import { containerRuntimeStatus, emulatorAgent, EmulatorManagedIdentityCredential, KeyVaultEmulatorContainer, type EmulatorConfigFile } from '@kv-emulator/testcontainers';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FakeTdsServer } from './fake-tds-server.js';
import { LOCALHOST_RESOLVER, startEmulatorProcess } from './processes.js';
import { TcpProxy } from './tcp-proxy.js';

export const SECRET_NAME = 'db-connection-string';
/** The vault where the app's identity holds Key Vault Secrets User. */
export const APP_VAULT = 'health';
/** A vault where it holds no role. */
export const LOCKED_VAULT = 'locked';
export const APP_IDENTITY = { name: 'health-app', clientId: '3b7d2c1e-8f4a-4b6c-9d2e-1a0b9c8d7e6f', objectId: '6e5d4c3b-2a19-4f8e-8d7c-6b5a49382716' };
export const OPERATOR_IDENTITY = { name: 'health-operator', clientId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', objectId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d' };

/** The emulator config of the tests: both vaults hold the connection string; only `health` lets the app read it. */
export function scenarioConfig(connectionString: string): EmulatorConfigFile {
  const secret = { name: SECRET_NAME, value: connectionString, contentType: 'text/plain' };
  return {
    defaultVault: APP_VAULT,
    vaults: [
      { name: APP_VAULT, secrets: [secret] },
      { name: LOCKED_VAULT, secrets: [secret] },
    ],
    identities: {
      managedIdentities: [
        { ...APP_IDENTITY, systemAssigned: true },
        { ...OPERATOR_IDENTITY },
      ],
    },
    roleAssignments: [
      { principal: APP_IDENTITY.name, role: 'Key Vault Secrets User', scope: `/vaults/${APP_VAULT}` },
      { principal: OPERATOR_IDENTITY.name, role: 'Key Vault Secrets Officer', scope: '/' },
    ],
  };
}

export interface TestDatabase {
  /** Connection string with the current password, as the app would be given it. */
  connectionString(): string;
  /** Secret values that must never appear in the app's output. */
  secrets(): string[];
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Sets a new password for the app's login and ends its open sessions. */
  rotatePassword(): Promise<void>;
  close(): Promise<void>;
}

export interface TestVault {
  vaultUrl(vault: string): string;
  /** Variables the app process needs to reach this vault with its managed identity (no KEY_VAULT_*). */
  appEnv: Record<string, string>;
  /** A client holding Key Vault Secrets Officer, to write new secret versions. */
  operator(vault: string): SecretClient;
  close(): Promise<void>;
}

export interface Backend {
  name: string;
  /** Why it cannot run here, or undefined. */
  unavailable(): Promise<string | undefined>;
  startDatabase(): Promise<TestDatabase>;
  startVault(config: EmulatorConfigFile): Promise<TestVault>;
}

const newPassword = () => `Pw-${randomBytes(9).toString('base64url')}1a!`;

export const emulatorWithTdsDouble: Backend = {
  name: 'emulator CLI + TDS test double',
  unavailable: async () => undefined,
  async startDatabase() {
    const db = await new FakeTdsServer({ user: 'healthapp', password: newPassword() }).start();
    const used: string[] = [];
    return {
      connectionString: () => db.connectionString(),
      secrets: () => [...used, db.connectionString()],
      stop: () => db.stop(),
      start: async () => {
        await db.start();
      },
      rotatePassword: async () => {
        used.push(db.connectionString());
        db.rotatePassword(newPassword());
      },
      close: () => db.stop(),
    };
  },
  async startVault(config) {
    const emulator = await startEmulatorProcess(config);
    const agent = emulatorAgent({ ca: emulator.caPem, host: '127.0.0.1' });
    const credential = new EmulatorManagedIdentityCredential({
      endpoint: `${emulator.origin}/msi/token`,
      identityHeader: emulator.identityHeader,
      agent,
      clientId: OPERATOR_IDENTITY.clientId,
    });
    const { KEY_VAULT_URL: _url, AZURE_KEYVAULT_URL: _azureUrl, KV_EMULATOR_URL: _emulatorUrl, ...appEnv } = emulator.env;
    return {
      vaultUrl: (vault) => `https://${vault}.vault.localhost:${emulator.port}`,
      appEnv,
      operator: (vault) => new SecretClient(`https://${vault}.vault.localhost:${emulator.port}`, credential, { agent }),
      close: async () => {
        agent.destroy();
        await emulator.stop();
      },
    };
  },
};

const ROOT = resolve(import.meta.dirname, '../../..');
export const SQL_SERVER_IMAGE = 'mcr.microsoft.com/mssql/server:2022-latest';
let emulatorImage: Promise<string> | undefined;

/** The emulator image: KV_EMULATOR_IMAGE if set, else built from this checkout once per run. */
export function emulatorImageForTests(): Promise<string> {
  return (emulatorImage ??= process.env.KV_EMULATOR_IMAGE
    ? Promise.resolve(process.env.KV_EMULATOR_IMAGE)
    : KeyVaultEmulatorContainer.buildImage({ context: ROOT, image: 'kv-emulator:test' }));
}

export const containers: Backend = {
  name: 'emulator image + SQL Server (Testcontainers)',
  async unavailable() {
    const status = await containerRuntimeStatus();
    return status.available ? undefined : status.reason;
  },
  async startDatabase() {
    const [{ MSSQLServerContainer }, { default: sql }] = await Promise.all([import('@testcontainers/mssqlserver'), import('mssql')]);
    const container = await new MSSQLServerContainer(SQL_SERVER_IMAGE).acceptLicense().start();
    const admin = await new sql.ConnectionPool({
      server: container.getHost(),
      port: container.getPort(),
      user: 'sa',
      password: container.getPassword(),
      options: { encrypt: true, trustServerCertificate: true },
    }).connect();
    let password = newPassword();
    await admin.request().batch(`CREATE LOGIN healthapp WITH PASSWORD = '${password}', CHECK_POLICY = OFF`);
    const proxy = await new TcpProxy(container.getHost(), container.getPort()).start();
    const used: string[] = [];
    const connectionString = () =>
      `Server=127.0.0.1,${proxy.port};Database=master;User Id=healthapp;Password=${password};Encrypt=true;TrustServerCertificate=true;Connect Timeout=10`;
    return {
      connectionString,
      secrets: () => [...used, connectionString(), password],
      stop: () => proxy.stop(),
      start: async () => {
        await proxy.start();
      },
      rotatePassword: async () => {
        used.push(connectionString(), password);
        password = newPassword();
        await admin.request().batch(`ALTER LOGIN healthapp WITH PASSWORD = '${password}'`);
        const sessions = await admin.request().query<{ session_id: number }>("SELECT session_id FROM sys.dm_exec_sessions WHERE login_name = 'healthapp'");
        for (const { session_id } of sessions.recordset) await admin.request().batch(`KILL ${Number(session_id)}`);
      },
      close: async () => {
        await proxy.stop();
        await admin.close();
        await container.stop();
      },
    };
  },
  async startVault(config) {
    const image = await emulatorImageForTests();
    const emulator = await new KeyVaultEmulatorContainer(image).withConfig(config).start();
    const dir = mkdtempSync(join(tmpdir(), 'kv-sample-ca-'));
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, emulator.getCaCertificate());
    const credential = emulator.getCredential({ clientId: OPERATOR_IDENTITY.clientId });
    return {
      vaultUrl: (vault) => emulator.getVaultUrl(vault),
      appEnv: {
        NODE_EXTRA_CA_CERTS: caFile,
        // The published port is on this machine: resolve <vault>.vault.localhost to loopback.
        NODE_OPTIONS: `--require "${LOCALHOST_RESOLVER}"`,
        IDENTITY_ENDPOINT: emulator.getIdentityEndpoint(),
        IDENTITY_HEADER: emulator.getIdentityHeader(),
      },
      operator: (vault) => new SecretClient(emulator.getVaultUrl(vault), credential, emulator.getClientOptions()),
      close: async () => {
        await emulator.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
