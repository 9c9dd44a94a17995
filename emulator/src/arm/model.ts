// Plain values of the management plane: what ARM keeps of resource groups, vaults and role assignments
// beyond what the data plane needs. The vault itself (settings, resource group, soft-deletion) is the one
// row of vault/ that the data plane and the admin API use; access policies are the access/ rows; role
// assignments are the access/ rows. These records only add what ARM shows and round-trips.

export interface ResourceGroupRecord {
  /** As the client wrote it when it created the group. */
  name: string;
  /** Normalized region name (westus). */
  location: string;
  tags: Record<string, string>;
  createdAt: number;
}

export type PrincipalType = 'User' | 'ServicePrincipal' | 'Group' | 'ForeignGroup' | 'Device';

export interface SystemData {
  createdBy: string;
  createdByType: 'User' | 'Application' | 'ManagedIdentity' | 'Key';
  createdAt: number;
  lastModifiedBy: string;
  lastModifiedByType: 'User' | 'Application' | 'ManagedIdentity' | 'Key';
  lastModifiedAt: number;
}

/** Permissions of an access policy entry as ARM carries them; the data plane uses `secrets` only. */
export interface AccessPolicyPermissions {
  keys?: string[];
  secrets?: string[];
  certificates?: string[];
  storage?: string[];
}

export interface AccessPolicyEntry {
  tenantId: string;
  objectId: string;
  applicationId?: string;
  permissions: AccessPolicyPermissions;
}

export type SkuName = 'standard' | 'premium';

export interface VaultRecord {
  /** The `createdAt` of the vault row this describes: a record of an earlier vault of the same name is ignored. */
  vaultCreatedAt: number;
  location: string;
  tags: Record<string, string>;
  tenantId: string;
  sku: SkuName;
  enabledForDeployment: boolean;
  enabledForDiskEncryption: boolean;
  enabledForTemplateDeployment: boolean;
  /** Access policy entries as last written through ARM (keys, certificates and storage permissions too). */
  accessPolicies: AccessPolicyEntry[];
  systemData: SystemData;
}

export interface RoleAssignmentRecord {
  /** The assignment this describes (a record of an earlier assignment with the same name is ignored). */
  principalId: string;
  roleId: string;
  principalType: PrincipalType;
  description?: string;
  condition?: string;
  conditionVersion?: string;
  createdOn: number;
  updatedOn: number;
  createdBy: string;
  updatedBy: string;
}
