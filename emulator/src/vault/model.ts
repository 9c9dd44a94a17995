// Plain values of the Key Vault secrets domain (see spec/secrets-api.md §3, §6). Times are Unix seconds,
// as on the wire; the store keeps names and versions only, never URLs.

export interface SecretAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

/** One version of a secret, with its value. */
export interface SecretVersion {
  /** The secret's name in the casing it was created with. */
  name: string;
  /** 32 lowercase hex characters. */
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes: SecretAttributes;
}

/** What is true of a secret as a whole, across its versions. */
export interface SecretHead {
  name: string;
  latestVersion: string;
  /** Certificate-backed: read-only, `managed: true` on the wire. */
  managed: boolean;
  kid?: string;
  deleted?: DeletionInfo;
}

export interface DeletionInfo {
  deletedDate: number;
  scheduledPurgeDate: number;
}

export interface Secret {
  head: SecretHead;
  /** The version the operation addressed (the latest one unless a version was named). */
  version: SecretVersion;
}

export type DeletionRecoveryLevel =
  | 'Purgeable'
  | 'Recoverable+Purgeable'
  | 'Recoverable'
  | 'CustomizedRecoverable+Purgeable'
  | 'CustomizedRecoverable';

export type PermissionModel = 'rbac' | 'accessPolicy';

export interface VaultSettings {
  /** Soft-delete retention in days, 7..90. */
  retentionDays: number;
  purgeProtection: boolean;
  permissionModel: PermissionModel;
  /** Network settings, named and shaped as the ARM resource's properties (network/settings.ts validates them). */
  publicNetworkAccess: PublicNetworkAccess;
  networkAcls: NetworkRuleSet;
  privateEndpointConnections: PrivateEndpointConnectionItem[];
}

// The network properties of Microsoft.KeyVault/vaults (ARM keyvault.json 2025-05-01: NetworkRuleSet,
// IPRule, VirtualNetworkRule, PrivateEndpointConnectionItem), in their canonical casing.
export type PublicNetworkAccess = 'Enabled' | 'Disabled';

export interface NetworkRuleSet {
  bypass: 'AzureServices' | 'None';
  defaultAction: 'Allow' | 'Deny';
  /** CIDR ranges; a single address is kept as /32 (/128), as ARM answers. */
  ipRules: Array<{ value: string }>;
  /** Subnet ids, lower-cased as ARM answers. */
  virtualNetworkRules: Array<{ id: string; ignoreMissingVnetServiceEndpoint?: boolean }>;
}

export type PrivateEndpointConnectionStatus = 'Pending' | 'Approved' | 'Rejected' | 'Disconnected';

export interface PrivateEndpointConnectionItem {
  id: string;
  etag: string;
  properties: {
    privateEndpoint: { id: string };
    privateLinkServiceConnectionState: { status: PrivateEndpointConnectionStatus; description: string; actionsRequired: 'None' };
    provisioningState: 'Succeeded' | 'Creating' | 'Updating' | 'Deleting' | 'Failed' | 'Disconnected';
  };
}

export interface Vault extends VaultSettings {
  /** Lower-case vault name. */
  name: string;
  createdAt: number;
  /** The resource group the vault lives in (management plane); absent: DEFAULT_RESOURCE_GROUP. */
  resourceGroup?: string;
  /**
   * Set while the vault is soft-deleted (deleted through the management plane): it keeps its secrets,
   * answers no data-plane request, and can be recovered until its purge date (ms since the epoch).
   */
  deleted?: VaultDeletion;
}

export interface VaultDeletion {
  deletedAt: number;
  scheduledPurgeAt: number;
}

/** Where vaults made outside the management plane (config, admin API, first use) live. */
export const DEFAULT_RESOURCE_GROUP = 'kv-emulator';

export function resourceGroupOf(vault: Pick<Vault, 'resourceGroup'>): string {
  return vault.resourceGroup ?? DEFAULT_RESOURCE_GROUP;
}

export const DEFAULT_VAULT_SETTINGS: VaultSettings = {
  retentionDays: 90,
  purgeProtection: false,
  permissionModel: 'rbac',
  // As a new vault in Azure: reachable from every network.
  publicNetworkAccess: 'Enabled',
  networkAcls: { bypass: 'AzureServices', defaultAction: 'Allow', ipRules: [], virtualNetworkRules: [] },
  privateEndpointConnections: [],
};

/** Recovery level as the real service reports it for a vault's soft-delete settings (spec §3). */
export function recoveryLevelOf(vault: Partial<VaultSettings> & Pick<VaultSettings, 'retentionDays' | 'purgeProtection'>): DeletionRecoveryLevel {
  const customized = vault.retentionDays < 90;
  if (vault.purgeProtection) return customized ? 'CustomizedRecoverable' : 'Recoverable';
  return customized ? 'CustomizedRecoverable+Purgeable' : 'Recoverable+Purgeable';
}

/** A page of results plus the key to continue after, if more remain. */
export interface Page<T> {
  items: T[];
  /** Opaque-to-clients continuation: the last key of this page. */
  continueAfter?: string;
}

/** The full content of one secret as carried by a backup blob or an export. */
export interface SecretSnapshot {
  name: string;
  managed: boolean;
  kid?: string;
  deleted?: DeletionInfo;
  /** Oldest first; the last is the latest. */
  versions: Array<Omit<SecretVersion, 'name'>>;
}
