// Azure's built-in role definitions as far as the Key Vault data plane sees them (spec §7.1, docs
// roles / perms): a role grants the data actions its `dataActions` patterns match, minus `notDataActions`.
// Patterns use Azure's wildcard `*` (any run of characters) and compare case-insensitively.

export interface RoleDefinition {
  /** The role definition's GUID (the last segment of its ARM id). */
  id: string;
  name: string;
  dataActions: readonly string[];
  notDataActions: readonly string[];
}

const role = (id: string, name: string, dataActions: string[] = [], notDataActions: string[] = []): RoleDefinition => ({
  id,
  name,
  dataActions,
  notDataActions,
});

export const KEY_VAULT_ADMINISTRATOR = '00482a5a-887f-4fb3-b363-3b7fe8e74483';

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  role(KEY_VAULT_ADMINISTRATOR, 'Key Vault Administrator', ['Microsoft.KeyVault/vaults/*']),
  role('b86a8fe4-44ce-4948-aee5-eccb2c155cd7', 'Key Vault Secrets Officer', ['Microsoft.KeyVault/vaults/secrets/*']),
  role('4633458b-17de-408a-b874-0445c86b69e6', 'Key Vault Secrets User', [
    'Microsoft.KeyVault/vaults/secrets/getSecret/action',
    'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  ]),
  role('21090545-7ca7-4776-b22c-e363652d74d2', 'Key Vault Reader', [
    'Microsoft.KeyVault/vaults/*/read',
    'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
  ]),
  role('db79e9a7-68ee-4b58-9aeb-b90e7c24fcba', 'Key Vault Certificate User', [
    'Microsoft.KeyVault/vaults/certificates/read',
    'Microsoft.KeyVault/vaults/secrets/getSecret/action',
    'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
    'Microsoft.KeyVault/vaults/keys/read',
  ]),
  role('a4417e6f-fecd-4de8-b567-7b0420556985', 'Key Vault Certificates Officer', [
    'Microsoft.KeyVault/vaults/certificatecas/*',
    'Microsoft.KeyVault/vaults/certificates/*',
    'Microsoft.KeyVault/vaults/certificatecontacts/write',
  ]),
  role('14b46e9e-c2b7-41b4-b07b-48a6ebf60603', 'Key Vault Crypto Officer', [
    'Microsoft.KeyVault/vaults/keys/*',
    'Microsoft.KeyVault/vaults/keyrotationpolicies/*',
  ]),
  role('12338af0-0e69-4776-bea7-57ae8d297424', 'Key Vault Crypto User', [
    'Microsoft.KeyVault/vaults/keys/read',
    'Microsoft.KeyVault/vaults/keys/update/action',
    'Microsoft.KeyVault/vaults/keys/backup/action',
    'Microsoft.KeyVault/vaults/keys/encrypt/action',
    'Microsoft.KeyVault/vaults/keys/decrypt/action',
    'Microsoft.KeyVault/vaults/keys/wrap/action',
    'Microsoft.KeyVault/vaults/keys/unwrap/action',
    'Microsoft.KeyVault/vaults/keys/sign/action',
    'Microsoft.KeyVault/vaults/keys/verify/action',
  ]),
  role('e147488a-f6f5-4113-8e2d-b22465e65bf6', 'Key Vault Crypto Service Encryption User', [
    'Microsoft.KeyVault/vaults/keys/read',
    'Microsoft.KeyVault/vaults/keys/wrap/action',
    'Microsoft.KeyVault/vaults/keys/unwrap/action',
  ]),
  // Control-plane roles: no data actions, the usual cause of ForbiddenByRbac on the data plane.
  role('f25e0fa2-a7c8-4377-a976-54943a77a395', 'Key Vault Contributor'),
  role('8b54135c-b56d-4d72-a534-26097cfdc8d8', 'Key Vault Data Access Administrator'),
  role('8e3af657-a8ff-443c-a75c-2fe8c4bcb635', 'Owner'),
  role('b24988ac-6180-42a0-ab88-20f7382dd24c', 'Contributor'),
  role('acdd72a7-3385-48ef-bd42-f606fba81ae7', 'Reader'),
];

const ROLE_ID_PATH = /^(?:\/subscriptions\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([0-9a-f-]{36})$/i;

/** A built-in role by name, GUID or ARM role-definition id (case-insensitive). */
export function findRole(reference: string): RoleDefinition | undefined {
  const ref = reference.trim().toLowerCase();
  const id = ROLE_ID_PATH.exec(ref)?.[1] ?? ref;
  return BUILT_IN_ROLES.find((r) => r.id === id || r.name.toLowerCase() === ref);
}

const patterns = new Map<string, RegExp>();
function patternOf(pattern: string): RegExp {
  let regex = patterns.get(pattern);
  if (!regex) {
    const source = pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${source}$`, 'i');
    patterns.set(pattern, regex);
  }
  return regex;
}

/** Whether `role` grants the data action `action` (e.g. Microsoft.KeyVault/vaults/secrets/getSecret/action). */
export function grants(role: RoleDefinition, action: string): boolean {
  return role.dataActions.some((p) => patternOf(p).test(action)) && !role.notDataActions.some((p) => patternOf(p).test(action));
}
