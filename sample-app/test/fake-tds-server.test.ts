// The TDS test double against the real mssql/tedious driver: if these fail, the app's database tests
// would be testing the double, not the app.
import sql from 'mssql';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeTdsServer } from './support/fake-tds-server.js';

const pools: sql.ConnectionPool[] = [];
const servers: FakeTdsServer[] = [];

async function connect(connectionString: string): Promise<sql.ConnectionPool> {
  const pool = new sql.ConnectionPool({ ...sql.ConnectionPool.parseConnectionString(connectionString), validateConnection: 'socket' });
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool.connect();
}

async function server(): Promise<FakeTdsServer> {
  const started = await new FakeTdsServer({ user: 'health', password: 'first-Passw0rd' }).start();
  servers.push(started);
  return started;
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

describe('fake TDS server (test double)', () => {
  it('lets mssql log in and answers SELECT 1 with one row', async () => {
    const db = await server();
    const pool = await connect(db.connectionString());
    const result = await pool.request().batch<{ ok: number }>('SELECT 1 AS ok');
    expect(result.recordset).toEqual([{ ok: 1 }]);
    expect(db.logins).toBeGreaterThanOrEqual(1);
    expect(db.queries).toBe(1);
  });

  it('refuses a wrong password the way SQL Server does (error 18456)', async () => {
    const db = await server();
    const error = await connect(db.connectionString('not-the-password')).catch((e: unknown) => e as sql.ConnectionError);
    expect(error).toBeInstanceOf(sql.ConnectionError);
    expect((error as sql.ConnectionError).message).toBe("Login failed for user 'health'.");
    expect(db.failedLogins).toBe(1);
    expect(db.logins).toBe(0);
  });

  it('drops connections when stopped and accepts new ones on the same port when started again', async () => {
    const db = await server();
    const port = db.port;
    const pool = await connect(db.connectionString());
    await db.stop();
    await expect(pool.request().batch('SELECT 1 AS ok')).rejects.toThrow();
    await expect(connect(db.connectionString())).rejects.toThrow(/ECONNREFUSED|Failed to connect/);
    await db.start();
    expect(db.port).toBe(port);
    const again = await connect(db.connectionString());
    expect((await again.request().batch<{ ok: number }>('SELECT 1 AS ok')).recordset[0]?.ok).toBe(1);
  });

  it('after a password rotation accepts only the new password', async () => {
    const db = await server();
    db.rotatePassword('second-Passw0rd');
    await expect(connect(db.connectionString('first-Passw0rd'))).rejects.toThrow("Login failed for user 'health'.");
    const pool = await connect(db.connectionString());
    expect((await pool.request().batch<{ ok: number }>('SELECT 1 AS ok')).recordset[0]?.ok).toBe(1);
  });
});

describe('fake TDS server: ALTER LOGIN', () => {
  it('switches the password it accepts when the login gives its old one, keeping open sessions', async () => {
    const db = await server();
    const pool = await connect(db.connectionString());
    await pool.request().batch("ALTER LOGIN [health] WITH PASSWORD = N'it''s-new-Passw0rd' OLD_PASSWORD = N'first-Passw0rd'");
    expect(db.passwordChanges).toBe(1);
    expect(db.currentPassword).toBe("it's-new-Passw0rd");
    // The session that changed it still works; new logins need the new password.
    expect((await pool.request().batch<{ ok: number }>('SELECT 1 AS ok')).recordset[0]?.ok).toBe(1);
    await expect(connect(db.connectionString('first-Passw0rd'))).rejects.toThrow("Login failed for user 'health'.");
    await expect(connect(db.connectionString("it's-new-Passw0rd"))).resolves.toBeDefined();
  });

  it('refuses a wrong old password or another login with error 15151, changing nothing', async () => {
    const db = await server();
    const pool = await connect(db.connectionString());
    for (const statement of [
      "ALTER LOGIN health WITH PASSWORD = 'x-Passw0rd' OLD_PASSWORD = 'wrong'",
      "ALTER LOGIN [sa] WITH PASSWORD = 'x-Passw0rd' OLD_PASSWORD = 'first-Passw0rd'",
      "ALTER LOGIN [health] WITH PASSWORD = 'x-Passw0rd'",
    ]) {
      await expect(pool.request().batch(statement)).rejects.toThrow(/^Cannot alter the login '(health|sa)', because it does not exist or you do not have permission\.$/);
    }
    expect(db.passwordChanges).toBe(0);
    expect(db.currentPassword).toBe('first-Passw0rd');
  });
});
