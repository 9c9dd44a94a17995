// The composition root: builds the store, the domain services, the identity and the HTTP app from a
// configuration. It never listens (main.ts does); tests use `inject` or listen on port 0.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { assignmentIdFor, parseAccessConfig, type AccessConfig } from './access/config.js';
import { AccessControl } from './access/service.js';
import type { AuditRow } from './audit/filter.js';
import { AuditFile } from './audit/file.js';
import { AuditLog, type NewAuditRow } from './audit/log.js';
import { eventOf } from './audit/record.js';
import { ServiceMetrics } from './audit/metrics.js';
import { managementAuthentication } from './arm/authentication.js';
import { managementRoutes } from './arm/routes/management.js';
import { ArmService } from './arm/service.js';
import { JweBackupSealer, backupKeyFrom } from './backup/jwe-sealer.js';
import { FILES, loadMaterial, type Material } from './data-dir.js';
import { parseEventsConfig, type EventsConfig } from './events/config.js';
import { Dispatcher } from './events/dispatcher.js';
import { EventService } from './events/service.js';
import { NodeWebhookClient } from './events/webhook-client.js';
import { errors, KvError } from './errors.js';
import { ConfigError, DEFAULT_PROXY_PORT, type EmulatorConfig } from './config.js';
import { FaultInjector } from './faults/injector.js';
import { installAudit, type RefusedObserver } from './http/audit.js';
import { authorizationStep } from './http/authorization.js';
import { handleClientError, handleFrameworkError, installErrorMapper } from './http/error-mapper.js';
import { networkRulesStep } from './http/network-rules.js';
import { handToServer } from './http/connections.js';
import { adminNetworkRoutes } from './http/routes/admin-network.js';
import { BrokenConnections, faultStep } from './http/faults.js';
import { CAUSE_TEXT, codeOf } from './durability/causes.js';
import { describeChange, StorageGuard } from './durability/guard.js';
import { checkWellFormedText } from './http/text.js';
import { faultRoutes } from './http/routes/admin-faults.js';
import { realismStep } from './http/realism.js';
import { lazyChildLoggerFactory } from './http/request-logger.js';
import { realismRoutes } from './http/routes/admin-realism.js';
import { installDurableAnswers, installPipeline, notFoundError } from './http/pipeline.js';
import { adminAccess, adminRoutes } from './http/routes/admin.js';
import { adminEventRoutes } from './http/routes/admin-events.js';
import { adminLogRoutes } from './http/routes/admin-logs.js';
import { adminSecretRoutes } from './http/routes/admin-secrets.js';
import { adminIdentityRoutes } from './http/routes/admin-identity.js';
import { authorityRoutes } from './http/routes/authority.js';
import { APP_SERVICE_PATH, identityRoutes } from './http/routes/identity.js';
import { secretRoutes } from './http/routes/secrets.js';
import { Authority } from './identity/authority.js';
import { parseIdentities, type Fail } from './identity/config.js';
import { ManagedIdentityEndpoints } from './identity/managed-identity.js';
import { SourcePolicy } from './identity/source-ranges.js';
import { DEFAULT_RESOURCE_GROUP, DEFAULT_SUBSCRIPTION_ID, Directory, type Principal } from './identity/principals.js';
import { TokenService } from './identity/tokens.js';
import { parseNetworkConfig, type NetworkConfig } from './network/config.js';
import { NetworkRules } from './network/evaluate.js';
import { openPrivateEndpoints, PrivateEndpointBindError, type OpenPrivateEndpoint, type PrivateEndpointListeners } from './network/listeners.js';
import { approvedConnection, parseNetworkSettings, privateEndpointNameOf, type ArmLocation } from './network/settings.js';
import { Realism } from './realism/realism.js';
import { applyRealismPatch, PRESETS, presetOf, type RealismSettings } from './realism/settings.js';
import { SqliteAccessRepository, SqlitePrincipalRepository } from './store/access-repository.js';
import { SqliteAuditRepository } from './store/audit-repository.js';
import { SqliteArmRepository } from './store/arm-repository.js';
import type { SqliteDatabase } from './store/database.js';
import { SqliteEventRepository } from './store/event-repository.js';
import { SniCertificates } from './proxy/certificates.js';
import { HttpsProxy, type ProxyLimits } from './proxy/server.js';
import { SqliteSecretRepository, SqliteVaultRepository } from './store/secret-repository.js';
import { openStorage } from './store/storage.js';
import { ControllableClock } from './vault/clock.js';
import { resourceGroupOf } from './vault/model.js';
import { CLOUD_RESOURCES } from './vault/clouds.js';
import { SecretService } from './vault/secrets.js';
import { StateService } from './vault/state.js';
import { dashboardRoutes } from './ui/routes.js';
import { VaultService } from './vault/vaults.js';

export const EMULATOR_VERSION = '0.1.0';
/** Reported in x-ms-keyvault-service-version. */
const SERVICE_VERSION = `1.9.0.0-kv-emulator-${EMULATOR_VERSION}`;

/** How often the data directory's files are looked at when nothing is written (durability/guard.ts). */
const STORAGE_CHECK_MS = 5_000;

/** A storage fault as the guard names it (503 ServiceUnavailable). */
const isStorageFault = (error: unknown): error is KvError => error instanceof KvError && error.code === 'ServiceUnavailable';

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
  /** Tighter proxy limits (tests of proxy clients). */
  proxyLimits?: Partial<ProxyLimits>;
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
  /** Event Grid events: subscriptions, what changes publish, the clock sweep's time-based events. */
  events: EventService;
  /** Eventual consistency, request limits and latency (docs/realistic-mode.md). */
  realism: Realism;
  /** The management plane (ARM). */
  arm: ArmService;
  db: SqliteDatabase;
  /** The private endpoints' listeners, with the addresses they are bound to (empty until the app is ready). */
  privateEndpoints(): OpenPrivateEndpoint[];
  /** The audit log (undefined when turned off in the config). */
  audit: AuditLog<NewAuditRow> | undefined;
  metrics: ServiceMetrics;
  /** Facts a client needs, for a given origin (https://host:port). */
  facts(origin: string): EmulatorFacts;
  /**
   * The HTTPS proxy (proxy/server.ts), which listens once the app listens (HTTPS only, unless
   * `proxyPort` is 'off'): resolves its port, or undefined when there is none; rejects if it could not
   * listen on a port the configuration names.
   */
  proxyListening(): Promise<number | undefined>;
  /** Certificates made per TLS server name (HTTPS only). */
  sni: SniCertificates | undefined;
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
  /** The HTTPS proxy (http://<host of the origin>:<port>), when it listens. */
  proxyUrl?: string;
  /** Whether the proxy tunnels hosts it does not answer for (false: it refuses them). */
  proxyPassthrough?: boolean;
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
  const eventsConfig = parseEvents(config);
  const networkConfig = parseNetworkSection(config);
  const location: ArmLocation = { subscriptionId: DEFAULT_SUBSCRIPTION_ID, resourceGroup: DEFAULT_RESOURCE_GROUP };
  // Where one vault lives in ARM ids (events' topics, audit records): its own resource group once made
  // through ARM, the default one otherwise.
  const placeOf = (vault: string): ArmLocation => {
    const group = vaults.findAny(vault)?.resourceGroup;
    return group === undefined ? location : { ...location, resourceGroup: group };
  };
  const realismSettings = parseRealismConfig(config);
  const realism = new Realism({ clock, settings: realismSettings });

  // Writes are grouped into commits, synced before answers ("full"), and the log is checkpointed on a worker.
  let storageGuard: StorageGuard | undefined;
  const storage = openStorage({
    ...(!config.inMemory && { file: join(config.dataDir, FILES.database) }),
    durability: config.durability,
    checkpoints: {
      onCheckpoint: (result) => app.log.debug(result, 'write-ahead log checkpointed on the worker'),
      onMainCheckpoint: (result) => app.log.debug(result, 'write-ahead log checkpointed on the event loop'),
      onUnavailable: (error) => app.log.warn({ err: error }, 'background checkpoints are unavailable; SQLite checkpoints in its commits again'),
    },
    // Writes are acknowledged only while the data directory is the one opened and can take them.
    guard: (files) =>
      (storageGuard = new StorageGuard({
        dataDir: config.dataDir,
        files,
        onChange: (state, previous) => {
          const { level, message } = describeChange(state, previous, config.dataDir);
          app.log[level](message);
        },
      })),
  });
  const { db, commits } = storage;
  const secretRepo = new SqliteSecretRepository(db, commits);
  // Event Grid: events are written with the changes that cause them; the dispatcher sends them.
  const webhooks = new NodeWebhookClient({ extraCa: [material.tls.caCert] });
  const eventStore = new SqliteEventRepository(db, commits);
  const events = new EventService({
    store: eventStore,
    clock,
    webhooks,
    location: placeOf,
    handshakeTimeoutMs: eventsConfig.handshakeTimeoutMs,
    log: { info: (message) => app.log.info(message), warn: (message) => app.log.warn(message) },
  });
  const dispatcher = new Dispatcher({
    store: eventStore,
    clock,
    webhooks,
    location: placeOf,
    subscriptionOf: (vault, name) => events.find(vault, name),
    durable: () => commits.settled(),
    timeoutMs: eventsConfig.deliveryTimeoutMs,
    log: { debug: (message) => app.log.debug(message), warn: (message) => app.log.warn(message), error: (error, message) => app.log.error({ err: error }, message) },
  });
  events.onPublished(() => dispatcher.wake());
  const vaults = new VaultService({ vaults: new SqliteVaultRepository(db), clock, strict: config.strictVaults, events });
  const secrets = new SecretService({
    secrets: secretRepo,
    clock,
    sealer: new JweBackupSealer(material.backupKey),
    region: config.region,
    events,
    propagation: realism.consistency,
  });
  const state = new StateService({
    vaults,
    secrets,
    now: () => clock.now(),
    atomically: (work) => secretRepo.transaction(work),
    parseSettings: (vault, path) =>
      parseNetworkSettings(vault, {
        path,
        vault: String(vault.name).toLowerCase(),
        location: { ...location, ...(typeof vault.resourceGroup === 'string' && { resourceGroup: vault.resourceGroup }) },
        fail: (field, problem) => {
          throw errors.badParameter(`${field} ${problem}`);
        },
      }),
  });
  const tokens = new TokenService({
    clock,
    tenantId: config.tenantId,
    key: material.signingKey,
    extraAudiences: ['https://vault.localhost', 'https://localhost', ...CLOUD_RESOURCES.filter((r) => r !== 'https://vault.azure.net')],
  });
  const directory = new Directory(new SqlitePrincipalRepository(db));
  const access = new AccessControl(new SqliteAccessRepository(db), events);
  // A failed group commit rolled back whatever the group held, admin changes to the directory and access included.
  commits.onFailure((error) => {
    // Storage faults are logged by the guard, once per change of state.
    if (!isStorageFault(error)) app.log.error({ err: error }, 'a commit failed; its writes were rolled back');
    directory.reload();
    access.reload();
    events.reload();
    dispatcher.rolledBack();
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
    // One management-plane request is one change: at most one VaultAccessPolicyChanged per vault.
    atomically: (work) => events.coalesce(() => secretRepo.transaction(work)),
    events,
  });

  const faults = new FaultInjector();
  const reseed = () => {
    // Subscriptions first: the seeds' new versions publish to them and arm their expiry events.
    events.applyConfigured(eventsConfig.subscriptions);
    applySeeds(config, vaults, secrets, clock.now());
    linkPrivateEndpoints(networkConfig, vaults, location);
    armFaults(config, faults);
    realism.reset(realismSettings);
  };
  reseed();

  let observeRefused: RefusedObserver | undefined;
  const useHttps = options.https ?? true;
  const limits = { ...SERVER_LIMITS, ...options.limits };
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // A request without a Host header reaches the pipeline, which answers it in the envelope
    // (Node's own refusal is a bare 400 with an empty body).
    requireHostHeader: false,
  };
  // TLS names the server certificate does not cover (the proxy's: login.microsoftonline.com...) get one
  // of their own, made on first use.
  const sni = useHttps
    ? new SniCertificates({
        ca: { cert: material.tls.caCert, key: material.tls.caKey },
        serverCert: material.tls.cert,
        onMinted: (name, ms) => app.log.debug({ name, ms: Math.round(ms) }, 'certificate made for a TLS server name'),
        onError: (name, error) => app.log.error({ err: error, name }, 'could not make a certificate for a TLS server name'),
      })
    : undefined;
  const app = Fastify({
    logger: options.logger ?? false,
    // Each request's child logger is made only when it logs (http/request-logger.ts).
    ...(options.logger !== undefined && options.logger !== false && { childLoggerFactory: lazyChildLoggerFactory }),
    ...(useHttps
      ? { https: { key: material.tls.key, cert: material.tls.cert, handshakeTimeout: limits.handshakeTimeoutMs, SNICallback: sni!.callback, ...serverOptions } }
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
    frameworkErrors: (error, request, reply) => {
      observeRefused?.(request, reply);
      return handleFrameworkError(error, request, reply);
    },
  });

  installJsonParser(app);
  installErrorMapper(app, (request) => notFoundError(app, request), {
    storageFault: (error) => {
      // In memory there is no data directory to diagnose: the one storage limit is SQLite's size of memdb.
      if (config.inMemory) return codeOf(error) === 'SQLITE_FULL' ? errors.storageUnavailable('memoryFull') : undefined;
      const named = storageGuard?.failed(error);
      return isStorageFault(named) ? named : undefined;
    },
  });
  // Audit records and metrics: after the answer is sent (http/audit.ts), batched outside the commits.
  const recordOf = (row: AuditRow) => JSON.stringify(eventOf(row, location));
  const auditFilePath = config.auditLog.enabled && config.auditLog.file ? config.auditLog.file : undefined;
  const auditFile =
    auditFilePath === undefined
      ? undefined
      : new AuditFile({
          path: auditFilePath,
          onFailure: (error) =>
            app.log.error(`audit: the file ${auditFilePath} cannot be written (${codeOf(error) ?? String(error)}): its records are dropped until it can be (tried again every 5 s)`),
          onRecovered: (dropped) => app.log.info(`audit: the file ${auditFilePath} is written again (${dropped} records could not be written to it and were dropped)`),
        });
  const audit = config.auditLog.enabled
    ? new AuditLog<NewAuditRow>({
        repository: new SqliteAuditRepository(db, commits),
        build: (row) => row,
        retention: { maxRecords: config.auditLog.maxRecords, maxAgeMs: config.auditLog.maxAgeDays * 86_400_000 },
        ...(auditFile && { sink: (rows) => auditFile.write(`${rows.map(recordOf).join('\n')}\n`, rows.length) }),
        onError: (error) => app.log.error({ err: error }, 'audit records could not be written'),
        // A storage failure drops records (logged once per cause, and when they are written again); it
        // never changes what health and the data's writes are told (durability/guard.ts).
        causeOf: (error) => {
          const cause = storageGuard?.nameCause(error);
          return cause === undefined ? undefined : CAUSE_TEXT[cause];
        },
        onWriteFailure: (error, cause) => {
          if (cause === undefined) app.log.error({ err: error }, 'audit records could not be written; they are dropped');
          else app.log.error(`audit: records cannot be written because ${cause} (${codeOf(error) ?? 'no code'}): they are dropped until they can be; requests are answered as usual`);
        },
        onWriteRecovered: (dropped) => app.log.info(`audit: records are written again (${dropped} could not be written and were dropped)`),
      })
    : undefined;
  const metrics = new ServiceMetrics();
  const auditObservers = installAudit(app, {
    log: audit,
    metrics,
    defaultVault: config.defaultVault,
    resourceGroupOf: (vault) => vaults.findAny(vault)?.resourceGroup,
  });
  observeRefused = auditObservers.refused;
  installDurableAnswers(app, commits, auditObservers.sending);
  installPipeline(app, {
    vaults,
    tokens,
    defaultVault: config.defaultVault,
    region: config.region,
    serviceVersion: SERVICE_VERSION,
    management: managementAuthentication(tokens),
    admin: adminAccess(material.adminKey),
    steps: [
      networkRulesStep({ rules: new NetworkRules(networkConfig), region: config.region }),
      authorizationStep({ access, region: config.region, location }),
      realismStep(realism),
      faultStep(faults, new BrokenConnections(app)),
    ],
  });

  const proxy =
    useHttps && config.proxyPort !== 'off'
      ? new HttpsProxy({
          tlsServer: app.server,
          route: (request, response) => app.routing(request, response),
          passthrough: config.proxy.passthrough,
          clientError: (error, socket) => handleClientError.call(app, error, socket),
          log: app.log,
          limits: { headersTimeoutMs: limits.headersTimeoutMs, requestTimeoutMs: limits.requestTimeoutMs, maxHeaderBytes: limits.maxHeaderBytes, ...options.proxyLimits },
        })
      : undefined;
  let proxyStarted: Promise<number | undefined> | undefined;

  const facts = (origin: string): EmulatorFacts => {
    const url = new URL(origin);
    const port = url.port ? `:${url.port}` : '';
    const proxyHost = url.hostname;
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
      ...(proxy?.port !== undefined && { proxyUrl: `http://${proxyHost}:${proxy.port}`, proxyPassthrough: config.proxy.passthrough }),
      subscriptionId: DEFAULT_SUBSCRIPTION_ID,
      resourceGroup: DEFAULT_RESOURCE_GROUP,
    };
  };

  secretRoutes(app, secrets);
  faultRoutes(app, faults);
  realismRoutes(app, realism);
  identityRoutes(app, managedIdentity, { imdsSources: new SourcePolicy(config.imdsAllowedSources) });
  adminSecretRoutes(app, { vaults, secrets });
  dashboardRoutes(app);
  adminLogRoutes(app, { log: audit, metrics, recordOf, resolvePrincipal: (reference) => directory.find(reference)?.objectId ?? reference });
  authorityRoutes(app, new Authority({ tokens, directory, tenantId: config.tenantId, clock }));
  adminIdentityRoutes(app, { directory, access, tokens, clock });
  adminEventRoutes(app, { events, vaults, location: placeOf });
  let listeners: PrivateEndpointListeners | undefined;
  adminNetworkRoutes(app, { config: networkConfig, endpoints: () => listeners?.endpoints ?? [] });
  managementRoutes(app, arm);
  adminRoutes(app, {
    clock,
    vaults,
    secrets,
    state,
    reseed: () => {
      events.clear();
      arm.reset();
      reseed();
      resetIdentities(directory, access, identityConfig);
      events.validateInBackground();
    },
    afterClockMove: () => {
      events.sweep();
      dispatcher.wake();
    },
    location,
    health: () => storageGuard?.problem(),
    info: (request) => ({ ...facts(request.kv.origin), vaults: vaults.list().map((v) => v.name) }),
  });

  // Private endpoints listen while the app does, whether it is listened on (the CLI) or only injected
  // into (tests); their connections go to the one HTTPS server, tagged with the endpoint.
  app.addHook('onReady', async () => {
    try {
      listeners = await openPrivateEndpoints(networkConfig.privateEndpoints, (socket, endpoint) =>
        handToServer(app.server, socket, { via: 'private-endpoint', privateEndpoint: { name: endpoint.name, vault: endpoint.vault } }),
      );
    } catch (error) {
      throw error instanceof PrivateEndpointBindError ? new ConfigError(error.message) : error;
    }
  });
  app.addHook('onClose', async () => listeners?.close());

  let sweep: NodeJS.Timeout | undefined;
  let storageCheck: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    // The clock sweep: purges deleted secrets past their date and fires due time-based events.
    sweep = setInterval(() => {
      try {
        secrets.purgeExpired();
        arm.purgeExpiredVaults();
      } catch (error) {
        if (!isStorageFault(error)) app.log.error({ err: error }, 'purge sweep failed');
      }
      try {
        events.sweep();
      } catch (error) {
        if (!isStorageFault(error)) app.log.error({ err: error }, 'event sweep failed');
      }
    }, config.purgeSweepSeconds * 1000);
    sweep.unref();
    events.sweep();
    dispatcher.start();
    events.validateInBackground();
    // A data directory removed while nothing is written is noticed (logged, health unhealthy) all the same.
    if (storageGuard) {
      storageCheck = setInterval(() => storageGuard?.check(), STORAGE_CHECK_MS);
      storageCheck.unref();
    }
  });
  // The proxy listens on the addresses the app listens on. Its port: the configured one; by default 8444,
  // or a free port when the app was asked for a free port (tests, several emulators) or 8444 is taken.
  app.addHook('onListen', async () => {
    if (!proxy || proxyStarted) return;
    const addresses = app.addresses().filter((a): a is AddressInfo => typeof a === 'object');
    const hosts = addresses.map((a) => a.address);
    const appPort = addresses[0]?.port;
    const configured = typeof config.proxyPort === 'number' ? config.proxyPort : undefined;
    const preferred = configured ?? (config.port === 0 || appPort !== config.port ? 0 : DEFAULT_PROXY_PORT);
    proxyStarted = proxy.listen({ hosts, port: preferred }).catch(async (error: Error & { code?: string }) => {
      if (configured !== undefined || error.code !== 'EADDRINUSE') throw error;
      app.log.warn(`port ${preferred} is in use: the HTTPS proxy listens on a free port instead (kv-emulator env --proxy prints it)`);
      return proxy.listen({ hosts, port: 0 });
    });
    // The CLI says why in one line and stops (main.ts); here it is only kept from going unhandled.
    proxyStarted.catch((error: Error) => app.log.debug({ err: error }, 'the HTTPS proxy could not listen'));
  });
  app.addHook('onClose', async () => {
    if (sweep) clearInterval(sweep);
    if (storageCheck) clearInterval(storageCheck);
    events.stop();
    await dispatcher.close();
    await proxy?.close();
    audit?.close();
    await auditFile?.close();
    await storage.close();
    // A new token-signing key is written before the process may exit (data-dir.ts).
    await material.signingKey.catch(() => undefined);
  });

  return {
    app,
    config,
    clock,
    material,
    vaults,
    secrets,
    tokens,
    directory,
    access,
    events,
    realism,
    db,
    privateEndpoints: () => listeners?.endpoints ?? [],
    facts,
    proxyListening: () => proxyStarted ?? Promise.resolve(undefined),
    sni,
    audit,
    metrics,
    arm,
  };
}

/**
 * JSON bodies: an empty body is "no body" (backup/recover POSTs sent with a JSON content type by some
 * tools), anything unparsable is BadParameter via the error mapper, and so is a string with an unpaired
 * surrogate (http/text.ts). Other media types are refused (415).
 */
function installJsonParser(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', 'text/json'], { parseAs: 'string' }, (_request, text, done) => {
    const source = String(text);
    if (source.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(source);
    } catch {
      const error = Object.assign(new Error('The request body is not valid JSON.'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 });
      return done(error, undefined);
    }
    try {
      checkWellFormedText(source, parsed);
    } catch (error) {
      return done(error as Error, undefined);
    }
    done(null, parsed);
  });
}

/**
 * The config file's identity and access sections (docs/identities-and-credentials.md, docs/authorization.md), validated before anything
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

/** The config file's events settings and each vault's subscriptions, validated (ConfigErrors name the field). */
function parseEvents(config: EmulatorConfig): EventsConfig {
  return parseEventsConfig({ vaults: config.vaults, events: config.extensions.events }, (path, problem) => {
    throw new ConfigError(`Invalid configuration: '${path}' ${problem}`);
  });
}

/** The config file's network sections (docs/network-rules.md), validated before anything is opened. */
function parseNetworkSection(config: EmulatorConfig): NetworkConfig {
  const { privateEndpoints, subnets, trustedServices } = config.extensions;
  return parseNetworkConfig(
    { privateEndpoints, subnets, trustedServices },
    {
      defaultHost: config.host,
      fail: (path, problem) => {
        throw new ConfigError(`Invalid configuration: '${path}' ${problem}`);
      },
    },
  );
}

/**
 * Each configured private endpoint gets an approved connection on its vault (created if need be), as a
 * private endpoint made in the vault's own subscription is approved at once. A connection the vault
 * already has for it keeps its state, so one rejected through the admin API stays rejected.
 */
function linkPrivateEndpoints(network: NetworkConfig, vaults: VaultService, location: ArmLocation): void {
  for (const endpoint of network.privateEndpoints) {
    const vault = vaults.ensure(endpoint.vault, {});
    const name = endpoint.name.toLowerCase();
    if (vault.privateEndpointConnections.some((c) => privateEndpointNameOf(c.properties.privateEndpoint.id) === name)) continue;
    // The connection's id names the vault's own resource group (a vault made through ARM lives in its own).
    const approved = approvedConnection({ ...location, resourceGroup: resourceGroupOf(vault) }, vault.name, endpoint.name);
    vaults.update(vault.name, { privateEndpointConnections: [...vault.privateEndpointConnections, approved] });
  }
}

/**
 * The realism settings to start with: the preset (`--realistic`, else the section's `preset`, else off),
 * refined by the config file's `realism` section. Problems are ConfigErrors naming the field.
 */
function parseRealismConfig(config: EmulatorConfig): RealismSettings {
  const fail = (path: string, problem: string): never => {
    throw new ConfigError(`Invalid configuration: '${path}' ${problem}`);
  };
  const section = config.extensions.realism;
  if (section === undefined) return PRESETS[config.realistic ? 'realistic' : 'off'];
  if (typeof section !== 'object' || section === null || Array.isArray(section)) fail('realism', 'must be an object.');
  const { preset, ...parts } = section as Record<string, unknown>;
  const start = config.realistic ? 'realistic' : (presetOf(preset, 'realism.preset', fail) ?? 'off');
  return applyRealismPatch(PRESETS[start], parts, fail);
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
function applySeeds(config: EmulatorConfig, vaults: VaultService, secrets: SecretService, now: number): void {
  vaults.ensure(config.defaultVault, {});
  for (const seed of config.vaults) {
    const vault = vaults.ensure(seed.name, {
      ...(seed.softDeleteRetentionInDays !== undefined && { retentionDays: seed.softDeleteRetentionInDays }),
      ...(seed.purgeProtection !== undefined && { purgeProtection: seed.purgeProtection }),
      ...(seed.permissionModel !== undefined && { permissionModel: seed.permissionModel }),
      ...seed.network,
    });
    for (const secret of seed.secrets ?? []) {
      const attributes = {
        ...(secret.enabled !== undefined && { enabled: secret.enabled }),
        ...(secret.nbf !== undefined && { nbf: secret.nbf }),
        ...(secret.exp !== undefined && { exp: secret.exp }),
        ...(secret.expiresInDays !== undefined && { exp: Math.floor(now / 1000) + secret.expiresInDays * 86_400 }),
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
