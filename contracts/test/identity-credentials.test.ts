// Every way an app signs in, with the real @azure/identity credentials against the emulator's own
// directory and authority: ManagedIdentityCredential both ways (App Service endpoint and IMDS),
// ClientSecretCredential (AD FS and tenant forms), WorkloadIdentityCredential with a federated token
// file, and DefaultAzureCredential / EnvironmentCredential from exactly what `kv-emulator env` prints.
// Credentials that read the process environment run in their own Node process with that environment.
import { ClientSecretCredential, ManagedIdentityCredential, WorkloadIdentityCredential, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, otherVaultUrl, skipReason, target, uniqueName } from '../support/target.js';
import { assignRole, claimsOf, emulatorInfo, principals, probeAfterEnv, probeWith, secretCredential, type TestPrincipal } from '../support/identity.js';

describe.skipIf(skipReason("signs in as principals of the emulator's own directory, through its token endpoints"))('signing in', () => {
  const made = principals();
  const vault = uniqueName('signin').slice(0, 40);
  let vaultUrl: string;

  beforeAll(() => {
    vaultUrl = otherVaultUrl(vault);
  });
  afterAll(() => admin(`/vaults/${vault}`, { method: 'DELETE' }).catch(() => undefined));

  /** Writes and reads a secret with the credential; returns the oid the credential's token carries. */
  async function roundTrip(credential: TokenCredential): Promise<string> {
    const client = new SecretClient(vaultUrl, credential);
    const name = uniqueName('signin');
    const value = `value-${name}`;
    await client.setSecret(name, value);
    expect((await client.getSecret(name)).value).toBe(value);
    const token = await credential.getToken('https://vault.azure.net/.default');
    return claimsOf(token!.token).oid as string;
  }

  describe('ManagedIdentityCredential', () => {
    let userAssigned: TestPrincipal;
    beforeAll(async () => {
      userAssigned = await made.managedIdentity('ua');
      await assignRole(userAssigned, 'Key Vault Secrets Officer', `/vaults/${vault}`);
    });

    it('App Service way: the system-assigned identity, and a user-assigned one by client id, resource id and object id', async () => {
      const system = await admin<TestPrincipal>('/identities/kv-emulator-app');
      expect(await roundTrip(new ManagedIdentityCredential())).toBe(system.objectId);
      expect(await roundTrip(new ManagedIdentityCredential({ clientId: userAssigned.clientId }))).toBe(userAssigned.objectId);
      expect(await roundTrip(new ManagedIdentityCredential({ resourceId: userAssigned.resourceId! }))).toBe(userAssigned.objectId);
      expect(await roundTrip(new ManagedIdentityCredential({ objectId: userAssigned.objectId }))).toBe(userAssigned.objectId);
    });

    it('App Service way: an unknown identity fails at once (400, not the 404 the SDK retries)', async () => {
      const error = await new ManagedIdentityCredential({ clientId: '00000000-0000-4000-8000-0000000000ff' }).getToken('https://vault.azure.net/.default').catch((e: Error) => e);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/Identity not found/);
    });

    it('IMDS way, through AZURE_POD_IDENTITY_AUTHORITY_HOST (system- and user-assigned)', async () => {
      const env = {
        NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS!,
        NODE_OPTIONS: process.env.NODE_OPTIONS!,
        AZURE_POD_IDENTITY_AUTHORITY_HOST: target.origin,
      };
      const system = await admin<TestPrincipal>('/identities/kv-emulator-app');
      const byClientId = `managed-identity:${userAssigned.clientId}`;
      const results = await probeWith(env, vaultUrl, ['managed-identity', byClientId, 'default']);
      expect(results).toEqual({
        'managed-identity': { value: 'written-by-managed-identity', oid: system.objectId, appid: system.clientId },
        [byClientId]: { value: `written-by-${byClientId}`, oid: userAssigned.objectId, appid: userAssigned.clientId },
        default: { value: 'written-by-default', oid: system.objectId, appid: system.clientId },
      });
    });
  });

  describe('ClientSecretCredential', () => {
    let sp: TestPrincipal;
    beforeAll(async () => {
      sp = await made.servicePrincipal('sp');
      await assignRole(sp, 'Key Vault Secrets Officer', `/vaults/${vault}`);
    });

    it('AD FS form (tenant "adfs" + authorityHost): no instance discovery, no extra option', async () => {
      expect(await roundTrip(await secretCredential(sp, 'adfs'))).toBe(sp.objectId);
    });

    it('tenant form (GUID + authorityHost + disableInstanceDiscovery)', async () => {
      expect(await roundTrip(await secretCredential(sp, 'tenant'))).toBe(sp.objectId);
    });

    it('a wrong secret, an unknown client and a wrong tenant fail with Entra errors', async () => {
      const { tenantId } = await emulatorInfo();
      const options = { authorityHost: target.origin, disableInstanceDiscovery: true };
      const scope = 'https://vault.azure.net/.default';
      const wrongSecret = await new ClientSecretCredential(tenantId, sp.clientId, 'not-the-secret', options).getToken(scope).catch((e: Error) => e);
      expect((wrongSecret as Error).message).toContain(`AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${sp.clientId}'.`);
      const unknown = await new ClientSecretCredential(tenantId, '00000000-0000-4000-8000-0000000000ee', 'x', options).getToken(scope).catch((e: Error) => e);
      expect((unknown as Error).message).toContain("AADSTS700016: Application with identifier '00000000-0000-4000-8000-0000000000ee' was not found");
      // The tenant's discovery document answers AADSTS90002, so MSAL cannot resolve the authority.
      const wrongTenant = await new ClientSecretCredential('00000000-0000-4000-8000-0000000000dd', sp.clientId, sp.clientSecret!, options).getToken(scope).catch((e: Error) => e);
      expect((wrongTenant as Error).message).toMatch(/endpoints_resolution_error/);
    });
  });

  describe('WorkloadIdentityCredential', () => {
    it('exchanges a federated token file for a token (tenant and AD FS forms)', async () => {
      const workload = await made.servicePrincipal('wl', {
        clientSecret: undefined,
        federatedCredentials: [{ issuer: 'https://oidc.cluster.example', subject: 'system:serviceaccount:apps:web' }],
      });
      await assignRole(workload, 'Key Vault Secrets Officer', `/vaults/${vault}`);
      const { token } = await admin<{ token: string }>('/federatedTokens', { method: 'POST', body: { principal: workload.objectId } });
      const tokenFilePath = join(mkdtempSync(join(tmpdir(), 'kv-federated-')), 'token');
      writeFileSync(tokenFilePath, token);
      const { tenantId } = await emulatorInfo();
      const tenantForm = new WorkloadIdentityCredential({ tenantId, clientId: workload.clientId, tokenFilePath, authorityHost: target.origin, disableInstanceDiscovery: true });
      expect(await roundTrip(tenantForm)).toBe(workload.objectId);
      const adfsForm = new WorkloadIdentityCredential({ tenantId: 'adfs', clientId: workload.clientId, tokenFilePath, authorityHost: target.origin });
      expect(await roundTrip(adfsForm)).toBe(workload.objectId);
    });
  });

  describe('DefaultAzureCredential from `kv-emulator env`', () => {
    it('signs in as the built-in service principal by default (EnvironmentCredential, AD FS form)', async () => {
      const sp = await admin<TestPrincipal>('/identities/kv-emulator-sp');
      expect(await probeAfterEnv([], vaultUrl, ['default', 'environment'])).toEqual({
        default: { value: 'written-by-default', oid: sp.objectId, appid: sp.clientId },
        environment: { value: 'written-by-environment', oid: sp.objectId, appid: sp.clientId },
      });
    });

    it('signs in as the principal named by --as: a managed identity or a federated service principal', async () => {
      const mi = await made.managedIdentity('env-mi');
      const federated = await made.servicePrincipal('env-wl', {
        clientSecret: undefined,
        federatedCredentials: [{ issuer: 'https://token.actions.githubusercontent.com', subject: 'repo:org/app:ref:refs/heads/main' }],
      });
      await Promise.all([assignRole(mi, 'Key Vault Secrets Officer', `/vaults/${vault}`), assignRole(federated, 'Key Vault Secrets Officer', `/vaults/${vault}`)]);
      const system = await admin<TestPrincipal>('/identities/kv-emulator-app');
      const [asMi, asWorkload, asSystem] = await Promise.all([
        probeAfterEnv(['--as', mi.name], vaultUrl, ['default']),
        probeAfterEnv(['--as', federated.name], vaultUrl, ['default']),
        probeAfterEnv(['--as', 'kv-emulator-app'], vaultUrl, ['default']),
      ]);
      expect(asMi).toEqual({ default: { value: 'written-by-default', oid: mi.objectId, appid: mi.clientId } });
      expect(asWorkload).toEqual({ default: { value: 'written-by-default', oid: federated.objectId, appid: federated.clientId } });
      expect(asSystem).toEqual({ default: { value: 'written-by-default', oid: system.objectId, appid: system.clientId } });
    });
  });
});
