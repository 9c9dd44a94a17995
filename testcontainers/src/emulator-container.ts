// Testcontainers module for the kv-emulator image: starts the Azure Key Vault (secrets) emulator in a
// container, seeded from a config object (vaults, secrets, identities, role assignments: the same
// format as the emulator's --config file), and hands out what a test needs to use it with the real
// Azure SDK: vault URLs, the CA certificate, a managed-identity credential and client options; and the
// emulator's HTTPS proxy (port 8444), through which the SDK uses the real names (*.vault.azure.net,
// login.microsoftonline.com) unchanged.
// The admin key and the identity header are chosen here (random unless given) so they are known
// without reading the container's data directory; the admin API answers the host only with the key.
import { randomBytes } from 'node:crypto';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent } from 'node:https';
import { AbstractStartedContainer, GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { EmulatorManagedIdentityCredential } from './credential.js';
import { azureVaultUrlFor, emulatorAgent, proxyAgent, proxyUrlFor, vaultUrlFor } from './network.js';

export const EMULATOR_PORT = 8443;
/** The emulator's HTTPS proxy in the container (`EXPOSE`d by the image). */
export const PROXY_PORT = 8444;
export const CONFIG_PATH = '/config/emulator.json';
export const DATA_DIR = '/data';
export const DEFAULT_IMAGE = 'kv-emulator:latest';
export const ADMIN_KEY_HEADER = 'x-kv-emulator-admin-key';
/** The start banner's line naming the proxy, printed once both the HTTPS port and the proxy listen. */
export const PROXY_READY_LINE = /HTTPS proxy +http:\/\//;
/** The private address ranges (RFC 1918, RFC 4193) container networks and their gateways use. */
export const PRIVATE_NETWORK_RANGES: readonly string[] = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'];

/** The emulator's config file (see docs/cli-and-config.md and docs/identities-and-credentials.md); checked by the emulator at start. */
export interface EmulatorConfigFile {
  defaultVault?: string;
  vaults?: Array<{ name: string; secrets?: Array<{ name: string; value: string; [field: string]: unknown }>; [field: string]: unknown }>;
  adminKey?: string;
  identityHeader?: string;
  serverNames?: string[];
  [setting: string]: unknown;
}

export interface ManagedIdentitySelector {
  clientId?: string;
  objectId?: string;
  resourceId?: string;
}

const WILDCARD_COVERED = [/^localhost$/i, /\.localhost$/i, /\.vault\.azure\.net$/i];

/**
 * The config file the container is started with: the caller's config plus the admin key, the identity
 * header and, as extra certificate names, network aliases the default certificate does not cover.
 */
export function containerConfig(base: EmulatorConfigFile, extra: { adminKey: string; identityHeader: string; aliases: string[] }): EmulatorConfigFile {
  const names = new Set(base.serverNames ?? []);
  for (const alias of extra.aliases) {
    if (!WILDCARD_COVERED.some((pattern) => pattern.test(alias))) names.add(alias);
  }
  return {
    ...base,
    adminKey: extra.adminKey,
    identityHeader: extra.identityHeader,
    ...(names.size > 0 && { serverNames: [...names] }),
  };
}

/** The vault a vault-less getVaultUrl() means: defaultVault, else the first configured vault, else "default". */
export function defaultVaultOf(config: EmulatorConfigFile): string {
  return config.defaultVault ?? config.vaults?.[0]?.name ?? 'default';
}

export function emulatorCommand(): string[] {
  return ['start', '--host', '0.0.0.0', '--port', String(EMULATOR_PORT), '--proxy-port', String(PROXY_PORT), '--data-dir', DATA_DIR, '--config', CONFIG_PATH];
}

const randomKey = () => randomBytes(24).toString('base64url');

export class KeyVaultEmulatorContainer extends GenericContainer {
  private config: EmulatorConfigFile = {};
  private readonly aliases: string[] = [];

  /**
   * Builds the emulator image from a checkout of this project (its emulator/Dockerfile) and returns
   * the image name to pass to the constructor. Docker's layer cache makes a rebuild cheap.
   */
  static async buildImage(options: { context: string; dockerfile?: string; image?: string }): Promise<string> {
    const image = options.image ?? DEFAULT_IMAGE;
    await GenericContainer.fromDockerfile(options.context, options.dockerfile ?? 'emulator/Dockerfile').build(image, { deleteOnExit: false });
    return image;
  }

  constructor(image: string = DEFAULT_IMAGE) {
    super(image);
    // Ready when the HTTPS port answers and the proxy listens: the proxy starts once the HTTPS port
    // listens, and the start banner, which names it, is printed after both.
    this.withExposedPorts(EMULATOR_PORT, PROXY_PORT)
      .withWaitStrategy(
        Wait.forAll([Wait.forHttp('/_emulator/health', EMULATOR_PORT).usingTls().allowInsecure().forStatusCode(200), Wait.forLogMessage(PROXY_READY_LINE)]),
      )
      .withStartupTimeout(60_000);
  }

  /** Seeds the emulator: settings, vaults and their secrets, identities and role assignments (merged, later wins). */
  withConfig(config: EmulatorConfigFile): this {
    if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new TypeError('withConfig expects the config file as an object.');
    this.config = { ...this.config, ...config };
    return this;
  }

  withAdminKey(adminKey: string): this {
    return this.withConfig({ adminKey });
  }

  withIdentityHeader(identityHeader: string): this {
    return this.withConfig({ identityHeader });
  }

  /**
   * Lets the emulator's IMDS token endpoint answer callers in these ranges (CIDR), besides the
   * container's own loopback; it refuses others with 403, as Azure's IMDS is reachable only from inside
   * its machine. A request from the host to the mapped port arrives from the container network's
   * gateway, so a test calling IMDS from the host (AZURE_POD_IDENTITY_AUTHORITY_HOST) needs that range,
   * for example PRIVATE_NETWORK_RANGES. The module's own credential (getCredential) uses the App Service
   * endpoint, which needs no such range.
   */
  withImdsAllowedSources(...ranges: string[]): this {
    return this.withConfig({ imds: { allowedSources: ranges } });
  }

  override withNetworkAliases(...networkAliases: string[]): this {
    this.aliases.push(...networkAliases);
    return super.withNetworkAliases(...networkAliases);
  }

  override async start(): Promise<StartedKeyVaultEmulatorContainer> {
    const config = containerConfig(this.config, {
      adminKey: this.config.adminKey ?? randomKey(),
      identityHeader: this.config.identityHeader ?? randomKey(),
      aliases: this.aliases,
    });
    this.withCopyContentToContainer([{ content: JSON.stringify(config, null, 2), target: CONFIG_PATH, mode: 0o644 }]);
    this.withCommand(emulatorCommand());
    const started = await super.start();
    const ca = await readFile(started, `${DATA_DIR}/ca.pem`);
    return new StartedKeyVaultEmulatorContainer(started, { config, caCertificate: ca });
  }
}

/** Reads a file of the container through the Docker API (exec), an authenticated channel. */
async function readFile(container: StartedTestContainer, path: string): Promise<string> {
  const result = await container.exec(['cat', path]);
  if (result.exitCode !== 0) throw new Error(`Could not read ${path} from the emulator container (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return result.stdout;
}

export class StartedKeyVaultEmulatorContainer extends AbstractStartedContainer {
  private readonly config: EmulatorConfigFile;
  private readonly caCertificate: string;
  private agent?: Agent;
  private proxyAgent?: HttpAgent;

  constructor(started: StartedTestContainer, options: { config: EmulatorConfigFile; caCertificate: string }) {
    super(started);
    this.config = options.config;
    this.caCertificate = options.caCertificate;
  }

  getPort(): number {
    return this.getMappedPort(EMULATOR_PORT);
  }

  /** `https://<vault>.vault.localhost:<port>` (the default vault when none is named); use with getClientOptions(). */
  getVaultUrl(vault: string = defaultVaultOf(this.config)): string {
    return vaultUrlFor(vault, this.getPort());
  }

  /** The emulator's origin seen from the host (admin API, token endpoint). */
  getOrigin(): string {
    return `https://localhost:${this.getPort()}`;
  }

  /** PEM of the CA that issued the emulator's server certificate. */
  getCaCertificate(): string {
    return this.caCertificate;
  }

  getAdminKey(): string {
    return this.config.adminKey!;
  }

  getIdentityHeader(): string {
    return this.config.identityHeader!;
  }

  /** App Service managed-identity endpoint, for IDENTITY_ENDPOINT. */
  getIdentityEndpoint(): string {
    return `${this.getOrigin()}/msi/token`;
  }

  /** The agent behind getClientOptions(): trusts the CA and reaches *.localhost names on the container's host. */
  getAgent(): Agent {
    return (this.agent ??= emulatorAgent({ ca: this.caCertificate, host: this.getHost() }));
  }

  /** Options for any Azure SDK client (`new SecretClient(url, credential, options)`). */
  getClientOptions(): { agent: Agent } {
    return { agent: this.getAgent() };
  }

  /** The host port mapped to the emulator's HTTPS proxy. */
  getProxyPort(): number {
    return this.getMappedPort(PROXY_PORT);
  }

  /** `http://<host>:<mapped proxy port>`: HTTPS_PROXY for a client of any language (see docs/proxy.md). */
  getProxyUrl(): string {
    return proxyUrlFor(this.getHost(), this.getProxyPort());
  }

  /** `https://<vault>.vault.azure.net`, the vault's real URL (the default vault when none is named); use with getProxyClientOptions(). */
  getProxyVaultUrl(vault: string = defaultVaultOf(this.config)): string {
    return azureVaultUrlFor(vault);
  }

  /** The agent behind getProxyClientOptions(): every request through the proxy, the emulator's CA trusted inside the tunnel. */
  getProxyAgent(): HttpAgent {
    return (this.proxyAgent ??= proxyAgent({ proxyUrl: this.getProxyUrl(), ca: this.caCertificate }));
  }

  /**
   * Options for any Azure SDK client or credential that should use the real names through the proxy:
   * `new SecretClient(kv.getProxyVaultUrl(), credential, kv.getProxyClientOptions())`, or
   * `new ClientSecretCredential(tenantId, clientId, secret, kv.getProxyClientOptions())` with the default
   * authority (login.microsoftonline.com).
   */
  getProxyClientOptions(): { agent: HttpAgent } {
    return { agent: this.getProxyAgent() };
  }

  /** A credential for one of the emulator's managed identities (the system-assigned one by default). */
  getCredential(identity: ManagedIdentitySelector = {}): EmulatorManagedIdentityCredential {
    return new EmulatorManagedIdentityCredential({
      endpoint: this.getIdentityEndpoint(),
      identityHeader: this.getIdentityHeader(),
      agent: this.getAgent(),
      ...identity,
    });
  }

  /** Calls the emulator's admin API (/_emulator/...) with the admin key. */
  async admin<T = unknown>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const { request } = await import('node:https');
    const url = new URL(`/_emulator${path}`, this.getOrigin());
    const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: init.method ?? 'GET',
          agent: this.getAgent(),
          headers: { [ADMIN_KEY_HEADER]: this.getAdminKey(), ...(payload !== undefined && { 'content-type': 'application/json' }) },
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (data += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: data }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    if (status < 200 || status >= 300) throw new Error(`admin ${path}: ${status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Reads a file of the emulator's data directory (ca.pem, token-signing-key.json, ...). */
  async readDataFile(name: string): Promise<string> {
    return readFile(this, `${DATA_DIR}/${name}`);
  }

  protected override async containerStopping(): Promise<void> {
    this.agent?.destroy();
    this.proxyAgent?.destroy();
  }
}
