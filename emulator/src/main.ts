#!/usr/bin/env node
// The kv-emulator command: `start` runs the emulator (parse flags/env/config, build, listen, close on
// SIGINT/SIGTERM); `env` prints the environment a Node app needs to use the running emulator with the
// real SDK and no code change; `logs` prints its audit log (logs-command.ts).
import { existsSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApp, EMULATOR_VERSION, type Emulator, type EmulatorFacts } from './app.js';
import { ConfigError, configFromEnv, DEFAULT_PROXY_PORT, DEFAULTS, parsePort, parseProxyPort, parseSourceList, readConfigFile, resolveConfig, type EmulatorConfig } from './config.js';
import { commandName, envCommand, portSuffix } from './cli/invocation.js';
import { tuneHeap } from './cli/heap.js';
import { launcherLineage, watchLauncher } from './cli/launcher-watch.js';
import { listenFailure, probeEmulator } from './cli/start-errors.js';
import { fingerprint, type Material } from './data-dir.js';
import { startFailure } from './durability/causes.js';
import { ADMIN_KEY_HEADER } from './http/routes/admin.js';
import type { OpenPrivateEndpoint } from './network/listeners.js';
import { SYSTEM_CA_FILES, writeCaBundle } from './tls/ca-bundle.js';
import { LOGS_HELP, logsCommand } from './logs-command.js';

const HELP = `kv-emulator ${EMULATOR_VERSION}: a local Azure Key Vault (secrets) emulator

Usage:
  kv-emulator start [options]     start the emulator (default command)
  kv-emulator env [--url URL] [--as P] [--proxy]   print shell exports for the running emulator: eval "$(kv-emulator env)"
  kv-emulator logs [--follow] [--status 403] [--operation SecretGet] [--vault v] [--json]
                                  print the running emulator's audit log, one line per call
  kv-emulator --version | --help

Options for start:
  --port N           HTTPS port (default ${DEFAULTS.port}; 0 picks a free port)
  --proxy-port N     HTTPS proxy port (default ${DEFAULT_PROXY_PORT}, or a free one with --port 0; 0 picks a free port; off disables it)
  --host H           address to listen on (default ${DEFAULTS.host}; 0.0.0.0 in containers)
  --data-dir D       where the database, CA and keys live (default ${DEFAULTS.dataDir} under the working directory)
  --in-memory        keep no data on disk (reuses the data directory's CA and keys if present)
  --config F         JSON config file (vaults, seeded secrets, settings; see docs/cli-and-config.md)
  --strict-vaults    refuse vault names not created by config, the admin API or the management plane
  --realistic        behave like the real service around its API: eventual consistency after deletes,
                     recovers and purges, and its request limits (docs/realistic-mode.md)
  --imds-allowed-sources R   address ranges besides loopback the IMDS token endpoint answers,
                     comma-separated CIDRs (e.g. 172.16.0.0/12 for a compose network); see docs/security.md
  --log-level L      fatal|error|warn|info|debug|trace|silent (default warn)

Options for env:
  --url URL          the emulator to ask (default $KV_EMULATOR_URL or https://localhost:${DEFAULTS.port})
  --format F         posix (default), powershell or dotenv
  --proxy            for any language: HTTPS_PROXY to the emulator's proxy, the real vault URL
                     (https://<vault>.vault.azure.net), the tenant form of the identity variables and a CA
                     bundle for every ecosystem, instead of the Node-only *.vault.localhost form
  --as P             the principal DefaultAzureCredential signs in as (name or object id): a service
                     principal (AD FS authority form, secret or federated token file) or a managed identity
                     (default: the first service principal with a client secret)

${LOGS_HELP}`;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] && !argv[0].startsWith('-') ? argv[0] : 'start';
  const args = command === argv[0] ? argv.slice(1) : argv;
  if (args.includes('--help') || args.includes('-h') || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.includes('--version')) {
    process.stdout.write(`${EMULATOR_VERSION}\n`);
    return 0;
  }
  if (command === 'start') return start(args);
  if (command === 'env') return env(args);
  if (command === 'logs') {
    return logsCommand({
      args,
      defaultUrl: process.env.KV_EMULATOR_URL ?? `https://localhost:${DEFAULTS.port}`,
      ...(process.env.KV_EMULATOR_ADMIN_KEY && { adminKey: process.env.KV_EMULATOR_ADMIN_KEY }),
      adminKeyHeader: ADMIN_KEY_HEADER,
      out: process.stdout,
      err: process.stderr,
    });
  }
  process.stderr.write(`Unknown command '${command}'.\n\n${HELP}`);
  return 2;
}

function cliConfig(args: string[]): Partial<EmulatorConfig> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' },
      'proxy-port': { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean' },
      config: { type: 'string' },
      'strict-vaults': { type: 'boolean' },
      realistic: { type: 'boolean' },
      'log-level': { type: 'string' },
      'imds-allowed-sources': { type: 'string' },
    },
  });
  const fromFile = values.config ? readConfigFile(values.config) : {};
  const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (values['log-level'] !== undefined && !logLevels.includes(values['log-level'])) {
    throw new ConfigError(`--log-level must be one of ${logLevels.join(', ')}.`);
  }
  const fromFlags: Partial<EmulatorConfig> = {
    ...(values.port !== undefined && { port: parsePort(values.port, '--port') }),
    ...(values['proxy-port'] !== undefined && { proxyPort: parseProxyPort(values['proxy-port'], '--proxy-port') }),
    ...(values.host !== undefined && { host: values.host }),
    ...(values['data-dir'] !== undefined && { dataDir: resolve(values['data-dir']) }),
    ...(values['in-memory'] && { inMemory: true }),
    ...(values['strict-vaults'] && { strictVaults: true }),
    ...(values.realistic && { realistic: true }),
    ...(values['log-level'] !== undefined && { logLevel: values['log-level'] as EmulatorConfig['logLevel'] }),
    ...(values['imds-allowed-sources'] !== undefined && { imdsAllowedSources: parseSourceList(values['imds-allowed-sources'], '--imds-allowed-sources') }),
  };
  return resolveConfig({ logLevel: 'warn' }, fromFile, configFromEnv(), fromFlags);
}

async function start(args: string[]): Promise<number> {
  // Who launched it, read before anything slow: npm killed while the emulator starts must still stop it.
  const lineage = launcherLineage(process.env);
  tuneHeap();
  // Output nobody reads any more (`kv-emulator start | head`, a closed terminal) is no reason to stop.
  process.stdout.on('error', () => undefined);
  let config: EmulatorConfig;
  let emulator: Emulator;
  let configured: EmulatorConfig | undefined;
  try {
    config = configured = cliConfig(args) as EmulatorConfig;
    emulator = await buildApp(config, { logger: { level: config.logLevel } });
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n`);
      return 2;
    }
    // A data directory on a full or read-only disk (or gone, or not ours) is the user's to fix: one line, no stack.
    const dataDir = configured?.inMemory === false ? configured.dataDir : undefined;
    const storage = dataDir === undefined ? undefined : startFailure(error, dataDir);
    if (storage) {
      process.stderr.write(`kv-emulator: ${storage}\n`);
      // At once: a token-signing key still being generated would otherwise fail to be written to that
      // storage when it is done, and add a warning after the one line.
      process.exit(1);
    }
    throw error;
  }
  // Before listening: a signal that came between the banner and its handler used to end the process at
  // once, before what is written at a close (a new token-signing key) was.
  let closing = false;
  let listening = false;
  const stop = async (signal: string) => {
    if (closing) return;
    closing = true;
    if (listening) process.stdout.write(`\n${signal}: stopping the emulator\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await emulator.app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    await emulator.app.listen({ port: config.port, host: config.host });
  } catch (error) {
    await emulator.app.close().catch(() => undefined);
    // A private endpoint that cannot listen is a configuration problem: one line, no stack.
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    // A port in use, a port that needs privileges, an address not this machine's: one line saying what to do.
    const other = (error as { code?: string }).code === 'EADDRINUSE' ? await probeEmulator(config.host, config.port) : undefined;
    const line = listenFailure(error, { what: 'the emulator', host: config.host, port: config.port, portFlag: '--port', envCommand: envCommand(process.env, config.host, config.port) }, other);
    if (!line) throw error;
    process.stderr.write(`kv-emulator: ${line}\n`);
    return 1;
  }
  try {
    await emulator.proxyListening();
  } catch (error) {
    await emulator.app.close().catch(() => undefined);
    const port = typeof config.proxyPort === 'number' ? config.proxyPort : 0;
    const line = listenFailure(error, { what: 'the HTTPS proxy', host: config.host, port, portFlag: '--proxy-port', envCommand: envCommand(process.env, config.host, port) });
    process.stderr.write(`kv-emulator: ${line ?? `the HTTPS proxy cannot listen on port ${String(config.proxyPort)}: ${(error as Error).message}`}\n`);
    return 1;
  }
  listening = true;
  const address = emulator.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const origin = `https://localhost${portSuffix(port)}`;
  process.stdout.write(
    banner(emulator.facts(origin), config, origin, {
      port,
      privateEndpoints: emulator.privateEndpoints(),
      realism: emulator.realism.describe(),
      newCa: emulator.material.newCa,
      env: process.env,
    }),
  );

  // Started through npm (`npx kv-emulator start &`): killing npm's pid stops the emulator too.
  watchLauncher({ lineage, onGone: (pid) => void stop(`the process that started the emulator (pid ${pid}) has exited`) });
  return -1;
}

function banner(
  facts: EmulatorFacts,
  config: EmulatorConfig,
  origin: string,
  {
    port,
    privateEndpoints,
    realism,
    newCa,
    env,
  }: { port: number; privateEndpoints: OpenPrivateEndpoint[]; realism: string | undefined; newCa: Material['newCa']; env: NodeJS.ProcessEnv },
): string {
  const envLine = envCommand(env, config.host, port);
  const caPath = facts.caFile ?? `(in memory: run \`${envLine}\` to write it to a file)`;
  // A CA made by this start is new to every client: say so, loudly if the directory held earlier data.
  const caNotes =
    newCa === undefined || config.inMemory
      ? []
      : newCa.kind === 'first'
        ? ['  (a new CA was generated by this start: trust it once, it is kept in the data directory)']
        : [
            `  WARNING: the data directory held earlier files (${newCa.earlierFiles.join(', ')}) but no CA: a new CA was generated,`,
            '  so clients that trusted the earlier one will refuse this emulator until they trust this ca.pem.',
          ];
  const listen = config.host === 'localhost' ? origin : `https://${config.host.includes(':') ? `[${config.host}]` : config.host}${portSuffix(port)}`;
  return [
    `Azure Key Vault emulator ${facts.version} listening on ${listen}`,
    `  Default vault     ${facts.vaultUrl}  (also ${origin})`,
    `  Other vaults      https://<name>.vault.localhost${portSuffix(port)}${facts.proxyUrl ? ', or https://<name>.vault.azure.net through the HTTPS proxy' : ''}`,
    `  Storage           ${config.inMemory ? 'in memory (nothing is kept)' : join(config.dataDir, 'emulator.db')}`,
    `  Tenant            ${facts.tenantId}`,
    `  Managed identity  ${facts.identityEndpoint} (App Service style; header secret in ${config.inMemory ? 'memory' : join(config.dataDir, 'identity-header')})`,
    `  IMDS              ${origin}/metadata/identity/oauth2/token (${config.imdsAllowedSources.length === 0 ? 'loopback callers only' : `loopback and ${config.imdsAllowedSources.join(', ')}`})`,
    `  Entra authority   ${origin}/${facts.tenantId} (tenant form) and ${origin}/adfs (AD FS form)`,
    `  Admin API         ${origin}/_emulator/ (loopback, or the ${ADMIN_KEY_HEADER} header)`,
    `  Dashboard         ${origin}/_emulator/ui  (vaults, identities, clock, events, the live audit log; in a terminal: kv-emulator logs --follow)`,
    ...(realism ? [`  Realism           ${realism}  (${origin}/_emulator/realism)`] : []),
    facts.proxyUrl
      ? `  HTTPS proxy       ${facts.proxyUrl}  (answers for *.vault.azure.net, login.microsoftonline.com...; other hosts ${facts.proxyPassthrough ? 'tunnelled' : 'refused'})`
      : '  HTTPS proxy       off',
    `  Management plane  ${origin}/subscriptions/${facts.subscriptionId} (Azure Resource Manager: docs/management-plane.md)`,
    `  CA certificate    ${caPath}  (sha256 ${fingerprint(facts.caPem)})`,
    ...privateEndpoints.map((e) => `  Private endpoint  ${e.name} for vault ${e.vault} on ${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.boundPort}`),
    ...caNotes,
    '',
    `  Use it from a shell:   eval "$(${envLine})"${facts.proxyUrl ? `   (any language: eval "$(${envCommand(env, config.host, port, '--proxy')})")` : ''}`,
    `  Trust the CA in Node:  export NODE_EXTRA_CA_CERTS=${facts.caFile ?? '<ca.pem>'}`,
    '  Trust it system-wide:  sudo cp <ca.pem> /usr/local/share/ca-certificates/kv-emulator.crt && sudo update-ca-certificates',
    '',
  ].join('\n');
}

function fetchInfo(url: string): Promise<EmulatorFacts> {
  return fetchAdmin<EmulatorFacts>(url, '/_emulator/info');
}

/** GET on the admin API (with KV_EMULATOR_ADMIN_KEY when set, for an emulator on another host). */
function fetchAdmin<T>(url: string, path: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const target = new URL(path, url);
    const adminKey = process.env.KV_EMULATOR_ADMIN_KEY;
    // The emulator's own CA is what we are fetching, so these calls cannot verify it; they only talk to
    // the URL the user named.
    const req = httpsRequest(target, { rejectUnauthorized: false, timeout: 5000, ...(adminKey && { headers: { [ADMIN_KEY_HEADER]: adminKey } }) }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${target.href} answered ${res.statusCode}: ${data}`));
        try {
          resolvePromise(JSON.parse(data) as T);
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`timed out asking ${target.href}`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Why `kv-emulator env` got nothing from `url`, and what to do, in one line: nothing listening, an
 * emulator that refuses this address its admin API (reached through Docker's -p, compose, another
 * machine: it wants KV_EMULATOR_ADMIN_KEY), or something that is not the emulator.
 */
function noAnswer(url: string, error: Error & { code?: string }): string {
  const command = commandName(process.env);
  const elsewhere = 'name the one you started with --url or KV_EMULATOR_URL';
  const status = /answered (\d+):/.exec(error.message)?.[1];
  if (status === '401') {
    return process.env.KV_EMULATOR_ADMIN_KEY
      ? `The emulator at ${url} refused the admin key in KV_EMULATOR_ADMIN_KEY (401). Set it to the content of admin.key in that emulator's data directory (in a container: docker exec <container> cat /data/admin.key), or its config's adminKey.`
      : `The emulator at ${url} answered 401: it answers the admin API (which kv-emulator env asks) from other addresses than its own loopback only with its admin key, as when it runs in a container or on another machine. ` +
          'Set KV_EMULATOR_ADMIN_KEY to the content of admin.key in its data directory (in a container: export KV_EMULATOR_ADMIN_KEY="$(docker exec <container> cat /data/admin.key)"), or to its config\'s adminKey.';
  }
  if (status !== undefined) return `${url} answered ${status} to /_emulator/info, which a kv-emulator answers with 200: is it a kv-emulator? Start one with: ${command} start, or ${elsewhere}.`;
  switch (error.code) {
    case 'ECONNREFUSED':
      return `No emulator is listening at ${url}. Start one with: ${command} start (it listens on https://localhost:${DEFAULTS.port}), or ${elsewhere}.`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The host of ${url} does not resolve. Check the URL (--url or KV_EMULATOR_URL).`;
    case 'EPROTO':
    case 'ERR_SSL_WRONG_VERSION_NUMBER':
      return `${url} answered, but not with HTTPS: the emulator speaks HTTPS only. Check the URL, or start one with: ${command} start.`;
    default:
      return `No emulator answered at ${url} (${error.message}). Start one with: ${command} start, or ${elsewhere}.`;
  }
}

/** What GET /_emulator/credentials answers (identity/issuance.ts). */
interface CredentialEnvironment {
  principal: { name: string; objectId: string };
  variables: Record<string, string>;
  unset: string[];
  federatedToken?: string;
}

export function resolverPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'localhost-resolver.cjs');
}

async function env(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: { url: { type: 'string' }, format: { type: 'string' }, as: { type: 'string' }, proxy: { type: 'boolean' } },
  });
  const url = values.url ?? process.env.KV_EMULATOR_URL ?? `https://localhost:${DEFAULTS.port}`;
  let protocol: string | undefined;
  try {
    protocol = new URL(url).protocol;
  } catch {
    // not a URL
  }
  if (protocol !== 'https:') {
    process.stderr.write(`${protocol ? `${url} is not an https:// URL` : `'${url}' is not a URL`}: the emulator speaks HTTPS only (--url or KV_EMULATOR_URL, e.g. https://localhost:${DEFAULTS.port}).\n`);
    return 2;
  }
  const format = values.format ?? 'posix';
  if (!['posix', 'powershell', 'dotenv'].includes(format)) {
    process.stderr.write(`--format must be posix, powershell or dotenv.\n`);
    return 2;
  }
  let facts: EmulatorFacts;
  try {
    facts = await fetchInfo(url);
  } catch (error) {
    process.stderr.write(`${noAnswer(url, error as Error)}\n`);
    return 1;
  }
  let credentials: CredentialEnvironment;
  try {
    const query = new URLSearchParams({ ...(values.as && { as: values.as }), ...(values.proxy && { authority: 'cloud' }) }).toString();
    credentials = await fetchAdmin<CredentialEnvironment>(url, `/_emulator/credentials${query ? `?${query}` : ''}`);
  } catch (error) {
    const reply = /answered \d+: (.*)$/s.exec((error as Error).message)?.[1];
    let message = reply ?? (error as Error).message;
    try {
      message = (JSON.parse(message) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not a Key Vault error body: show it as it came
    }
    process.stderr.write(`Cannot sign in as ${values.as ? `'${values.as}'` : 'the default principal'}: ${message}\n`);
    return 1;
  }
  const identityVars = Object.entries(credentials.variables);
  if (credentials.federatedToken !== undefined) {
    const tokenFile = join(tmpdir(), `kv-emulator-federated-${credentials.principal.objectId}.jwt`);
    writeFileSync(tokenFile, credentials.federatedToken, { mode: 0o600 });
    identityVars.push(['AZURE_FEDERATED_TOKEN_FILE', tokenFile]);
  }
  let caFile = facts.caFile;
  if (!caFile || !existsSync(caFile)) {
    caFile = join(tmpdir(), `kv-emulator-ca-${fingerprint(facts.caPem).replaceAll(':', '')}.pem`);
    writeFileSync(caFile, facts.caPem);
  }
  const resolver = resolverPath();
  const currentOptions = process.env.NODE_OPTIONS ?? '';
  let vars: Array<[string, string]>;
  if (values.proxy) {
    if (!facts.proxyUrl) {
      process.stderr.write(`The emulator at ${url} has no HTTPS proxy (it was started with --proxy-port off). Start it with its proxy, or use kv-emulator env without --proxy.\n`);
      return 1;
    }
    const vaultUrl = `https://${facts.defaultVault}.vault.azure.net`;
    // The system's CAs: those a CA variable already names, else the distribution's file.
    const bundle = writeCaBundle({
      caPem: facts.caPem,
      candidates: [process.env.SSL_CERT_FILE, process.env.REQUESTS_CA_BUNDLE, ...SYSTEM_CA_FILES],
      ...(facts.dataDir !== undefined && { dataDir: facts.dataDir }),
      tmpDir: tmpdir(),
    });
    // Direct to the emulator itself (identity endpoint, admin API); everything else through the proxy.
    const noProxy = [...new Set(['localhost', '127.0.0.1', '::1', new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')])].join(',');
    // Without the *.localhost resolver: it is not needed when every name goes through the proxy.
    const withoutResolver = currentOptions.replace(`--require "${resolver}"`, '').trim();
    vars = [
      ['HTTPS_PROXY', facts.proxyUrl],
      ['HTTP_PROXY', facts.proxyUrl],
      ['NO_PROXY', noProxy],
      // Some tools read only the lower-case forms, and Python prefers them when both are set.
      ['https_proxy', facts.proxyUrl],
      ['http_proxy', facts.proxyUrl],
      ['no_proxy', noProxy],
      ['NODE_EXTRA_CA_CERTS', caFile],
      ['REQUESTS_CA_BUNDLE', bundle],
      ['SSL_CERT_FILE', bundle],
      ['CURL_CA_BUNDLE', bundle],
      ...(withoutResolver !== currentOptions ? [['NODE_OPTIONS', withoutResolver] as [string, string]] : []),
      ['AZURE_KEYVAULT_URL', vaultUrl],
      ['KEY_VAULT_URL', vaultUrl],
      ['IDENTITY_ENDPOINT', facts.identityEndpoint],
      ['IDENTITY_HEADER', facts.identityHeader],
      ...identityVars,
      ['KV_EMULATOR_URL', url],
    ];
  } else {
    const nodeOptions = currentOptions.includes(resolver) ? currentOptions : `${currentOptions} --require "${resolver}"`.trim();
    const port = new URL(url).port || '443';
    vars = [
      ['NODE_EXTRA_CA_CERTS', caFile],
      ['NODE_OPTIONS', nodeOptions],
      ['AZURE_KEYVAULT_URL', facts.vaultUrl.replace(/:\d+$/, `:${port}`)],
      ['KEY_VAULT_URL', facts.vaultUrl.replace(/:\d+$/, `:${port}`)],
      ['IDENTITY_ENDPOINT', facts.identityEndpoint],
      ['IDENTITY_HEADER', facts.identityHeader],
      ...identityVars,
      ['KV_EMULATOR_URL', url],
    ];
  }
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  const lines = vars.map(([k, v]) =>
    // PowerShell: single quotes, in which nothing ($, `) is expanded; a quote is doubled.
    format === 'powershell' ? `$env:${k} = '${v.replaceAll("'", "''")}'` : format === 'dotenv' ? `${k}=${JSON.stringify(v)}` : `export ${k}=${quote(v)}`,
  );
  // Variables of another credential left in the shell would take precedence in DefaultAzureCredential.
  if (format !== 'dotenv') {
    lines.push(...credentials.unset.map((k) => (format === 'powershell' ? `Remove-Item Env:${k} -ErrorAction SilentlyContinue` : `unset ${k}`)));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    // A mistyped option is the user's, not a crash: its message and the usage, no stack.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`kv-emulator: ${(error as Error).message}\n\n${HELP}`);
      process.exit(2);
    }
    process.stderr.write(`kv-emulator: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
