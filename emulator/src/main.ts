#!/usr/bin/env node
// The kv-emulator command: `start` runs the emulator (parse flags/env/config, build, listen, close on
// SIGINT/SIGTERM); `env` prints the environment a Node app needs to use the running emulator with the
// real SDK and no code change.
import { existsSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApp, EMULATOR_VERSION, type Emulator, type EmulatorFacts } from './app.js';
import { ConfigError, configFromEnv, DEFAULTS, parsePort, readConfigFile, resolveConfig, type EmulatorConfig } from './config.js';
import { fingerprint } from './data-dir.js';
import { ADMIN_KEY_HEADER } from './http/routes/admin.js';

const HELP = `kv-emulator ${EMULATOR_VERSION}: a local Azure Key Vault (secrets) emulator

Usage:
  kv-emulator start [options]     start the emulator (default command)
  kv-emulator env [--url URL] [--as P]   print shell exports for the running emulator: eval "$(npx kv-emulator env)"
  kv-emulator --version | --help

Options for start:
  --port N           HTTPS port (default ${DEFAULTS.port}; 0 picks a free port)
  --host H           address to listen on (default ${DEFAULTS.host}; 0.0.0.0 in containers)
  --data-dir D       where the database, CA and keys live (default ${DEFAULTS.dataDir} under the working directory)
  --in-memory        keep no data on disk (reuses the data directory's CA and keys if present)
  --config F         JSON config file (vaults, seeded secrets, settings; see README)
  --strict-vaults    refuse vault names not created by config or the admin API
  --log-level L      fatal|error|warn|info|debug|trace|silent (default warn)

Options for env:
  --url URL          the emulator to ask (default $KV_EMULATOR_URL or https://localhost:${DEFAULTS.port})
  --format F         posix (default), powershell or dotenv
  --as P             the principal DefaultAzureCredential signs in as (name or object id): a service
                     principal (AD FS authority form, secret or federated token file) or a managed identity
                     (default: the first service principal with a client secret)
`;

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
  process.stderr.write(`Unknown command '${command}'.\n\n${HELP}`);
  return 2;
}

function cliConfig(args: string[]): Partial<EmulatorConfig> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'in-memory': { type: 'boolean' },
      config: { type: 'string' },
      'strict-vaults': { type: 'boolean' },
      'log-level': { type: 'string' },
    },
  });
  const fromFile = values.config ? readConfigFile(values.config) : {};
  const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (values['log-level'] !== undefined && !logLevels.includes(values['log-level'])) {
    throw new ConfigError(`--log-level must be one of ${logLevels.join(', ')}.`);
  }
  const fromFlags: Partial<EmulatorConfig> = {
    ...(values.port !== undefined && { port: parsePort(values.port, '--port') }),
    ...(values.host !== undefined && { host: values.host }),
    ...(values['data-dir'] !== undefined && { dataDir: resolve(values['data-dir']) }),
    ...(values['in-memory'] && { inMemory: true }),
    ...(values['strict-vaults'] && { strictVaults: true }),
    ...(values['log-level'] !== undefined && { logLevel: values['log-level'] as EmulatorConfig['logLevel'] }),
  };
  return resolveConfig({ logLevel: 'warn' }, fromFile, configFromEnv(), fromFlags);
}

async function start(args: string[]): Promise<number> {
  let config: EmulatorConfig;
  let emulator: Emulator;
  try {
    config = cliConfig(args) as EmulatorConfig;
    emulator = await buildApp(config, { logger: { level: config.logLevel } });
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${(error as Error).message}\n`);
      return 2;
    }
    throw error;
  }
  await emulator.app.listen({ port: config.port, host: config.host });
  const address = emulator.app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const origin = `https://localhost:${port}`;
  process.stdout.write(banner(emulator.facts(origin), config, origin));

  let closing = false;
  const stop = async (signal: string) => {
    if (closing) return;
    closing = true;
    process.stdout.write(`\n${signal}: stopping the emulator\n`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await emulator.app.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return -1;
}

function banner(facts: EmulatorFacts, config: EmulatorConfig, origin: string): string {
  const caPath = facts.caFile ?? '(in memory: run `kv-emulator env` to write it to a file)';
  const listen = config.host === 'localhost' ? origin : `https://${config.host.includes(':') ? `[${config.host}]` : config.host}:${new URL(origin).port}`;
  return [
    `Azure Key Vault emulator ${facts.version} listening on ${listen}`,
    `  Default vault     ${facts.vaultUrl}  (also ${origin})`,
    `  Other vaults      https://<name>.vault.localhost:${new URL(origin).port}, or any <name>.vault.azure.net that resolves here`,
    `  Storage           ${config.inMemory ? 'in memory (nothing is kept)' : join(config.dataDir, 'emulator.db')}`,
    `  Tenant            ${facts.tenantId}`,
    `  Managed identity  ${facts.identityEndpoint} (App Service style; header secret in ${config.inMemory ? 'memory' : join(config.dataDir, 'identity-header')})`,
    `  Entra authority   ${origin}/${facts.tenantId} (tenant form) and ${origin}/adfs (AD FS form)`,
    `  Admin API         ${origin}/_emulator/ (loopback, or the ${ADMIN_KEY_HEADER} header)`,
    `  Management plane  ${origin}/subscriptions/${facts.subscriptionId} (Azure Resource Manager: docs/management-plane.md)`,
    `  CA certificate    ${caPath}  (sha256 ${fingerprint(facts.caPem)})`,
    '',
    '  Use it from a shell:   eval "$(npx kv-emulator env)"',
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
  const { values } = parseArgs({ args, strict: true, options: { url: { type: 'string' }, format: { type: 'string' }, as: { type: 'string' } } });
  const url = values.url ?? process.env.KV_EMULATOR_URL ?? `https://localhost:${DEFAULTS.port}`;
  const format = values.format ?? 'posix';
  if (!['posix', 'powershell', 'dotenv'].includes(format)) {
    process.stderr.write(`--format must be posix, powershell or dotenv.\n`);
    return 2;
  }
  let facts: EmulatorFacts;
  try {
    facts = await fetchInfo(url);
  } catch (error) {
    process.stderr.write(`No emulator answered at ${url} (${(error as Error).message}). Start it with: npm start\n`);
    return 1;
  }
  let credentials: CredentialEnvironment;
  try {
    credentials = await fetchAdmin<CredentialEnvironment>(url, `/_emulator/credentials${values.as ? `?as=${encodeURIComponent(values.as)}` : ''}`);
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
  const nodeOptions = currentOptions.includes(resolver) ? currentOptions : `${currentOptions} --require "${resolver}"`.trim();
  const port = new URL(url).port || '443';
  const vars: Array<[string, string]> = [
    ['NODE_EXTRA_CA_CERTS', caFile],
    ['NODE_OPTIONS', nodeOptions],
    ['AZURE_KEYVAULT_URL', facts.vaultUrl.replace(/:\d+$/, `:${port}`)],
    ['KEY_VAULT_URL', facts.vaultUrl.replace(/:\d+$/, `:${port}`)],
    ['IDENTITY_ENDPOINT', facts.identityEndpoint],
    ['IDENTITY_HEADER', facts.identityHeader],
    ...identityVars,
    ['KV_EMULATOR_URL', url],
  ];
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
  const lines = vars.map(([k, v]) =>
    format === 'powershell' ? `$env:${k} = "${v.replaceAll('"', '`"')}"` : format === 'dotenv' ? `${k}=${JSON.stringify(v)}` : `export ${k}=${quote(v)}`,
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
