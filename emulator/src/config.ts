// Emulator configuration: embedded defaults, then the --config JSON file, then KV_EMULATOR_* environment
// variables, then command-line flags (later wins). The file is validated at start; every error names
// the offending field. Only this module and main.ts read process.env.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID } from './identity/principals.js';
import { NETWORK_FIELDS, parseNetworkSettings, type NetworkSettings } from './network/settings.js';
import { parseSourceRange } from './identity/source-ranges.js';
import { hasUnpairedSurrogate } from './vault/validation.js';

export interface SeedSecret {
  name: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  enabled?: boolean;
  nbf?: number;
  exp?: number;
  /** Expiry relative to the first seeding: exp = that moment + this many days. */
  expiresInDays?: number;
  /** Certificate-backed: read-only, `managed: true`. */
  managed?: boolean;
  kid?: string;
}

export interface VaultConfig {
  name: string;
  softDeleteRetentionInDays?: number;
  purgeProtection?: boolean;
  permissionModel?: 'rbac' | 'accessPolicy';
  secrets?: SeedSecret[];
  /** Event Grid subscriptions of the vault, validated by events/config.ts. */
  eventSubscriptions?: unknown[];
  /** publicNetworkAccess, networkAcls, privateEndpointConnections (docs/network-rules.md). */
  network?: Partial<NetworkSettings>;
}

/** The audit log (audit/log.ts, docs/monitoring.md). */
export interface AuditLogConfig {
  enabled: boolean;
  /** Records kept at most (the oldest go first). */
  maxRecords: number;
  /** Records older than this are removed. */
  maxAgeDays: number;
  /** Also append each record to this JSON-lines file (Key Vault's exported AuditEvent shape). */
  file?: string;
}

export interface EmulatorConfig {
  host: string;
  port: number;
  dataDir: string;
  inMemory: boolean;
  strictVaults: boolean;
  defaultVault: string;
  region: string;
  tenantId: string;
  /** Key for backup blobs (hex, base64 or passphrase); default: generated per installation. */
  backupKey?: string;
  /** Key that opens the admin API from non-loopback addresses; default: generated into the data dir. */
  adminKey?: string;
  /** Value clients must send in X-IDENTITY-HEADER; default: generated into the data dir. */
  identityHeader?: string;
  /** Extra names for the server certificate (container aliases, LAN names). */
  serverNames: string[];
  tls?: { certFile: string; keyFile: string };
  /** FULL syncs each write to disk before answering; NORMAL is faster and survives process crashes only. */
  durability: 'full' | 'normal';
  /**
   * Source addresses (CIDR ranges) besides loopback that the IMDS token endpoint answers; others get 403
   * (identity/source-ranges.ts). Config file: `imds.allowedSources`.
   */
  imdsAllowedSources: string[];
  /** Seconds between sweeps that purge soft-deleted secrets past their purge date. */
  purgeSweepSeconds: number;
  /** `--realistic`: start from realism's preset (docs/realistic-mode.md); the config file's `realism` section refines it. */
  realistic: boolean;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  vaults: VaultConfig[];
  auditLog: AuditLogConfig;
  /** Sections owned by other modules (identities, role assignments...), validated by them. */
  extensions: Record<string, unknown>;
  /** Where the config file was read from, if any. */
  configFile?: string;
  /**
   * Port of the HTTPS proxy (proxy/): a number (0 picks a free port), 'off', or undefined for the
   * default (8444; a free port when the HTTPS port is 0 or 8444 is taken).
   */
  proxyPort?: number | 'off';
  /** What the proxy does with host names it does not answer for. */
  proxy: ProxySettings;
}

export interface ProxySettings {
  /** Tunnel other hosts to their real destination (true) or refuse them with 403 (false: nothing leaves the machine). */
  passthrough: boolean;
}

export const DEFAULT_TENANT_ID = '7f2c1a3e-5b4d-4e6f-8a9b-0c1d2e3f4a5b';

export const DEFAULTS: EmulatorConfig = {
  host: 'localhost',
  port: 8443,
  dataDir: '.kv-emulator',
  inMemory: false,
  strictVaults: false,
  defaultVault: 'default',
  region: 'westus',
  tenantId: DEFAULT_TENANT_ID,
  serverNames: [],
  durability: 'full',
  imdsAllowedSources: [],
  purgeSweepSeconds: 60,
  realistic: false,
  logLevel: 'info',
  vaults: [],
  auditLog: { enabled: true, maxRecords: 100_000, maxAgeDays: 7 },
  extensions: {},
  proxy: { passthrough: true },
};

/** The levels of `logLevel`, `--log-level` and `KV_EMULATOR_LOG_LEVEL`. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The proxy's port when none is configured. */
export const DEFAULT_PROXY_PORT = 8444;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Raw = Record<string, unknown>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Top-level settings of the config file that this module reads. */
export const KNOWN_KEYS = new Set([
  '$schema',
  'host',
  'port',
  'dataDir',
  'inMemory',
  'strictVaults',
  'defaultVault',
  'region',
  'tenantId',
  'backupKey',
  'adminKey',
  'identityHeader',
  'serverNames',
  'tls',
  'durability',
  'imds',
  'purgeSweepSeconds',
  'logLevel',
  'vaults',
  'proxyPort',
  'proxy',
  'auditLog',
]);
/** Top-level sections other modules validate. */
export const EXTENSION_KEYS = new Set(['identities', 'roleAssignments', 'accessPolicies', 'tenant', 'faults', 'events', 'privateEndpoints', 'subnets', 'trustedServices', 'realism']);

function fail(path: string, problem: string): never {
  throw new ConfigError(`Invalid configuration: '${path}' ${problem}`);
}

function str(raw: Raw, key: string, path: string): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) fail(`${path}${key}`, 'must be a non-empty string.');
  return v;
}

function bool(raw: Raw, key: string, path: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') fail(`${path}${key}`, 'must be true or false.');
  return v;
}

function int(raw: Raw, key: string, path: string, min: number, max: number): number | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(`${path}${key}`, `must be an integer from ${min} to ${max}.`);
  return v;
}

function obj(v: unknown, path: string): Raw {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, 'must be an object.');
  return v as Raw;
}

function oneOf<T extends string>(raw: Raw, key: string, path: string, values: readonly T[]): T | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !values.includes(v as T)) fail(`${path}${key}`, `must be one of ${values.map((x) => `'${x}'`).join(', ')}.`);
  return v as T;
}

function parseSecret(value: unknown, path: string): SeedSecret {
  const raw = obj(value, path);
  for (const key of Object.keys(raw)) {
    if (!['name', 'value', 'contentType', 'tags', 'enabled', 'nbf', 'exp', 'expiresInDays', 'managed', 'kid'].includes(key)) fail(`${path}.${key}`, 'is not a known secret field.');
  }
  const name = str(raw, 'name', `${path}.`) ?? fail(`${path}.name`, 'is required.');
  if (!/^[0-9a-zA-Z-]{1,127}$/.test(name)) fail(`${path}.name`, 'must be 1-127 letters, digits and hyphens.');
  if (typeof raw.value !== 'string') fail(`${path}.value`, 'is required and must be a string.');
  let tags: Record<string, string> | undefined;
  if (raw.tags !== undefined) {
    tags = {};
    for (const [k, v] of Object.entries(obj(raw.tags, `${path}.tags`))) {
      if (typeof v !== 'string') fail(`${path}.tags.${k}`, 'must be a string.');
      tags[k] = v;
    }
  }
  const contentType = str(raw, 'contentType', `${path}.`);
  // Text with an unpaired surrogate cannot be stored as it is (http/text.ts).
  for (const [field, text] of [['value', raw.value], ['contentType', contentType], ...Object.entries(tags ?? {}).flatMap(([k, v]) => [[`tags.${k}`, k], [`tags.${k}`, v]])]) {
    if (text !== undefined && hasUnpairedSurrogate(text)) fail(`${path}.${field}`, 'holds an unpaired UTF-16 surrogate, which cannot be stored as UTF-8.');
  }
  const enabled = bool(raw, 'enabled', `${path}.`);
  const nbf = int(raw, 'nbf', `${path}.`, 0, 2 ** 40);
  const exp = int(raw, 'exp', `${path}.`, 0, 2 ** 40);
  const expiresInDays = int(raw, 'expiresInDays', `${path}.`, 1, 36500);
  if (exp !== undefined && expiresInDays !== undefined) fail(`${path}.expiresInDays`, "cannot be combined with 'exp'.");
  const managed = bool(raw, 'managed', `${path}.`);
  const kid = str(raw, 'kid', `${path}.`);
  return {
    name,
    value: raw.value,
    ...(contentType !== undefined && { contentType }),
    ...(tags !== undefined && { tags }),
    ...(enabled !== undefined && { enabled }),
    ...(nbf !== undefined && { nbf }),
    ...(exp !== undefined && { exp }),
    ...(expiresInDays !== undefined && { expiresInDays }),
    ...(managed !== undefined && { managed }),
    ...(kid !== undefined && { kid }),
  };
}

function parseVault(value: unknown, path: string): VaultConfig {
  const raw = obj(value, path);
  for (const key of Object.keys(raw)) {
    if (!['name', 'softDeleteRetentionInDays', 'purgeProtection', 'permissionModel', 'secrets', 'eventSubscriptions', ...NETWORK_FIELDS].includes(key)) {
      fail(`${path}.${key}`, 'is not a known vault field.');
    }
  }
  const name = str(raw, 'name', `${path}.`) ?? fail(`${path}.name`, 'is required.');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(name)) fail(`${path}.name`, 'must be 1-63 letters, digits and hyphens.');
  const retention = int(raw, 'softDeleteRetentionInDays', `${path}.`, 7, 90);
  const purgeProtection = bool(raw, 'purgeProtection', `${path}.`);
  const permissionModel = oneOf(raw, 'permissionModel', `${path}.`, ['rbac', 'accessPolicy'] as const);
  let secrets: SeedSecret[] | undefined;
  if (raw.secrets !== undefined) {
    if (!Array.isArray(raw.secrets)) fail(`${path}.secrets`, 'must be an array.');
    secrets = raw.secrets.map((s, i) => parseSecret(s, `${path}.secrets[${i}]`));
  }
  if (raw.eventSubscriptions !== undefined && !Array.isArray(raw.eventSubscriptions)) fail(`${path}.eventSubscriptions`, 'must be an array.');
  const network = parseNetworkSettings(raw, {
    fail,
    path: `${path}.`,
    vault: name.toLowerCase(),
    location: { subscriptionId: DEFAULT_SUBSCRIPTION_ID, resourceGroup: DEFAULT_RESOURCE_GROUP },
  });
  return {
    name: name.toLowerCase(),
    ...(retention !== undefined && { softDeleteRetentionInDays: retention }),
    ...(purgeProtection !== undefined && { purgeProtection }),
    ...(permissionModel !== undefined && { permissionModel }),
    ...(secrets !== undefined && { secrets }),
    ...(raw.eventSubscriptions !== undefined && { eventSubscriptions: raw.eventSubscriptions as unknown[] }),
    ...(Object.keys(network).length > 0 && { network }),
  };
}

function parseAuditLog(value: unknown, baseDir: string): AuditLogConfig {
  const raw = obj(value, 'auditLog');
  for (const key of Object.keys(raw)) {
    if (!['enabled', 'maxRecords', 'maxAgeDays', 'file'].includes(key)) fail(`auditLog.${key}`, 'is not a known audit log setting.');
  }
  const enabled = bool(raw, 'enabled', 'auditLog.');
  const maxRecords = int(raw, 'maxRecords', 'auditLog.', 1, 10_000_000);
  const maxAgeDays = raw.maxAgeDays;
  if (maxAgeDays !== undefined && (typeof maxAgeDays !== 'number' || !Number.isFinite(maxAgeDays) || maxAgeDays <= 0 || maxAgeDays > 3650)) {
    fail('auditLog.maxAgeDays', 'must be a number of days above 0 and at most 3650.');
  }
  const file = str(raw, 'file', 'auditLog.');
  const defaults = DEFAULTS.auditLog;
  return {
    enabled: enabled ?? defaults.enabled,
    maxRecords: maxRecords ?? defaults.maxRecords,
    maxAgeDays: (maxAgeDays as number | undefined) ?? defaults.maxAgeDays,
    ...(file !== undefined && { file: resolve(baseDir, file) }),
  };
}

/** Validates a parsed config file into a partial configuration. */
export function parseConfigObject(value: unknown, baseDir = process.cwd()): Partial<EmulatorConfig> {
  const raw = obj(value, '(root)');
  const result: Partial<EmulatorConfig> = {};
  const extensions: Record<string, unknown> = {};
  for (const key of Object.keys(raw)) {
    if (EXTENSION_KEYS.has(key)) extensions[key] = raw[key];
    else if (!KNOWN_KEYS.has(key)) fail(key, 'is not a known setting.');
  }
  const set = <K extends keyof EmulatorConfig>(key: K, v: EmulatorConfig[K] | undefined) => {
    if (v !== undefined) result[key] = v;
  };
  set('host', str(raw, 'host', ''));
  set('port', int(raw, 'port', '', 0, 65535));
  const dataDir = str(raw, 'dataDir', '');
  set('dataDir', dataDir && resolve(baseDir, dataDir));
  set('inMemory', bool(raw, 'inMemory', ''));
  set('strictVaults', bool(raw, 'strictVaults', ''));
  const defaultVault = str(raw, 'defaultVault', '');
  if (defaultVault !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(defaultVault)) fail('defaultVault', 'must be 1-63 letters, digits and hyphens.');
  set('defaultVault', defaultVault?.toLowerCase());
  set('region', str(raw, 'region', ''));
  const tenantId = str(raw, 'tenantId', '');
  if (tenantId !== undefined && !GUID.test(tenantId)) fail('tenantId', 'must be a GUID.');
  set('tenantId', tenantId?.toLowerCase());
  set('backupKey', str(raw, 'backupKey', ''));
  set('adminKey', str(raw, 'adminKey', ''));
  set('identityHeader', str(raw, 'identityHeader', ''));
  if (raw.serverNames !== undefined) {
    if (!Array.isArray(raw.serverNames) || !raw.serverNames.every((n) => typeof n === 'string' && n.length > 0)) {
      fail('serverNames', 'must be an array of host names.');
    }
    set('serverNames', raw.serverNames as string[]);
  }
  if (raw.tls !== undefined) {
    const tls = obj(raw.tls, 'tls');
    const certFile = str(tls, 'certFile', 'tls.') ?? fail('tls.certFile', 'is required when tls is set.');
    const keyFile = str(tls, 'keyFile', 'tls.') ?? fail('tls.keyFile', 'is required when tls is set.');
    set('tls', { certFile: resolve(baseDir, certFile), keyFile: resolve(baseDir, keyFile) });
  }
  set('durability', oneOf(raw, 'durability', '', ['full', 'normal'] as const));
  if (raw.imds !== undefined) {
    const imds = obj(raw.imds, 'imds');
    for (const key of Object.keys(imds)) if (key !== 'allowedSources') fail(`imds.${key}`, 'is not a known IMDS setting.');
    if (imds.allowedSources !== undefined) {
      if (!Array.isArray(imds.allowedSources) || !imds.allowedSources.every((v) => typeof v === 'string')) {
        fail('imds.allowedSources', 'must be an array of addresses or CIDR ranges (e.g. "172.16.0.0/12").');
      }
      set('imdsAllowedSources', sourceRanges(imds.allowedSources as string[], (i, text) => fail(`imds.allowedSources[${i}]`, `'${text}' is not an address or a CIDR range (e.g. "172.16.0.0/12").`)));
    }
  }
  set('purgeSweepSeconds', int(raw, 'purgeSweepSeconds', '', 1, 86400));
  set('logLevel', oneOf(raw, 'logLevel', '', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const));
  if (raw.proxyPort !== undefined) {
    const v = raw.proxyPort;
    if (v !== 'off' && (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 65535)) fail('proxyPort', "must be a port number (0-65535) or 'off'.");
    set('proxyPort', v as number | 'off');
  }
  if (raw.proxy !== undefined) {
    const proxy = obj(raw.proxy, 'proxy');
    for (const key of Object.keys(proxy)) if (key !== 'passthrough') fail(`proxy.${key}`, 'is not a known proxy setting (passthrough).');
    set('proxy', { passthrough: bool(proxy, 'passthrough', 'proxy.') ?? true });
  }
  if (raw.vaults !== undefined) {
    if (!Array.isArray(raw.vaults)) fail('vaults', 'must be an array.');
    set('vaults', raw.vaults.map((v, i) => parseVault(v, `vaults[${i}]`)));
  }
  if (raw.auditLog !== undefined) set('auditLog', parseAuditLog(raw.auditLog, baseDir));
  if (Object.keys(extensions).length > 0) result.extensions = extensions;
  return result;
}

export function readConfigFile(file: string): Partial<EmulatorConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    // A byte-order mark (what PowerShell's Out-File and Set-Content write) is not JSON, but not the user's mistake.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new ConfigError(`The config file ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return { ...parseConfigObject(parsed, resolve(path, '..')), configFile: path };
}

/** KV_EMULATOR_* environment variables. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<EmulatorConfig> {
  const result: Partial<EmulatorConfig> = {};
  const flag = (name: string) => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^(1|0|true|false|yes|no)$/i.test(v)) throw new ConfigError(`${name} must be true or false, got '${v}'.`);
    return /^(1|true|yes)$/i.test(v);
  };
  if (env.KV_EMULATOR_HOST) result.host = env.KV_EMULATOR_HOST;
  if (env.KV_EMULATOR_PORT) result.port = parsePort(env.KV_EMULATOR_PORT, 'KV_EMULATOR_PORT');
  if (env.KV_EMULATOR_DATA_DIR) result.dataDir = resolve(env.KV_EMULATOR_DATA_DIR);
  const inMemory = flag('KV_EMULATOR_IN_MEMORY');
  if (inMemory !== undefined) result.inMemory = inMemory;
  const strict = flag('KV_EMULATOR_STRICT_VAULTS');
  if (strict !== undefined) result.strictVaults = strict;
  const realistic = flag('KV_EMULATOR_REALISTIC');
  if (realistic !== undefined) result.realistic = realistic;
  if (env.KV_EMULATOR_BACKUP_KEY) result.backupKey = env.KV_EMULATOR_BACKUP_KEY;
  if (env.KV_EMULATOR_ADMIN_KEY) result.adminKey = env.KV_EMULATOR_ADMIN_KEY;
  if (env.KV_EMULATOR_LOG_LEVEL) {
    // Unchecked, a mistyped level reached the logger and ended the start with a stack trace.
    if (!(LOG_LEVELS as readonly string[]).includes(env.KV_EMULATOR_LOG_LEVEL)) {
      throw new ConfigError(`KV_EMULATOR_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got '${env.KV_EMULATOR_LOG_LEVEL}'.`);
    }
    result.logLevel = env.KV_EMULATOR_LOG_LEVEL as EmulatorConfig['logLevel'];
  }
  if (env.KV_EMULATOR_PROXY_PORT) result.proxyPort = parseProxyPort(env.KV_EMULATOR_PROXY_PORT, 'KV_EMULATOR_PROXY_PORT');
  if (env.KV_EMULATOR_TENANT_ID) {
    if (!GUID.test(env.KV_EMULATOR_TENANT_ID)) throw new ConfigError(`KV_EMULATOR_TENANT_ID must be a GUID, got '${env.KV_EMULATOR_TENANT_ID}'.`);
    result.tenantId = env.KV_EMULATOR_TENANT_ID.toLowerCase();
  }
  if (env.KV_EMULATOR_IMDS_ALLOWED_SOURCES) result.imdsAllowedSources = parseSourceList(env.KV_EMULATOR_IMDS_ALLOWED_SOURCES, 'KV_EMULATOR_IMDS_ALLOWED_SOURCES');
  return result;
}

/** A proxy port from the command line or the environment: a port number or `off`. */
export function parseProxyPort(text: string, what: string): number | 'off' {
  if (text.toLowerCase() === 'off') return 'off';
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new ConfigError(`${what} must be a port number (0-65535) or 'off', got '${text}'.`);
  return port;
}

/** Checks address ranges (identity/source-ranges.ts); `bad` reports the first that is not one. */
export function sourceRanges(values: readonly string[], bad: (index: number, text: string) => never): string[] {
  values.forEach((text, i) => {
    if (!parseSourceRange(text)) bad(i, text);
  });
  return values.map((text) => text.trim());
}

/** A comma- or space-separated list of ranges (environment variable, command-line flag). */
export function parseSourceList(text: string, what: string): string[] {
  const values = text.split(/[\s,]+/).filter((v) => v !== '');
  return sourceRanges(values, (_i, value) => {
    throw new ConfigError(`${what}: '${value}' is not an address or a CIDR range (e.g. 172.16.0.0/12).`);
  });
}

export function parsePort(text: string, what: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new ConfigError(`${what} must be a port number (0-65535), got '${text}'.`);
  return port;
}

export function resolveConfig(...layers: Array<Partial<EmulatorConfig>>): EmulatorConfig {
  const merged: EmulatorConfig = { ...DEFAULTS };
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (key === 'extensions') merged.extensions = { ...merged.extensions, ...(value as Record<string, unknown>) };
      else (merged as unknown as Raw)[key] = value;
    }
  }
  merged.dataDir = resolve(merged.dataDir);
  return merged;
}
