// The management plane for contract tests, on both targets: vaults, access policies and role assignments
// made through Azure Resource Manager with the real management SDKs (@azure/arm-keyvault,
// @azure/arm-authorization), so that setups which need a second vault, a purge-protected vault, an
// access-policy vault or role assignments run against the emulator and against Azure alike.
//
// Against Azure (KV_CONTRACT_VAULT_URL set) the suite also needs:
//   KV_CONTRACT_SUBSCRIPTION_ID, KV_CONTRACT_RESOURCE_GROUP (existing), KV_CONTRACT_LOCATION: where test
//     vaults are made; the suite's identity (DefaultAzureCredential) may create vaults and role
//     assignments there (Owner, or Contributor + User Access Administrator, on the group);
//   KV_CONTRACT_SUBJECT_CLIENT_ID, KV_CONTRACT_SUBJECT_CLIENT_SECRET, KV_CONTRACT_SUBJECT_OBJECT_ID: a
//     second service principal (no roles of its own) that tests grant access to and sign in as.
// Against the emulator these come from the emulator itself: its subscription, a resource group made
// through ARM, and principals made in its directory.
// Azure applies role assignments after a propagation delay; `eventually` retries there, and never on the
// emulator, where an ARM change takes effect at once (which the emulator tests assert).
import { AuthorizationManagementClient } from '@azure/arm-authorization';
import { KeyVaultManagementClient, type AccessPolicyEntry, type Vault } from '@azure/arm-keyvault';
import { ClientSecretCredential, type TokenCredential } from '@azure/identity';
import type { SecretClient } from '@azure/keyvault-secrets';
import { randomUUID } from 'node:crypto';
import { afterAll } from 'vitest';
import { principals, secretCredential, type TestPrincipal } from './identity.js';
import { client, credential, onEmulator, target, uniqueName } from './target.js';

export const ROLES = {
  owner: '8e3af657-a8ff-443c-a75c-2fe8c4bcb635',
  keyVaultAdministrator: '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  keyVaultContributor: 'f25e0fa2-a7c8-4377-a976-54943a77a395',
} as const;

export interface ArmPlace {
  /** The ARM endpoint: the emulator's origin, or https://management.azure.com. */
  endpoint: string;
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  tenantId: string;
}

/** Why ARM setups cannot run on this target, or undefined when they can. */
export function armUnavailable(): string | undefined {
  if (onEmulator) return undefined;
  if (target.kind === 'unavailable') return target.reason ?? 'target unavailable';
  const missing = ['KV_CONTRACT_SUBSCRIPTION_ID', 'KV_CONTRACT_RESOURCE_GROUP', 'KV_CONTRACT_LOCATION'].filter((v) => !process.env[v]);
  return missing.length > 0 ? `management-plane setups need ${missing.join(', ')} (see contracts/support/arm.ts)` : undefined;
}

/** Why a test that signs in as a second principal cannot run on this target, or undefined. */
export function subjectUnavailable(): string | undefined {
  const arm = armUnavailable();
  if (arm || onEmulator) return arm;
  const missing = ['KV_CONTRACT_SUBJECT_CLIENT_ID', 'KV_CONTRACT_SUBJECT_CLIENT_SECRET', 'KV_CONTRACT_SUBJECT_OBJECT_ID'].filter((v) => !process.env[v]);
  return missing.length > 0 ? `tests that sign in as a second principal need ${missing.join(', ')} (see contracts/support/arm.ts)` : undefined;
}

/** Logs why, once per call site, and says whether to skip. */
export function skipWithout(reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (target.kind !== 'unavailable') console.log(`[contracts] skipped: ${reason}`);
  return true;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

let placePromise: Promise<ArmPlace> | undefined;

/** Where this run makes its vaults; on the emulator, a resource group made for the run. */
export function armPlace(): Promise<ArmPlace> {
  return (placePromise ??= (async () => {
    if (!onEmulator) {
      const token = await credential().getToken('https://management.azure.com/.default');
      return {
        endpoint: 'https://management.azure.com',
        subscriptionId: process.env.KV_CONTRACT_SUBSCRIPTION_ID!,
        resourceGroup: process.env.KV_CONTRACT_RESOURCE_GROUP!,
        location: process.env.KV_CONTRACT_LOCATION!.replace(/\s+/g, '').toLowerCase(),
        tenantId: String(claimsOf(token!.token).tid),
      };
    }
    const endpoint = target.origin;
    const token = (await credential().getToken(`${endpoint}/.default`))!.token;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const subscriptions = (await (await fetch(`${endpoint}/subscriptions?api-version=2022-12-01`, { headers })).json()) as { value: Array<{ subscriptionId: string; tenantId: string }> };
    const subscription = subscriptions.value[0];
    if (!subscription) throw new Error('the emulator lists no subscription for the suite identity');
    const resourceGroup = uniqueName('contracts').slice(0, 40);
    const created = await fetch(`${endpoint}/subscriptions/${subscription.subscriptionId}/resourcegroups/${resourceGroup}?api-version=2022-12-01`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ location: 'westus' }),
    });
    if (!created.ok) throw new Error(`resource group: ${created.status} ${await created.text()}`);
    return { endpoint, subscriptionId: subscription.subscriptionId, resourceGroup, location: 'westus', tenantId: subscription.tenantId };
  })());
}

export async function vaultsClient(tokenCredential: TokenCredential = credential()): Promise<KeyVaultManagementClient> {
  const place = await armPlace();
  return new KeyVaultManagementClient(tokenCredential, place.subscriptionId, { endpoint: place.endpoint });
}

export async function authorizationClient(tokenCredential: TokenCredential = credential()): Promise<AuthorizationManagementClient> {
  const place = await armPlace();
  return new AuthorizationManagementClient(tokenCredential, place.subscriptionId, { endpoint: place.endpoint });
}

/** The object id of the suite's own identity (the `oid` of its management token). */
export async function selfObjectId(): Promise<string> {
  const place = await armPlace();
  const scope = onEmulator ? `${place.endpoint}/.default` : 'https://management.azure.com/.default';
  return String(claimsOf((await credential().getToken(scope))!.token).oid);
}

/** A vault name unique to this run (3-24 letters, digits and single hyphens). */
export function uniqueVaultName(prefix: string): string {
  const name = uniqueName(prefix).toLowerCase();
  if (name.length > 24) throw new Error(`vault name too long: ${name}`);
  return name;
}

export interface VaultOptions {
  rbac?: boolean;
  purgeProtection?: boolean;
  retentionDays?: number;
  accessPolicies?: AccessPolicyEntry[];
}

export function vaultId(place: ArmPlace, name: string): string {
  return `/subscriptions/${place.subscriptionId}/resourceGroups/${place.resourceGroup}/providers/Microsoft.KeyVault/vaults/${name}`;
}

/** Creates a vault through ARM and returns it (its vaultUri is where the data plane serves it). */
export async function createVault(name: string, options: VaultOptions = {}): Promise<Vault> {
  const place = await armPlace();
  const client = await vaultsClient();
  return client.vaults.createOrUpdate(place.resourceGroup, name, {
    location: place.location,
    properties: {
      tenantId: place.tenantId,
      sku: { family: 'A', name: 'standard' },
      accessPolicies: options.accessPolicies ?? [],
      enableRbacAuthorization: options.rbac ?? true,
      ...(options.purgeProtection && { enablePurgeProtection: true }),
      softDeleteRetentionInDays: options.retentionDays ?? 7,
    },
  }, { updateIntervalInMs: onEmulator ? 0 : 2000 });
}

/** Deletes a vault through ARM and purges it where purge protection allows. */
export async function deleteVault(name: string): Promise<void> {
  const place = await armPlace();
  const client = await vaultsClient();
  let protectedVault = false;
  try {
    protectedVault = (await client.vaults.get(place.resourceGroup, name)).properties.enablePurgeProtection === true;
    await client.vaults.delete(place.resourceGroup, name);
  } catch {
    return;
  }
  if (!protectedVault) await client.vaults.purgeDeleted(name, place.location, { updateIntervalInMs: onEmulator ? 0 : 5000 }).catch(() => undefined);
}

/** Registers vaults made by a file's tests for deletion (and purge) after them. */
export function vaultsCleanup(): (name: string) => string {
  const names = new Set<string>();
  afterAll(async () => {
    await Promise.all([...names].map((name) => deleteVault(name)));
  }, 300_000);
  return (name) => {
    names.add(name);
    return name;
  };
}

/** Assigns a role through ARM; returns the assignment's ARM id. */
export async function assignRoleArm(principalId: string, roleId: string, scope: string, principalType: 'ServicePrincipal' | 'User' = 'ServicePrincipal'): Promise<string> {
  const place = await armPlace();
  const client = await authorizationClient();
  const assignment = await client.roleAssignments.create(scope, randomUUID(), {
    roleDefinitionId: `/subscriptions/${place.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleId}`,
    principalId,
    principalType,
  });
  return assignment.id!;
}

export async function removeRoleArm(assignmentId: string): Promise<void> {
  const client = await authorizationClient();
  await client.roleAssignments.deleteById(assignmentId);
}

/** A principal tests grant access to and sign in as. */
export interface Subject {
  objectId: string;
  clientId: string;
  credential: TokenCredential;
  tenantId: string;
}

/**
 * Subjects for a file: on the emulator a new service principal of its directory per call; on Azure the
 * one subject principal named by KV_CONTRACT_SUBJECT_* (tests keep its grants apart, one vault each).
 */
export function subjects(): (prefix: string) => Promise<Subject> {
  const made = onEmulator ? principals() : undefined;
  return async (prefix) => {
    const place = await armPlace();
    if (made) {
      const principal: TestPrincipal = await made.servicePrincipal(prefix);
      return { objectId: principal.objectId, clientId: principal.clientId, credential: await secretCredential(principal), tenantId: place.tenantId };
    }
    const clientId = process.env.KV_CONTRACT_SUBJECT_CLIENT_ID!;
    return {
      objectId: process.env.KV_CONTRACT_SUBJECT_OBJECT_ID!.toLowerCase(),
      clientId,
      credential: new ClientSecretCredential(place.tenantId, clientId, process.env.KV_CONTRACT_SUBJECT_CLIENT_SECRET!),
      tenantId: place.tenantId,
    };
  };
}

/** The timeout of a test that waits for Azure's propagation (`eventually`); the suite's default on the emulator. */
export const PROPAGATION_TIMEOUT = onEmulator ? 30_000 : 900_000;

/**
 * Runs `attempt` until it stops throwing: once on the emulator (changes apply at once), for up to
 * `minutes` on Azure (role assignments and access policies propagate with a delay).
 */
export async function eventually<T>(attempt: () => Promise<T>, minutes = 10): Promise<T> {
  if (onEmulator) return attempt();
  const deadline = Date.now() + minutes * 60_000;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

export interface OwnedVault {
  name: string;
  vault: Vault;
  /** The vault URL the data plane answers on (no trailing slash). */
  url: string;
  /** A client of the suite's identity, which may do everything with the vault's secrets. */
  owner: SecretClient;
}

/**
 * A vault made through ARM that the suite's identity can fill: on an RBAC vault it gives itself Key Vault
 * Secrets Officer, on an access-policy vault a policy with every secret permission (plus `accessPolicies`).
 * Returns once the identity's access works (at once on the emulator, after propagation on Azure).
 */
export async function ownedVault(name: string, options: VaultOptions = {}): Promise<OwnedVault> {
  const place = await armPlace();
  const self = await selfObjectId();
  const rbac = options.rbac ?? true;
  const policies = rbac ? options.accessPolicies : [{ tenantId: place.tenantId, objectId: self, permissions: { secrets: ['all'] } }, ...(options.accessPolicies ?? [])];
  const vault = await createVault(name, { ...options, rbac, ...(policies && { accessPolicies: policies }) });
  if (rbac) await assignRoleArm(self, ROLES.keyVaultSecretsOfficer, vault.id!);
  const url = vault.properties.vaultUri!.replace(/\/$/, '');
  const owner = client(url);
  await eventually(() => owner.listPropertiesOfSecrets().byPage().next());
  return { name, vault, url, owner };
}
