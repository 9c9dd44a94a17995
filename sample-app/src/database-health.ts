// Whether the database answers `SELECT 1`, with the connection string taken from Key Vault.
// The app starts and answers even while the database (or Key Vault) is down: each check reconnects
// if it has to. When a connection fails, the secret is read again (at most once per refresh
// interval), so a rotated connection string is picked up without a restart. Log lines name the
// secret and its version, never its value.
import sql from 'mssql';
import { KeyVaultAccessError, type ConnectionSecret } from './connection-secret.js';

export interface SecretSource {
  readonly description: string;
  read(): Promise<ConnectionSecret>;
}

export interface HealthLog {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export type HealthResult = { healthy: true } | { healthy: false; reason: 'key-vault' | 'database' };

export interface DatabaseHealthOptions {
  source: SecretSource;
  log: HealthLog;
  /** Connect and query timeout when the connection string sets none. */
  timeoutMs: number;
  /** Least time between two reads of the secret after connection failures. */
  refreshIntervalMs: number;
  now?: () => number;
}

export class DatabaseHealth {
  private secret: ConnectionSecret | undefined;
  private secretReadAt = Number.NEGATIVE_INFINITY;
  private pool: sql.ConnectionPool | undefined;
  private inFlight: Promise<HealthResult> | undefined;
  private lastReport: string | undefined;
  private readonly now: () => number;

  constructor(private readonly options: DatabaseHealthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Concurrent callers share one check. */
  check(): Promise<HealthResult> {
    this.inFlight ??= this.run().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  async close(): Promise<void> {
    await this.dropPool();
  }

  private async run(): Promise<HealthResult> {
    try {
      await this.probe();
      return this.healthy();
    } catch (error) {
      await this.dropPool();
      if (error instanceof KeyVaultAccessError) return this.unhealthy('key-vault', error.message, 'error');
      const failure = this.redact(messageOf(error));
      // The connection may have failed because the connection string was rotated: read it again.
      if (await this.refreshSecret()) {
        try {
          await this.probe();
          return this.healthy();
        } catch (retryError) {
          await this.dropPool();
          return this.unhealthy('database', `The database does not answer with the new connection string either: ${this.redact(messageOf(retryError))}`);
        }
      }
      return this.unhealthy('database', `The database does not answer: ${failure}`);
    }
  }

  private async probe(): Promise<void> {
    const pool = await this.connect();
    const result = await pool.request().batch<{ ok: number }>('SELECT 1 AS ok');
    if (result.recordset?.[0]?.ok !== 1) throw new Error('SELECT 1 did not return 1.');
  }

  private async connect(): Promise<sql.ConnectionPool> {
    if (this.pool) return this.pool;
    const secret = this.secret ?? (await this.readSecret());
    const pool = new sql.ConnectionPool(this.poolConfig(secret));
    // Errors on idle connections surface here; without a listener they would end the process.
    pool.on('error', (error: unknown) => this.options.log.debug(`Database connection error: ${this.redact(messageOf(error))}`));
    try {
      await pool.connect();
    } catch (error) {
      pool.close().catch(() => undefined);
      throw error;
    }
    this.pool = pool;
    return pool;
  }

  private poolConfig(secret: ConnectionSecret): sql.config {
    let config: sql.config;
    try {
      config = sql.ConnectionPool.parseConnectionString(secret.value);
    } catch {
      throw new Error(`The ${this.options.source.description} (version ${secret.version}) is not a SQL Server connection string.`);
    }
    if (!config.server) throw new Error(`The connection string in ${this.options.source.description} (version ${secret.version}) names no server.`);
    return {
      ...config,
      connectionTimeout: config.connectionTimeout ?? this.options.timeoutMs,
      requestTimeout: config.requestTimeout ?? this.options.timeoutMs,
      // The health query itself checks the connection; no extra SELECT 1 when borrowing one.
      validateConnection: 'socket',
      pool: { max: 2, min: 0, idleTimeoutMillis: 30_000, ...config.pool },
    };
  }

  private async readSecret(): Promise<ConnectionSecret> {
    this.secretReadAt = this.now();
    const secret = await this.options.source.read();
    if (!this.secret) this.options.log.info(`Read the database connection string from the ${this.options.source.description} (version ${secret.version}).`);
    this.secret = secret;
    return secret;
  }

  /** Reads the secret again if the refresh interval allows; true when it holds a different value. */
  private async refreshSecret(): Promise<boolean> {
    if (!this.secret || this.now() - this.secretReadAt < this.options.refreshIntervalMs) return false;
    const previous = this.secret;
    let current: ConnectionSecret;
    try {
      current = await this.readSecret();
    } catch (error) {
      this.report(error instanceof KeyVaultAccessError ? error.message : `Reading the secret again failed: ${this.redact(messageOf(error))}`, 'error');
      return false;
    }
    if (current.value === previous.value) return false;
    this.options.log.info(`The ${this.options.source.description} changed (version ${previous.version} -> ${current.version}); reconnecting with it.`);
    return true;
  }

  private async dropPool(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.close().catch(() => undefined);
  }

  private healthy(): HealthResult {
    if (this.lastReport !== 'healthy') this.options.log.info('The database answers SELECT 1: healthy.');
    this.lastReport = 'healthy';
    return { healthy: true };
  }

  private unhealthy(reason: 'key-vault' | 'database', message: string, level: 'warn' | 'error' = 'warn'): HealthResult {
    this.report(message, level);
    return { healthy: false, reason };
  }

  /** Logs a problem once, not on every check while it lasts. */
  private report(message: string, level: 'warn' | 'error' = 'warn'): void {
    if (message === this.lastReport) return;
    this.lastReport = message;
    this.options.log[level](message);
  }

  /** Removes the connection string and its password from text that may echo them. */
  private redact(text: string): string {
    let result = text;
    const value = this.secret?.value;
    if (!value) return result;
    let password: string | undefined;
    try {
      password = sql.ConnectionPool.parseConnectionString(value).password;
    } catch {
      password = undefined;
    }
    for (const hidden of [value, password]) {
      if (hidden && hidden.length >= 3) result = result.split(hidden).join('***');
    }
    return result;
  }
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\r?\n/)[0] ?? message;
}
