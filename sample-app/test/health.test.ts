// The sample app end to end, as a real process: it reads its connection string from Key Vault through
// its managed identity, answers healthy while the database answers SELECT 1, unhealthy while it does
// not, recovers without a restart, picks up a rotated connection string, and says clearly when Key
// Vault denies it the secret. The same tests run against the emulator CLI with a TDS test double
// (always) and against the emulator image with a real SQL Server (when a Docker engine answers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_VAULT, containers, emulatorWithTdsDouble, LOCKED_VAULT, scenarioConfig, SECRET_NAME, type Backend, type TestDatabase, type TestVault } from './support/backends.js';
import { startApp, type AppProcess } from './support/processes.js';

const backends: Backend[] = [emulatorWithTdsDouble, containers];

for (const backend of backends) {
  const reason = await backend.unavailable();
  if (reason) console.log(`[sample-app] skipped "${backend.name}": ${reason}`);

  describe.skipIf(reason !== undefined)(`sample app against ${backend.name}`, () => {
    let db: TestDatabase;
    let vault: TestVault;
    let app: AppProcess;
    const apps: AppProcess[] = [];

    const launch = async (vaultName: string) => {
      const started = await startApp({ ...vault.appEnv, KEY_VAULT_URL: vault.vaultUrl(vaultName), SECRET_REFRESH_INTERVAL_MS: '0' });
      apps.push(started);
      return started;
    };

    /** Every value the app was ever given must stay out of its output. */
    const expectNoSecretIn = (output: string) => {
      for (const secret of db.secrets()) expect(output.includes(secret), 'the app printed a secret').toBe(false);
      expect(output).not.toMatch(/Password=/i);
    };

    beforeAll(async () => {
      db = await backend.startDatabase();
      vault = await backend.startVault(scenarioConfig(db.connectionString()));
      app = await launch(APP_VAULT);
    });

    afterAll(async () => {
      await Promise.all(apps.map((a) => a.stop()));
      await vault?.close();
      await db?.close();
    });

    it('reads the connection string with its managed identity and reports healthy', async () => {
      expect(await app.health()).toEqual({ status: 200, body: { status: 'healthy' } });
      await app.waitForLog(new RegExp(`Read the database connection string from the secret '${SECRET_NAME}' in https://${APP_VAULT}\\.vault\\.localhost:\\d+ \\(version [0-9a-f]{32}\\)`));
      expectNoSecretIn(app.output());
    });

    it('reports unhealthy while the database is down and recovers when it is back, without a restart', async () => {
      await db.stop();
      expect(await app.health()).toEqual({ status: 500, body: { status: 'unhealthy' } });
      expect(await app.health()).toEqual({ status: 500, body: { status: 'unhealthy' } });
      await app.waitForLog(/The database does not answer/);
      await db.start();
      expect(await app.health()).toEqual({ status: 200, body: { status: 'healthy' } });
      expectNoSecretIn(app.output());
    });

    it('starts and answers while the database is down, then reports healthy once it is up', async () => {
      await db.stop();
      const late = await launch(APP_VAULT);
      expect(await late.health()).toEqual({ status: 500, body: { status: 'unhealthy' } });
      await db.start();
      expect(await late.health()).toEqual({ status: 200, body: { status: 'healthy' } });
      await late.stop();
    });

    it('picks up a rotated connection string from Key Vault when the old one stops working', async () => {
      expect((await app.health()).status).toBe(200);
      const before = await vault.operator(APP_VAULT).getSecret(SECRET_NAME);
      await db.rotatePassword();
      const rotated = await vault.operator(APP_VAULT).setSecret(SECRET_NAME, db.connectionString(), { contentType: 'text/plain' });
      expect(rotated.properties.version).not.toBe(before.properties.version);
      expect(await app.health()).toEqual({ status: 200, body: { status: 'healthy' } });
      await app.waitForLog(new RegExp(`changed \\(version ${before.properties.version} -> ${rotated.properties.version}\\); reconnecting`));
      expectNoSecretIn(app.output());
    });

    it('says clearly that Key Vault denied the secret when its identity lacks the role, and keeps answering', async () => {
      const denied = await launch(LOCKED_VAULT);
      expect(await denied.health()).toEqual({ status: 500, body: { status: 'unhealthy' } });
      const line = await denied.waitForLog(/Key Vault denied access to secret[^"]*/);
      expect(line).toContain(`secret '${SECRET_NAME}' in https://${LOCKED_VAULT}.vault.localhost:`);
      expect(line).toContain('(403 Forbidden/ForbiddenByRbac: Caller is not authorized to perform action on resource.');
      expect(line).toMatch(/Action: 'Microsoft.KeyVault\/vaults\/secrets\/getSecret\/action'/);
      expect(line).toContain("Grant this app's identity the 'Key Vault Secrets User' role");
      expect(await denied.health()).toEqual({ status: 500, body: { status: 'unhealthy' } });
      expectNoSecretIn(denied.output());
      await denied.stop();
    });
  });
}
