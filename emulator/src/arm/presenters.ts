// How ARM shows the emulator's resources (keyvault.json Vault / DeletedVault / CheckNameAvailabilityResult;
// resources.json ResourceGroup; subscriptions.json Subscription, TenantIdDescription; authorization's
// RoleAssignment and RoleDefinition). Times are ISO-8601 UTC; ids use ARM's casing.
import type { RoleDefinition } from '../access/roles.js';
import { resourceGroupOf, type Vault } from '../vault/model.js';
import { armIds, VAULT_TYPE } from './ids.js';
import type { AccessPolicyEntry, ResourceGroupRecord, RoleAssignmentRecord, SystemData, VaultRecord } from './model.js';
import { networkProperties } from './vault-resource.js';

export interface Placement {
  subscriptionId: string;
  tenantId: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function presentSubscription(p: Placement) {
  return {
    id: armIds.subscription(p.subscriptionId),
    authorizationSource: 'RoleBased',
    managedByTenants: [],
    tags: {},
    subscriptionId: p.subscriptionId,
    tenantId: p.tenantId,
    displayName: 'kv-emulator',
    state: 'Enabled',
    subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
  };
}

export function presentTenant(tenantId: string) {
  return {
    id: `/tenants/${tenantId}`,
    tenantId,
    countryCode: 'US',
    displayName: 'kv-emulator',
    domains: ['kv-emulator.localhost'],
    tenantCategory: 'Home',
    defaultDomain: 'kv-emulator.localhost',
    tenantType: 'AAD',
  };
}

export function presentResourceGroup(subscriptionId: string, group: ResourceGroupRecord) {
  return {
    id: armIds.resourceGroup(subscriptionId, group.name),
    name: group.name,
    type: 'Microsoft.Resources/resourceGroups',
    location: group.location,
    ...(Object.keys(group.tags).length > 0 && { tags: group.tags }),
    properties: { provisioningState: 'Succeeded' },
  };
}

function presentSystemData(data: SystemData) {
  return {
    createdBy: data.createdBy,
    createdByType: data.createdByType,
    createdAt: iso(data.createdAt),
    lastModifiedBy: data.lastModifiedBy,
    lastModifiedByType: data.lastModifiedByType,
    lastModifiedAt: iso(data.lastModifiedAt),
  };
}

export function presentAccessPolicy(entry: AccessPolicyEntry) {
  return {
    tenantId: entry.tenantId,
    objectId: entry.objectId,
    ...(entry.applicationId !== undefined && { applicationId: entry.applicationId }),
    permissions: entry.permissions,
  };
}

export interface VaultView {
  vault: Vault;
  record: VaultRecord;
  /** Access policies as ARM shows them (the data plane's, with what ARM keeps of them). */
  accessPolicies: AccessPolicyEntry[];
  /** https://<vault>.vault.<suffix>/ for the client that asked. */
  vaultUri: string;
}

export function presentVault(subscriptionId: string, view: VaultView) {
  const { vault, record } = view;
  return {
    id: armIds.vault(subscriptionId, resourceGroupOf(vault), vault.name),
    name: vault.name,
    type: VAULT_TYPE,
    location: record.location,
    tags: record.tags,
    systemData: presentSystemData(record.systemData),
    properties: {
      sku: { family: 'A', name: record.sku },
      tenantId: record.tenantId,
      accessPolicies: view.accessPolicies.map(presentAccessPolicy),
      enabledForDeployment: record.enabledForDeployment,
      enabledForDiskEncryption: record.enabledForDiskEncryption,
      enabledForTemplateDeployment: record.enabledForTemplateDeployment,
      enableSoftDelete: true,
      softDeleteRetentionInDays: vault.retentionDays,
      enableRbacAuthorization: vault.permissionModel === 'rbac',
      ...(vault.purgeProtection && { enablePurgeProtection: true }),
      vaultUri: view.vaultUri,
      provisioningState: 'Succeeded',
      ...networkProperties(vault),
    },
  };
}

/** Microsoft.KeyVault/deletedVaults. */
export function presentDeletedVault(subscriptionId: string, vault: Vault, record: VaultRecord) {
  return {
    id: armIds.deletedVault(subscriptionId, record.location, vault.name),
    name: vault.name,
    type: 'Microsoft.KeyVault/deletedVaults',
    properties: {
      vaultId: armIds.vault(subscriptionId, resourceGroupOf(vault), vault.name),
      location: record.location,
      deletionDate: iso(vault.deleted!.deletedAt),
      scheduledPurgeDate: iso(vault.deleted!.scheduledPurgeAt),
      tags: record.tags,
      purgeProtectionEnabled: vault.purgeProtection,
    },
  };
}

/** A vault in a generic resource list (GET /subscriptions/{s}/resources). */
export function presentGenericResource(subscriptionId: string, vault: Vault, record: VaultRecord) {
  return { id: armIds.vault(subscriptionId, resourceGroupOf(vault), vault.name), name: vault.name, type: VAULT_TYPE, location: record.location, tags: record.tags };
}

export interface AssignmentView {
  id: string;
  principalId: string;
  roleId: string;
  /** The scope in ARM form. */
  scope: string;
  record: RoleAssignmentRecord;
}

export function presentRoleAssignment(subscriptionId: string, view: AssignmentView) {
  const { record } = view;
  return {
    properties: {
      roleDefinitionId: armIds.roleDefinition(subscriptionId, view.roleId),
      principalId: view.principalId,
      principalType: record.principalType,
      scope: view.scope,
      condition: record.condition ?? null,
      conditionVersion: record.conditionVersion ?? null,
      createdOn: iso(record.createdOn),
      updatedOn: iso(record.updatedOn),
      createdBy: record.createdBy,
      updatedBy: record.updatedBy,
      delegatedManagedIdentityResourceId: null,
      description: record.description ?? null,
    },
    id: armIds.roleAssignment(view.scope, view.id),
    type: 'Microsoft.Authorization/roleAssignments',
    name: view.id,
  };
}

/** A built-in role; listed at a subscription or below, its id carries the subscription. */
export function presentRoleDefinition(subscriptionId: string | undefined, role: RoleDefinition) {
  return {
    id: armIds.roleDefinition(subscriptionId, role.id),
    name: role.id,
    type: 'Microsoft.Authorization/roleDefinitions',
    properties: {
      roleName: role.name,
      type: 'BuiltInRole',
      description: role.description,
      assignableScopes: ['/'],
      permissions: [{ actions: role.actions, notActions: role.notActions, dataActions: role.dataActions, notDataActions: role.notDataActions }],
      createdOn: '2015-02-02T21:55:09.8806423Z',
      updatedOn: '2024-01-01T00:00:00.0000000Z',
      createdBy: null,
      updatedBy: null,
    },
  };
}
