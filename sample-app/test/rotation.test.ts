// The rotation loop end to end, with real processes and real HTTP deliveries: the emulator (CLI), the
// TDS test double standing in for SQL Server, the health app and the rotator (its own managed identity,
// holding only Key Vault Secrets Officer on the one secret). A secret expiring in 31 days is written; the
// emulator clock moves 2 days; Event Grid's SecretNearExpiry reaches the rotator, which changes the
// database password and writes a new secret version with a new expiry; the old password stops working;
// the health app answers healthy throughout, and picks up the new connection string when its
// connection is cut.
import { SecretClient } from '@azure/keyvault-secrets';
import { emulatorAgent, EmulatorManagedIdentityCredential } from '@kv-emulator/testcontainers';
import sql from 'mssql';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeTdsServer } from './support/fake-tds-server.js';
import { ROTATOR, startApp, startEmulatorProcess, type AppProcess, type EmulatorProcess } from './support/processes.js';

const VAULT = 'health';
const SECRET = 'db-connection-string';
const DAY = 86_400;
const APP = { name: 'health-app', clientId: '3b7d2c1e-8f4a-4b6c-9d2e-1a0b9c8d7e6f', objectId: '6e5d4c3b-2a19-4f8e-8d7c-6b5a49382716' };
const ROTATOR_ID = { name: 'secret-rotator', clientId: '9c8b7a65-4d3e-4f21-8a0b-1c2d3e4f5a6b', objectId: 'b7c6d5e4-f3a2-4b19-8c7d-6e5f4a3b2c1d' };
const OPERATOR = { name: 'operator', clientId: '0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0', objectId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d' };

/** The emulator's admin API over HTTPS, trusting its CA. */
function adminCall(emulator: EmulatorProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${emulator.origin}/_emulator${path}`, { method, ca: emulator.caPem, headers: payload ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('secret rotation on SecretNearExpiry, end to end', () => {
  const firstPassword = `Pw-${randomBytes(9).toString('base64url')}1a!`;
  let db: FakeTdsServer;
  let emulator: EmulatorProcess;
  let app: AppProcess;
  let rotator: AppProcess;
  let operator: SecretClient;
  let agent: ReturnType<typeof emulatorAgent>;

  beforeAll(async () => {
    db = await new FakeTdsServer({ user: 'healthapp', password: firstPassword }).start();
    emulator = await startEmulatorProcess({
      defaultVault: VAULT,
      vaults: [{ name: VAULT }],
      identities: { managedIdentities: [{ ...APP, systemAssigned: true }, ROTATOR_ID, OPERATOR] },
      roleAssignments: [
        { principal: APP.name, role: 'Key Vault Secrets User', scope: `/vaults/${VAULT}` },
        // The rotator may read and write this one secret, nothing else.
        { principal: ROTATOR_ID.name, role: 'Key Vault Secrets Officer', scope: `/vaults/${VAULT}/secrets/${SECRET}` },
        { principal: OPERATOR.name, role: 'Key Vault Secrets Officer', scope: '/' },
      ],
    });
    agent = emulatorAgent({ ca: emulator.caPem, host: '127.0.0.1' });
    const credential = new EmulatorManagedIdentityCredential({ endpoint: `${emulator.origin}/msi/token`, identityHeader: emulator.identityHeader, agent, clientId: OPERATOR.clientId });
    operator = new SecretClient(`https://${VAULT}.vault.localhost:${emulator.port}`, credential, { agent });
    const { KEY_VAULT_URL: _u, AZURE_KEYVAULT_URL: _a, KV_EMULATOR_URL: _e, ...env } = emulator.env;
    const vaultUrl = `https://${VAULT}.vault.localhost:${emulator.port}`;
    rotator = await startApp({ ...env, KEY_VAULT_URL: vaultUrl, DB_SECRET_NAME: SECRET, AZURE_CLIENT_ID: ROTATOR_ID.clientId }, ROTATOR);
    // Subscribed as `az eventgrid event-subscription create` would: the endpoint must pass the handshake.
    const subscribed = await adminCall(emulator, 'PUT', `/vaults/${VAULT}/eventSubscriptions/rotate-db-password`, {
      endpoint: `${rotator.url}/api/events`,
      includedEventTypes: ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'],
      subjectBeginsWith: SECRET,
      subjectEndsWith: SECRET,
    });
    expect(subscribed.status, JSON.stringify(subscribed.json)).toBe(201);
    await rotator.waitForLog(/Answered the Event Grid validation handshake of subscription ROTATE-DB-PASSWORD/);
    const now = (await adminCall(emulator, 'GET', '/clock')).json.nowEpochSeconds as number;
    await operator.setSecret(SECRET, db.connectionString(), { contentType: 'text/plain', tags: { app: 'health' }, expiresOn: new Date((now + 31 * DAY) * 1000) });
    app = await startApp({ ...env, KEY_VAULT_URL: vaultUrl, SECRET_REFRESH_INTERVAL_MS: '0' });
  }, 60_000);

  afterAll(async () => {
    await app?.stop();
    await rotator?.stop();
    agent?.destroy();
    await emulator?.stop();
    await db?.stop();
  });

  it('rotates the database password and the secret when the clock nears the expiry, while the app stays healthy', async () => {
    const before = await operator.getSecret(SECRET);
    expect(await app.health()).toEqual({ status: 200, body: { status: 'healthy' } });
    const statuses: number[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        statuses.push((await app.health()).status);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // One day short of the 30 days: nothing happens.
    await adminCall(emulator, 'PUT', '/clock', { advanceSeconds: DAY - 60 });
    await new Promise((r) => setTimeout(r, 500));
    expect(db.passwordChanges).toBe(0);
    // Two days in all: SecretNearExpiry.
    await adminCall(emulator, 'PUT', '/clock', { advanceSeconds: DAY + 60 });
    const rotated = await eventually(async () => {
      const current = await operator.getSecret(SECRET);
      return current.properties.version !== before.properties.version ? current : undefined;
    }, 'a new version of the secret');
    await rotator.waitForLog(/Rotated 'db-connection-string': new version [0-9a-f]{32}/);

    // The database accepts only the new password, which is the one in the new version.
    expect(db.passwordChanges).toBe(1);
    expect(db.currentPassword).not.toBe(firstPassword);
    expect(rotated.value).toBe(db.connectionString());
    expect(rotated.properties.contentType).toBe('text/plain');
    expect(rotated.properties.tags).toEqual({ app: 'health' });
    const clockNow = (await adminCall(emulator, 'GET', '/clock')).json.nowEpochSeconds as number;
    const expiresIn = rotated.properties.expiresOn!.getTime() / 1000 - clockNow;
    expect(expiresIn).toBeGreaterThan(59 * DAY);
    expect(expiresIn).toBeLessThanOrEqual(60 * DAY);
    const oldLogin = new sql.ConnectionPool({ ...sql.ConnectionPool.parseConnectionString(db.connectionString(firstPassword)), validateConnection: 'socket' });
    oldLogin.on('error', () => undefined);
    await expect(oldLogin.connect()).rejects.toThrow("Login failed for user 'healthapp'.");

    // Sessions ended (as a failover would): the app reconnects, fails with the old password, re-reads the secret.
    db.killSessions();
    expect(await app.health()).toEqual({ status: 200, body: { status: 'healthy' } });
    await app.waitForLog(new RegExp(`changed \\(version ${before.properties.version} -> ${rotated.properties.version}\\); reconnecting`));
    polling = false;
    await poller;
    expect(statuses.length).toBeGreaterThan(5);
    expect(statuses.every((s) => s === 200), `health answers: ${statuses.join(',')}`).toBe(true);

    // Delivered once, and recorded as such.
    const deliveries = (await adminCall(emulator, 'GET', `/vaults/${VAULT}/eventSubscriptions/rotate-db-password/deliveries`)).json.value;
    expect(deliveries).toMatchObject([{ eventType: 'Microsoft.KeyVault.SecretNearExpiry', subject: SECRET, state: 'delivered', attempts: 1, lastStatus: 200 }]);
    // Nothing secret in either process's output.
    for (const output of [rotator.output(), app.output()]) {
      expect(output).not.toContain(firstPassword);
      expect(output).not.toContain(db.currentPassword);
      expect(output).not.toMatch(/Password=/i);
    }
  });

  it('acknowledges a repeated delivery of an event already acted on without rotating again', async () => {
    const current = await operator.getSecret(SECRET);
    const stale = [
      {
        id: 'b0c1d2e3-f4a5-4b6c-8d7e-9f0a1b2c3d4e',
        topic: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/health',
        subject: SECRET,
        eventType: 'Microsoft.KeyVault.SecretNearExpiry',
        eventTime: new Date().toISOString(),
        data: { Id: 'x', VaultName: VAULT, ObjectType: 'Secret', ObjectName: SECRET, Version: '0'.repeat(32), NBF: null, EXP: 1 },
        dataVersion: '1',
        metadataVersion: '1',
      },
    ];
    const res = await fetch(`${rotator.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' }, body: JSON.stringify(stale) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ handled: ['ignored'] });
    expect((await operator.getSecret(SECRET)).properties.version).toBe(current.properties.version);
    expect(db.passwordChanges).toBe(1);
    const garbage = await fetch(`${rotator.url}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', 'aeg-event-type': 'Notification' }, body: '{"not":"an event"}' });
    expect(garbage.status).toBe(400);
  });
});
