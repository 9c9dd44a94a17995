// What each secrets operation needs (spec §7.2): the RBAC data action, the access-policy permission,
// and the resource the check is made on. Per-secret operations are checked on the secret, so a
// secret-scoped assignment covers them; listing the vault's secrets or deleted secrets is checked on the
// vault (a secret-scoped assignment never lists). Restore is checked on the vault: the secret it
// creates is named inside the blob, which is read only after authorization.
import type { Resource } from './scopes.js';

export type Operation = 'get' | 'list' | 'set' | 'update' | 'delete' | 'backup' | 'restore' | 'recover' | 'purge' | 'getDeleted';

/** Secret permissions of a vault access policy (docs about-secrets). */
export const SECRET_PERMISSIONS = ['get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'] as const;
export type SecretPermission = (typeof SECRET_PERMISSIONS)[number];

const SECRETS = 'Microsoft.KeyVault/vaults/secrets';

const REQUIREMENTS: Record<Operation, { action: string; permission: SecretPermission }> = {
  get: { action: `${SECRETS}/getSecret/action`, permission: 'get' },
  list: { action: `${SECRETS}/readMetadata/action`, permission: 'list' },
  set: { action: `${SECRETS}/setSecret/action`, permission: 'set' },
  update: { action: `${SECRETS}/update/action`, permission: 'set' },
  delete: { action: `${SECRETS}/delete`, permission: 'delete' },
  backup: { action: `${SECRETS}/backup/action`, permission: 'backup' },
  restore: { action: `${SECRETS}/restore/action`, permission: 'restore' },
  recover: { action: `${SECRETS}/recover/action`, permission: 'recover' },
  purge: { action: `${SECRETS}/purge/action`, permission: 'purge' },
  getDeleted: { action: `${SECRETS}/readMetadata/action`, permission: 'get' },
};

export interface Requirement {
  /** RBAC data action. */
  action: string;
  /** Access-policy permission. */
  permission: SecretPermission;
  resource: Resource;
}

/**
 * The requirement of `operation` on `vault`; `secretName` is the name in the request path, if any
 * (`GET /secrets` and `GET /deletedsecrets` have none, `GET /secrets/{name}/versions` has one).
 */
export function requirementOf(operation: Operation, vault: string, secretName: string | undefined, resourceGroup?: string): Requirement {
  const { action, permission } = REQUIREMENTS[operation];
  const onSecret = operation !== 'restore' && secretName !== undefined && secretName !== '';
  const resource: Resource = { vault };
  if (resourceGroup !== undefined) resource.resourceGroup = resourceGroup;
  if (onSecret) resource.secret = secretName;
  return { action, permission, resource };
}
