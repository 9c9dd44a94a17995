// The rotation function of Key Vault's rotation tutorial ("Automate the rotation of a secret for
// resources that use one set of authentication credentials"), for the sample app's database secret:
// on SecretNearExpiry (or SecretExpired) of the connection string's current version it creates a new
// password, changes the SQL login's password with the current one (ALTER LOGIN ... WITH PASSWORD ...
// OLD_PASSWORD ..., which a login may do for itself: no admin credential needed), and stores the new
// connection string as a new secret version with a new expiry. Apps that fail to connect read the
// secret again and pick it up. Sessions already open keep working meanwhile (SQL Server does not end
// them), so the app stays healthy across the change.
// Event Grid delivers at least once: an event for a version that is no longer current is one already
// acted on, and is acknowledged without rotating again. Nothing secret is ever logged.
import sql from 'mssql';
import { randomBytes } from 'node:crypto';

export const ROTATING_EVENTS = ['Microsoft.KeyVault.SecretNearExpiry', 'Microsoft.KeyVault.SecretExpired'];

/** What a Key Vault event carries (event-schema-key-vault.md). */
export interface KeyVaultEvent {
  type: string;
  subject?: string;
  /** When the event happened (on the emulator, the emulator clock's time). */
  time?: Date;
  data: { VaultName?: string; ObjectName?: string; Version?: string };
}

/** The part of SecretClient the rotator uses. */
export interface SecretStore {
  getSecret(name: string): Promise<{ value?: string; properties: { version?: string; contentType?: string; tags?: Record<string, string> } }>;
  setSecret(name: string, value: string, options: { contentType?: string; tags?: Record<string, string>; expiresOn: Date }): Promise<{ properties: { version?: string } }>;
}

export interface RotationLog {
  info(message: string): void;
  warn(message: string): void;
}

export interface RotatorOptions {
  secrets: SecretStore;
  vaultName: string;
  secretName: string;
  validityDays: number;
  databaseTimeoutMs: number;
  log: RotationLog;
  now?: () => number;
}

export type RotationResult = { outcome: 'rotated'; version: string } | { outcome: 'ignored'; why: string };

/** A failure worth retrying (the endpoint answers 5xx, so Event Grid tries again). */
export class RotationError extends Error {
  constructor(
    message: string,
    readonly where: 'database' | 'key-vault',
  ) {
    super(message);
    this.name = 'RotationError';
  }
}

/** A new password SQL Server's complexity policy accepts (upper, lower, digit, symbol), safe in a connection string. */
export function newPassword(): string {
  return `Rot-${randomBytes(18).toString('base64url')}-9a`;
}

/** The connection string with its password replaced (other settings as they were). */
export function withPassword(connectionString: string, password: string): string {
  const pattern = /(^|;)(\s*(?:password|pwd)\s*=\s*)(\{(?:[^}]|\}\})*\}|[^;]*)/i;
  if (!pattern.test(connectionString)) throw new Error('The connection string has no Password.');
  return connectionString.replace(pattern, (_m, start: string, key: string) => `${start}${key}${password}`);
}

const quoteName = (name: string) => `[${name.replaceAll(']', ']]')}]`;
const quoteText = (text: string) => `N'${text.replaceAll("'", "''")}'`;

export class SecretRotator {
  /** One rotation at a time: deliveries may arrive together (or twice). */
  private queue: Promise<unknown> = Promise.resolve();
  /** A password changed in the database but not yet stored (a failed setSecret): stored on the next try. */
  private pending: { fromVersion: string; connectionString: string } | undefined;

  constructor(private readonly options: RotatorOptions) {}

  handle(event: KeyVaultEvent): Promise<RotationResult> {
    const next = this.queue.then(() => this.rotate(event));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async rotate(event: KeyVaultEvent): Promise<RotationResult> {
    const { secretName, vaultName, log } = this.options;
    if (!ROTATING_EVENTS.includes(event.type)) return { outcome: 'ignored', why: `${event.type} is not an expiry event` };
    const object = event.data.ObjectName ?? event.subject ?? '';
    if (object.toLowerCase() !== secretName.toLowerCase() || (event.data.VaultName ?? '').toLowerCase() !== vaultName.toLowerCase()) {
      return { outcome: 'ignored', why: `the event is about '${object}' in vault '${event.data.VaultName ?? ''}', not '${secretName}' in '${vaultName}'` };
    }
    const short = event.type.replace('Microsoft.KeyVault.', '');
    let current;
    try {
      current = await this.options.secrets.getSecret(secretName);
    } catch (error) {
      throw new RotationError(`Reading the secret '${secretName}' failed: ${firstLine(error)}`, 'key-vault');
    }
    const version = current.properties.version ?? '';
    if (event.data.Version && event.data.Version !== version) {
      log.info(`${short} for '${secretName}' version ${event.data.Version}: already rotated (the current version is ${version}); nothing to do.`);
      return { outcome: 'ignored', why: 'already rotated' };
    }
    if (!current.value) throw new RotationError(`The secret '${secretName}' is empty.`, 'key-vault');
    log.info(`${short} for '${secretName}' version ${version}: rotating the database password.`);
    let connectionString: string;
    if (this.pending?.fromVersion === version) {
      connectionString = this.pending.connectionString;
      log.info('The password was already changed in the database by an earlier try; storing it.');
    } else {
      connectionString = await this.changePassword(current.value);
      this.pending = { fromVersion: version, connectionString };
    }
    const expiresOn = new Date(Math.max(this.options.now?.() ?? Date.now(), event.time?.getTime() ?? 0) + this.options.validityDays * 86_400_000);
    let stored;
    try {
      stored = await this.options.secrets.setSecret(secretName, connectionString, {
        ...(current.properties.contentType !== undefined && { contentType: current.properties.contentType }),
        ...(current.properties.tags !== undefined && { tags: current.properties.tags }),
        expiresOn,
      });
    } catch (error) {
      throw new RotationError(`The database password changed but storing the new connection string failed (it is kept for the next try): ${firstLine(error)}`, 'key-vault');
    }
    this.pending = undefined;
    const newVersion = stored.properties.version ?? '';
    log.info(`Rotated '${secretName}': new version ${newVersion}, expires ${expiresOn.toISOString()}.`);
    return { outcome: 'rotated', version: newVersion };
  }

  /** Changes the login's password with its current one; returns the new connection string. */
  private async changePassword(connectionString: string): Promise<string> {
    let config: sql.config;
    try {
      config = sql.ConnectionPool.parseConnectionString(connectionString);
    } catch {
      throw new RotationError(`The secret '${this.options.secretName}' is not a SQL Server connection string.`, 'database');
    }
    if (!config.user || config.password === undefined) throw new RotationError(`The connection string in '${this.options.secretName}' has no User Id or Password.`, 'database');
    const password = newPassword();
    const pool = new sql.ConnectionPool({
      ...config,
      connectionTimeout: config.connectionTimeout ?? this.options.databaseTimeoutMs,
      requestTimeout: config.requestTimeout ?? this.options.databaseTimeoutMs,
      // The ALTER LOGIN itself checks the connection; no extra query when borrowing it.
      validateConnection: 'socket',
      pool: { max: 1, min: 0 },
    });
    pool.on('error', () => undefined);
    try {
      await pool.connect();
      await pool.request().batch(`ALTER LOGIN ${quoteName(config.user)} WITH PASSWORD = ${quoteText(password)} OLD_PASSWORD = ${quoteText(config.password)}`);
    } catch (error) {
      throw new RotationError(`Changing the password of SQL login '${config.user}' on ${config.server ?? '?'} failed: ${redact(firstLine(error), config.password)}`, 'database');
    } finally {
      await pool.close().catch(() => undefined);
    }
    this.options.log.info(`Changed the password of SQL login '${config.user}' on ${config.server ?? '?'}${config.port ? `,${config.port}` : ''}.`);
    return withPassword(connectionString, password);
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split(/\r?\n/)[0] ?? message;
}

function redact(text: string, secret: string): string {
  return secret.length >= 3 ? text.split(secret).join('***') : text;
}
