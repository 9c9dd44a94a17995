// The composition root: builds the store, the domain services, the identity and the HTTP app from a
// configuration. It never listens (main.ts does); tests use `inject` or listen on port 0.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { assignmentIdFor, parseAccessConfig, type AccessConfig } from './access/config.js';
import { AccessControl } from './access/service.js';
import { managementAuthentication } from './arm/authentication.js';
import { managementRoutes } from './arm/routes/management.js';
import { ArmService } from './arm/service.js';
import { JweBackupSealer, backupKeyFrom } from './backup/jwe-sealer.js';
import { FILES, loadMaterial, type Material } from './data-dir.js';
import { ConfigError, type EmulatorConfig } from './config.js';
import { FaultInjector } from './faults/injector.js';
import { authorizationStep } from './http/authorization.js';
import { handleClientError, handleFrameworkError, installErrorMapper } from './http/error-mapper.js';
import { faultStep } from './http/faults.js';
import { faultRoutes } from './http/routes/admin-faults.js';
import { installDurableAnswers, installPipeline, notFoundError } from './http/pipeline.js';
import { adminRoutes } from './http/routes/admin.js';
import { adminIdentityRoutes } from './http/routes/admin-identity.js';
import { authorityRoutes } from './http/routes/authority.js';
import { APP_SERVICE_PATH, identityRoutes } from './http/routes/identity.js';
import { secretRoutes } from './http/routes/secrets.js';
import { Authority } from './identity/authority.js';
import { parseIdentities, type Fail } from './identity/config.js';
import { ManagedIdentityEndpoints } from './identity/managed-identity.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID, Directory, type Principal } from './identity/principals.js';
import { TokenService } from './identity/tokens.js';
import { SqliteAccessRepository, SqlitePrincipalRepository } from './store/access-repository.js';
import { SqliteArmRepository } from './store/arm-repository.js';
import type { SqliteDatabase } from './store/database.js';
import { SqliteSecretRepository, SqliteVaultRepository } from './store/secret-repository.js';
import { openStorage } from './store/storage.js';
import { ControllableClock } from './vault/clock.js';
import { SecretService } from './vault/secrets.js';
import { StateService } from './vault/state.js';
import { VaultService } from './vault/vaults.js';

export const EMULATOR_VERSION = '0.1.0';
/** Reported in x-ms-keyvault-service-version. */
const SERVICE_VERSION = `1.9.0.0-kv-emulator-${EMULATOR_VERSION}`;

/** Bodies of ordinary requests: a 25,600-character value JSON-escaped is far below this. */
const BODY_LIMIT = 1024 * 1024;

/**
 * Fastify loads ajv and fast-json-stringify whenever an app is created, a good part of a cold start.
 * No route here declares a schema, so they are loaded only if one ever does.
 */
const fastifyRequire = createRequire(createRequire(import.meta.url).resolve('fastify'));
let validatorSelector: ((...args: unknown[]) => unknown) | undefined;
let serializerSelector: ((...args: unknown[]) => unknown) | undefined;
const lazySchemaCompilers = {
  buildValidator: (...args: unknown[]) => (validatorSelector ??= fastifyRequire('@fastify/ajv-compiler')())(...args),
  buildSerializer: (...args: unknown[]) => (serializerSelector ??= fastifyRequire('@fastify/fast-json-stringify-compiler')())(...args),
} as unknown as NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;

/**
 * Limits that keep slow or oversized clients from holding memory, sockets or the event loop, while
 * other clients are served: a client has 10 s to send its headers (at most 16 KiB of them) and 30 s for
 * the whole request; a connection idle for 60 s, or still in its TLS handshake after 10 s, is closed.
 * Timeouts are enforced every second. Requests cut off this way get the Key Vault envelope
 * (http/error-mapper.ts handleClientError).
 */
export interface ServerLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
  handshakeTimeoutMs: number;
  checkIntervalMs: number;
  maxHeaderBytes: number;
}

export const SERVER_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
  handshakeTimeoutMs: 10_000,
  checkIntervalMs: 1_000,
  maxHeaderBytes: 16 * 1024,
};

export interface BuildOptions {
  /** Tighter server limits (tests of slow clients). */
  limits?: Partial<ServerLimits>;
  /** Use this clock instead of a fresh one (tests). */
  clock?: ControllableClock;
  /** Use this material instead of loading the data directory (tests). */
  material?: Material;
  /** Serve HTTPS with the material's certificate (default true); false for `inject`-only tests. */
  https?: boolean;
  logger?: FastifyServerOptions['logger'];
}

export interface Emulator {
  app: FastifyInstance;
  config: EmulatorConfig;
  clock: ControllableClock;
  material: Material;
  vaults: VaultService;
  secrets: SecretService;
  tokens: TokenService;
  directory: Directory;
  access: AccessControl;
  /** The management plane (ARM). */
  arm: ArmService;
  db: SqliteDatabase;
  /** Facts a client needs, for a given origin (https://host:port). */
  facts(origin: string): EmulatorFacts;
}

export interface EmulatorFacts {
  version: string;
  tenantId: string;
  defaultVault: string;
  vaultUrl: string;
  identityEndpoint: string;
  identityHeader: string;
  caFile?: string;
  caPem: string;
  dataDir?: string;
  /** Where vaults live in ARM ids (role-assignment scopes, denial messages). */
  subscriptionId: string;
  resourceGroup: string;
}

export async function buildApp(config: EmulatorConfig, options: BuildOptions = {}): Promise<Emulator> {
  const clock = options.clock ?? new ControllableClock();
  const material =
    options.material ??
    (await loadMaterial({
      dataDir: config.dataDir,
      persist: !config.inMemory,
      extraServerNames: config.serverNames,
      ...(config.backupKey !== undefined && { backupKey: backupKeyFrom(config.backupKey) }),
      ...(config.adminKey !== undefined && { adminKey: config.adminKey }),
      ...(config.identityHeader !== undefined && { identityHeader: config.identityHeader }),
      ...(config.tls && { tls: { cert: readFileSync(config.tls.certFile, 'utf8'), key: readFileSync(config.tls.keyFile, 'utf8') } }),
    }));
  const identityConfig = parseIdentityConfig(config, material.clientSecret);

  // Writes are grouped into commits, synced before answers ("full"), and the log is checkpointed on a worker.
  const storage = openStorage({
    ...(!config.inMemory && { file: join(config.dataDir, FILES.database) }),
    durability: config.durability,
    checkpoints: {
      onCheckpoint: (result) => app.log.debug(result, 'write-ahead log checkpointed on the worker'),
      onMainCheckpoint: (result) => app.log.debug(result, 'write-ahead log checkpointed on the event loop'),
      onUnavailable: (error) => app.log.warn({ err: error }, 'background checkpoints are unavailable; SQLite checkpoints in its commits again'),
    },
  });
  const { db, commits } = storage;
  const secretRepo = new SqliteSecretRepository(db, commits);
  const vaults = new VaultService({ vaults: new SqliteVaultRepository(db), clock, strict: config.strictVaults });
  const secrets = new SecretService({
    secrets: secretRepo,
    clock,
    sealer: new JweBackupSealer(material.backupKey),
    region: config.region,
  });
  const state = new StateService({ vaults, secrets, now: () => clock.now(), atomically: (work) => secretRepo.transaction(work) });
  const tokens = new TokenService({
    clock,
    tenantId: config.tenantId,
    key: material.signingKey,
    extraAudiences: ['https://vault.localhost', 'https://localhost'],
  });
  const directory = new Directory(new SqlitePrincipalRepository(db));
  const access = new AccessControl(new SqliteAccessRepository(db));
  // A failed group commit rolled back whatever the group held, admin changes to the directory and access included.
  commits.onFailure((error) => {
    app.log.error({ err: error }, 'a commit failed; its writes were rolled back');
    directory.reload();
    access.reload();
  });
  directory.applyConfigured(identityConfig.principals);
  access.applyConfigured(identityConfig.assignments, identityConfig.policies);
  const managedIdentity = new ManagedIdentityEndpoints({ tokens, directory, identityHeader: material.identityHeader });
  const arm = new ArmService({
    vaults,
    secrets,
    access,
    directory,
    repository: new SqliteArmRepository(db),
    clock,
    tenantId: config.tenantId,
    subscriptionId: DEFAULT_SUBSCRIPTION_ID,
    region: config.region,
    atomically: (work) => secretRepo.transaction(work),
  });

  const faults = new FaultInjector();
  const reseed = () => {
    applySeeds(config, vaults, secrets);
    armFaults(config, faults);
  };
  reseed();

  const useHttps = options.https ?? true;
  const limits = { ...SERVER_LIMITS, ...options.limits };
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
    maxHeaderSize: limits.maxHeaderBytes,
  };
  const app = Fastify({
    logger: options.logger ?? false,
    ...(useHttps
      ? { https: { key: material.tls.key, cert: material.tls.cert, handshakeTimeout: limits.handshakeTimeoutMs, ...serverOptions } }
      : { http: serverOptions }),
    bodyLimit: BODY_LIMIT,
    schemaController: { compilersFactory: lazySchemaCompilers },
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false, maxParamLength: 2048 },
    genReqId: () => randomUUID(),
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: 0,
    return503OnClosing: true,
    clientErrorHandler: handleClientError,
    frameworkErrors: handleFrameworkError,
  });

  installJsonParser(app);
  installDurableAnswers(app, commits);
  installErrorMapper(app, (request) => notFoundError(app, request));
  installPipeline(app, {
    vaults,
    tokens,
    defaultVault: config.defaultVault,
    region: config.region,
    serviceVersion: SERVICE_VERSION,
    management: managementAuthentication(tokens),
    steps: [
      authorizationStep({ access, region: config.region, location: { subscriptionId: DEFAULT_SUBSCRIPTION_ID, resourceGroup: DEFAULT_RESOURCE_GROUP } }),
      faultStep(faults),
    ],
  });

  const facts = (origin: string): EmulatorFacts => {
    const url = new URL(origin);
    const port = url.port ? `:${url.port}` : '';
    return {
      version: EMULATOR_VERSION,
      tenantId: config.tenantId,
      defaultVault: config.defaultVault,
      vaultUrl: `https://${config.defaultVault}.vault.localhost${port}`,
      identityEndpoint: `${origin}${APP_SERVICE_PATH}`,
      identityHeader: material.identityHeader,
      ...(material.caFile !== undefined && { caFile: material.caFile }),
      caPem: material.tls.caCert,
      ...(!config.inMemory && { dataDir: config.dataDir }),
      subscriptionId: DEFAULT_SUBSCRIPTION_ID,
      resourceGroup: DEFAULT_RESOURCE_GROUP,
    };
  };

  secretRoutes(app, secrets);
  faultRoutes(app, faults);
  identityRoutes(app, managedIdentity);
  authorityRoutes(app, new Authority({ tokens, directory, tenantId: config.tenantId, clock }));
  adminIdentityRoutes(app, { directory, access, tokens, clock });
  managementRoutes(app, arm);
  adminRoutes(app, {
    adminKey: material.adminKey,
    clock,
    vaults,
    secrets,
    state,
    reseed: () => {
      arm.reset();
      reseed();
      resetIdentities(directory, access, identityConfig);
    },
    info: (request) => ({ ...facts(request.kv.origin), vaults: vaults.list().map((v) => v.name) }),
  });

  let sweep: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    sweep = setInterval(() => {
      try {
        secrets.purgeExpired();
        arm.purgeExpiredVaults();
      } catch (error) {
        app.log.error({ err: error }, 'purge sweep failed');
      }
    }, config.purgeSweepSeconds * 1000);
    sweep.unref();
  });
  app.addHook('onClose', async () => {
    if (sweep) clearInterval(sweep);
    await storage.close();
  });

  return { app, config, clock, material, vaults, secrets, tokens, directory, access, arm, db, facts };
}

/**
 * JSON bodies: an empty body is "no body" (backup/recover POSTs sent with a JSON content type by some
 * tools), anything unparsable is BadParameter via the error mapper. Other media types are refused (415).
 */
function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_request, text, done) => {
    const source = String(text);
    if (source.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(source));
    } catch {
      const error = Object.assign(new Error('The request body is not valid JSON.'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 });
      done(error, undefined);
    }
  });
}

/**
 * The config file's identity and access sections (docs/identity-config.md), validated before anything
 * is opened; problems are ConfigErrors naming the field.
 */
function parseIdentityConfig(config: EmulatorConfig, defaultClientSecret: string): AccessConfig & { principals: Principal[] } {
  const fail: Fail = (path, problem) => {
    throw new ConfigError(`Invalid configuration: '${path}' ${problem}`);
  };
  const { identities, roleAssignments, accessPolicies, tenant } = config.extensions;
  if (tenant !== undefined) fail('tenant', "is not a setting; the tenant is set with 'tenantId'.");
  const principals = parseIdentities(identities, { defaultClientSecret, fail });
  const access = parseAccessConfig({ roleAssignments, accessPolicies }, { principals, fail });
  // Without a roleAssignments section every principal also owns the emulator's subscription, as whoever
  // creates a subscription does, so the management plane works at once too (Owner grants no data action).
  if (roleAssignments === undefined) {
    const scope = `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}`;
    for (const p of principals) {
      access.assignments.push({ id: assignmentIdFor(p.objectId, OWNER, scope), principalId: p.objectId.toLowerCase(), roleId: OWNER, scope });
    }
  }
  return { principals, ...access };
}

const OWNER = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';

/** Back to the configured identities and access (admin reset): what the admin API added is removed. */
function resetIdentities(directory: Directory, access: AccessControl, identityConfig: AccessConfig & { principals: Principal[] }): void {
  for (const principal of directory.list()) {
    if (directory.originOf(principal.objectId) === 'admin') directory.remove(principal.objectId);
  }
  for (const assignment of access.listAssignments()) if (assignment.origin === 'admin') access.removeAssignment(assignment.id);
  for (const policy of access.listPolicies()) if (policy.origin === 'admin') access.removePolicy(policy.vault, policy.principalId);
  directory.applyConfigured(identityConfig.principals);
  access.applyConfigured(identityConfig.assignments, identityConfig.policies);
}

/** Arms the config file's `faults` rules (replacing any armed ones). */
function armFaults(config: EmulatorConfig, faults: FaultInjector): void {
  faults.clear();
  const rules = config.extensions.faults;
  if (rules === undefined) return;
  if (!Array.isArray(rules)) throw new ConfigError("Invalid configuration: 'faults' must be an array of fault rules.");
  rules.forEach((rule, i) => {
    try {
      faults.add(rule);
    } catch (error) {
      throw new ConfigError(`Invalid configuration: 'faults[${i}]': ${(error as Error).message}`);
    }
  });
}

/** Creates the configured vaults and seeds their secrets (idempotent: unchanged secrets are left alone). */
function applySeeds(config: EmulatorConfig, vaults: VaultService, secrets: SecretService): void {
  vaults.ensure(config.defaultVault, {});
  for (const seed of config.vaults) {
    const vault = vaults.ensure(seed.name, {
      ...(seed.softDeleteRetentionInDays !== undefined && { retentionDays: seed.softDeleteRetentionInDays }),
      ...(seed.purgeProtection !== undefined && { purgeProtection: seed.purgeProtection }),
      ...(seed.permissionModel !== undefined && { permissionModel: seed.permissionModel }),
    });
    for (const secret of seed.secrets ?? []) {
      const attributes = {
        ...(secret.enabled !== undefined && { enabled: secret.enabled }),
        ...(secret.nbf !== undefined && { nbf: secret.nbf }),
        ...(secret.exp !== undefined && { exp: secret.exp }),
      };
      const input = {
        value: secret.value,
        ...(secret.contentType !== undefined && { contentType: secret.contentType }),
        ...(secret.tags !== undefined && { tags: secret.tags }),
        attributes,
      };
      const current = secrets.peekLatest(vault, secret.name);
      if (current && current.value === secret.value && current.contentType === secret.contentType && current.managed === (secret.managed ?? false)) continue;
      if (secret.managed) secrets.seedManagedSecret(vault, { ...input, name: secret.name, ...(secret.kid !== undefined && { kid: secret.kid }) });
      else if (!current?.deleted) secrets.setSecret(vault, secret.name, input);
    }
  }
}
