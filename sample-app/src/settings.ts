// The sample app's settings, from the environment only (twelve-factor): which vault to read, which
// secret holds the connection string, where to listen. The same variables work against the emulator
// and against real Azure; nothing here knows which one it is.

export interface Settings {
  /** https://<name>.vault.azure.net, or KEY_VAULT_URL as given. */
  vaultUrl: string;
  /** Secret holding the SQL Server connection string. */
  secretName: string;
  host: string;
  port: number;
  /** Least time between two reads of the secret after connection failures. */
  secretRefreshIntervalMs: number;
  /** Connect and query timeout when the connection string sets none. */
  databaseTimeoutMs: number;
  logLevel: string;
}

export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

const VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) throw new SettingsError(`${name} must be a whole number from ${min} to ${max}, got '${text}'.`);
  return value;
}

export function vaultUrlFrom(env: NodeJS.ProcessEnv): string {
  const url = env.KEY_VAULT_URL?.trim();
  if (url) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new SettingsError(`KEY_VAULT_URL is not a URL: '${url}'.`);
    }
    if (parsed.protocol !== 'https:') throw new SettingsError(`KEY_VAULT_URL must be an https:// URL, got '${url}'.`);
    return parsed.origin;
  }
  const name = env.KEY_VAULT_NAME?.trim();
  if (name) {
    if (!VAULT_NAME.test(name)) throw new SettingsError(`KEY_VAULT_NAME must be a vault name (3-24 letters, digits and hyphens, starting with a letter), got '${name}'.`);
    return `https://${name.toLowerCase()}.vault.azure.net`;
  }
  throw new SettingsError('Set KEY_VAULT_NAME (the vault https://<name>.vault.azure.net) or KEY_VAULT_URL (the whole vault URL).');
}

/** What both entry points read: the vault, the secret, where to listen, the database timeout, the log level. */
function commonSettingsFrom(env: NodeJS.ProcessEnv): Omit<Settings, 'secretRefreshIntervalMs'> {
  return {
    vaultUrl: vaultUrlFrom(env),
    secretName: env.DB_SECRET_NAME?.trim() || 'db-connection-string',
    host: env.HOST?.trim() || '0.0.0.0',
    port: integer(env, 'PORT', 8080, 0, 65535),
    databaseTimeoutMs: integer(env, 'DB_TIMEOUT_MS', 5_000, 100, 600_000),
    logLevel: env.LOG_LEVEL?.trim() || 'info',
  };
}

export function settingsFrom(env: NodeJS.ProcessEnv): Settings {
  return { ...commonSettingsFrom(env), secretRefreshIntervalMs: integer(env, 'SECRET_REFRESH_INTERVAL_MS', 10_000, 0, 86_400_000) };
}

/** `read(process.env)`, or the settings problem on stderr and exit status 2. */
export function settingsOrExit<T>(read: (env: NodeJS.ProcessEnv) => T): T {
  try {
    return read(process.env);
  } catch (error) {
    if (error instanceof SettingsError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/** The rotator's settings (second entry point, `rotator`): the same vault and secret variables as the app. */
export interface RotatorSettings {
  vaultUrl: string;
  secretName: string;
  host: string;
  port: number;
  /** Days a new password is valid: the new secret version expires that long after the rotation. */
  validityDays: number;
  /** Connect and query timeout when the connection string sets none. */
  databaseTimeoutMs: number;
  logLevel: string;
}

export function rotatorSettingsFrom(env: NodeJS.ProcessEnv): RotatorSettings {
  return {
    ...commonSettingsFrom(env),
    // More than the 30 days of SecretNearExpiry, or every new version would be near its expiry at once.
    validityDays: integer(env, 'ROTATION_VALIDITY_DAYS', 60, 31, 3650),
  };
}
