// The Azure CLI against the emulator's management plane, as a new user would run it (docs/management-plane.md,
// "The Azure CLI"): register the emulator as a cloud (the CLI reads GET /metadata/endpoints), sign in as a
// service principal in the AD FS form, get tokens, create a resource group and a vault with RBAC, update
// it, assign a role, reach the vault's data plane with `az rest`, delete, recover and purge the vault.
// The Debian `azure-cli` package (2.45) is what CI installs; where its build cannot do a step (its
// `az role assignment` commands and `az keyvault secret` data-plane commands fail on mismatched SDK
// packages), the step goes through `az rest`, and the docs say so. Emulator only: the cloud registered
// is the emulator. Skipped with the reason when `az` is not installed.
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, skipReason, target, uniqueName } from '../support/target.js';

function azMissing(): string | undefined {
  try {
    execFileSync('az', ['version', '-o', 'none'], { stdio: 'ignore', timeout: 60_000, env: { ...process.env, AZURE_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'az-probe-')) } });
    return undefined;
  } catch {
    return 'the Azure CLI (az) is not installed (Debian: apt-get install azure-cli)';
  }
}

function skip(): boolean {
  if (skipReason('registers the emulator as an Azure CLI cloud')) return true;
  if (!target.dataDir) {
    console.log('[contracts] skipped: the Azure CLI test needs the emulator data directory (its CA file and service principal secret)');
    return true;
  }
  const missing = azMissing();
  if (missing) console.log(`[contracts] skipped: ${missing}`);
  return missing !== undefined;
}

interface Az {
  (args: string[]): Promise<unknown>;
  /** Runs and returns the failure's output instead of throwing. */
  failing(args: string[]): Promise<string>;
}

/** `az` with a private configuration directory, trusting the emulator's CA. */
function azIn(configDir: string): Az {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: configDir,
    AZURE_CONFIG_DIR: configDir,
    REQUESTS_CA_BUNDLE: join(target.dataDir!, 'ca.pem'),
    AZURE_CORE_COLLECT_TELEMETRY: 'false',
    AZURE_CORE_NO_COLOR: 'true',
  };
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('az', [...args, '--only-show-errors'], { env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const az = (async (args: string[]) => {
    const result = await run([...args, '-o', 'json']);
    if (result.code !== 0) throw new Error(`az ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result.stdout.trim() === '' ? undefined : JSON.parse(result.stdout);
  }) as Az;
  az.failing = async (args) => {
    const result = await run([...args, '-o', 'json']);
    if (result.code === 0) throw new Error(`az ${args.join(' ')} succeeded: ${result.stdout}`);
    return result.stderr;
  };
  return az;
}

describe.skipIf(skip())('the Azure CLI (Debian azure-cli)', () => {
  const dirs: string[] = [];
  const origin = () => target.origin;
  const port = () => new URL(target.origin).port;
  const cloud = `kvemu${randomUUID().slice(0, 8)}`;
  const group = uniqueName('cli').slice(0, 40);
  const vault = uniqueName('cli').toLowerCase().slice(0, 24);
  let az: Az;
  let first: string;
  let subscriptionId: string;

  /** A private configuration directory; `like` copies another's clouds and command index, not its sign-ins. */
  const newConfig = (like?: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-contract-az-'));
    dirs.push(dir);
    for (const file of ['clouds.config', 'config', 'commandIndex.json', 'versionCheck.json']) {
      if (like && existsSync(join(like, file))) copyFileSync(join(like, file), join(dir, file));
    }
    return azIn(dir);
  };
  const register = async (cli: Az) => {
    await cli(['cloud', 'register', '-n', cloud, '--endpoint-resource-manager', `${origin()}/`, '--suffix-keyvault-dns', '.vault.localhost']);
    // `az keyvault create` builds a Microsoft Graph client, whose resource the metadata does not name.
    await cli(['cloud', 'update', '-n', cloud, '--cloud-config', JSON.stringify({ endpoints: { microsoftGraphResourceId: 'https://graph.microsoft.com/' } })]);
    await cli(['cloud', 'set', '-n', cloud]);
  };
  /** The data plane of the test vault through `az rest` (the Host header names the vault; *.vault.localhost needs no DNS entry then). */
  const vaultRest = (cli: Az, method: string, path: string, body?: unknown) =>
    cli([
      'rest', '--method', method,
      '--url', `${origin()}${path}?api-version=7.4`,
      '--resource', 'https://vault.azure.net',
      '--headers', `Host=${vault}.vault.localhost:${port()}`,
      ...(body === undefined ? [] : ['--body', JSON.stringify(body)]),
    ]);

  beforeAll(async () => {
    az = newConfig();
    await register(az);
    first = dirs[0]!;
    const clientSecret = readFileSync(join(target.dataDir!, 'client-secret'), 'utf8').trim();
    const sp = await admin<{ clientId: string }>('/identities/kv-emulator-sp');
    const accounts = (await az(['login', '--service-principal', '-u', sp.clientId, '-p', clientSecret, '--tenant', 'adfs'])) as Array<{ id: string; name: string }>;
    subscriptionId = accounts[0]!.id;
  }, 180_000);

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('registers the cloud from /metadata/endpoints and signs in as a service principal (AD FS form)', { timeout: 120_000 }, async () => {
    const shown = (await az(['cloud', 'show', '-n', cloud])) as { endpoints: Record<string, string> };
    expect(shown.endpoints).toMatchObject({
      resourceManager: `${origin()}/`,
      activeDirectory: `${origin()}/`,
      activeDirectoryResourceId: 'https://management.core.windows.net/',
      activeDirectoryGraphResourceId: 'https://graph.windows.net/',
    });
    const info = await admin<{ subscriptionId: string; tenantId: string }>('/info');
    expect(subscriptionId).toBe(info.subscriptionId);
    const armToken = (await az(['account', 'get-access-token'])) as { accessToken: string };
    const vaultToken = (await az(['account', 'get-access-token', '--resource', 'https://vault.azure.net'])) as { accessToken: string };
    const aud = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).aud;
    expect(aud(armToken.accessToken)).toBe('https://management.core.windows.net/');
    expect(aud(vaultToken.accessToken)).toBe('https://vault.azure.net');
  });

  it('creates a group and an RBAC vault, updates it, and reaches its data plane with az rest', { timeout: 120_000 }, async () => {
    expect(await az(['group', 'create', '-n', group, '-l', 'westeurope'])).toMatchObject({ name: group, location: 'westeurope' });
    const created = (await az(['keyvault', 'create', '-n', vault, '-g', group, '--enable-rbac-authorization', 'true', '--retention-days', '7'])) as {
      properties: Record<string, unknown>;
    };
    expect(created.properties).toMatchObject({ enableRbacAuthorization: true, softDeleteRetentionInDays: 7, vaultUri: `https://${vault}.vault.localhost:${port()}/` });
    const updated = (await az(['keyvault', 'update', '-n', vault, '-g', group, '--enable-purge-protection', 'true'])) as { properties: Record<string, unknown> };
    expect(updated.properties.enablePurgeProtection).toBe(true);
    expect((await admin<{ purgeProtection: boolean }>(`/vaults/${vault}`)).purgeProtection).toBe(true);
    // The signed-in principal holds Key Vault Administrator at the emulator root (the default configuration).
    expect(await vaultRest(az, 'put', '/secrets/db-password', { value: 'p@ss' })).toMatchObject({ value: 'p@ss' });
  });

  it('assigns Key Vault Secrets User with az rest (the Debian build breaks `az role assignment`); the app reads, then is refused', { timeout: 120_000 }, async () => {
    const app = await admin<{ objectId: string; clientId: string }>(`/identities/${uniqueName('cli-app')}`, { method: 'PUT', body: { kind: 'servicePrincipal', clientSecret: 'cli-app-secret' } });
    const scope = `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/Microsoft.KeyVault/vaults/${vault}`;
    const assignmentId = `${scope}/providers/Microsoft.Authorization/roleAssignments/${randomUUID()}`;
    const assigned = (await az([
      'rest', '--method', 'put',
      '--url', `${origin()}${assignmentId}?api-version=2022-04-01`,
      '--body', JSON.stringify({
        properties: {
          roleDefinitionId: `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6`,
          principalId: app.objectId,
          principalType: 'ServicePrincipal',
        },
      }),
    ])) as { id: string; properties: { scope: string } };
    expect(assigned.id).toBe(assignmentId);
    expect(assigned.properties.scope).toBe(scope);

    const asApp = newConfig(first);
    // The app holds no role in the subscription: ARM lists none, so it signs in at the tenant level.
    await asApp(['login', '--service-principal', '-u', app.clientId, '-p', 'cli-app-secret', '--tenant', 'adfs', '--allow-no-subscriptions']);
    expect(await vaultRest(asApp, 'get', '/secrets/db-password')).toMatchObject({ value: 'p@ss' });
    await az(['rest', '--method', 'delete', '--url', `${origin()}${assignmentId}?api-version=2022-04-01`]);
    const refused = await asApp.failing([
      'rest', '--method', 'get',
      '--url', `${origin()}/secrets/db-password?api-version=7.4`,
      '--resource', 'https://vault.azure.net',
      '--headers', `Host=${vault}.vault.localhost:${port()}`,
    ]);
    expect(refused).toContain('Forbidden');
    expect(refused).toContain('ForbiddenByRbac');
  });

  it('deletes the vault into the deleted vaults; purge protection refuses the purge; recover brings it back', { timeout: 120_000 }, async () => {
    await az(['keyvault', 'delete', '-n', vault, '-g', group]);
    const deleted = (await az(['keyvault', 'list-deleted'])) as Array<{ name: string; properties: { purgeProtectionEnabled: boolean } }>;
    expect(deleted.find((v) => v.name === vault)?.properties.purgeProtectionEnabled).toBe(true);
    expect(await az.failing(['keyvault', 'purge', '-n', vault])).toContain("Operation 'DeletedVaultPurge' is not allowed.");
    await az(['keyvault', 'recover', '-n', vault]);
    expect(await vaultRest(az, 'get', '/secrets/db-password')).toMatchObject({ value: 'p@ss' });
  });
;
});
