// Azure's built-in role definitions as the Key Vault data plane and the management plane see them (spec
// §7.1; docs built-in-roles/security.md, built-in-roles/privileged.md): a role grants the data actions its
// `dataActions` patterns match, minus `notDataActions`, and the management (ARM) actions its `actions`
// patterns match, minus `notActions`. Patterns use Azure's wildcard `*` (any run of characters) and compare
// case-insensitively.

export interface RoleDefinition {
  /** The role definition's GUID (the last segment of its ARM id). */
  id: string;
  name: string;
  dataActions: readonly string[];
  notDataActions: readonly string[];
  /** Management-plane actions (ARM). */
  actions: readonly string[];
  notActions: readonly string[];
  description: string;
}

interface Permissions {
  dataActions?: string[];
  notDataActions?: string[];
  actions?: string[];
  notActions?: string[];
}

const role = (id: string, name: string, description: string, permissions: Permissions = {}): RoleDefinition => ({
  id,
  name,
  description,
  dataActions: permissions.dataActions ?? [],
  notDataActions: permissions.notDataActions ?? [],
  actions: permissions.actions ?? [],
  notActions: permissions.notActions ?? [],
});

/** The management actions of the Key Vault data roles: read the vault and its neighbourhood, change nothing. */
const KEY_VAULT_DATA_ROLE_ACTIONS = [
  'Microsoft.Authorization/*/read',
  'Microsoft.Insights/alertRules/*',
  'Microsoft.Resources/deployments/*',
  'Microsoft.Resources/subscriptions/resourceGroups/read',
  'Microsoft.Support/*',
  'Microsoft.KeyVault/checkNameAvailability/read',
  'Microsoft.KeyVault/deletedVaults/read',
  'Microsoft.KeyVault/locations/*/read',
  'Microsoft.KeyVault/vaults/*/read',
  'Microsoft.KeyVault/operations/read',
];
const RBAC_ONLY = "Only works for key vaults that use the 'Azure role-based access control' permission model.";

export const KEY_VAULT_ADMINISTRATOR = '00482a5a-887f-4fb3-b363-3b7fe8e74483';

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  role(KEY_VAULT_ADMINISTRATOR, 'Key Vault Administrator', `Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. ${RBAC_ONLY}`, {
    actions: KEY_VAULT_DATA_ROLE_ACTIONS,
    dataActions: ['Microsoft.KeyVault/vaults/*'],
  }),
  role('b86a8fe4-44ce-4948-aee5-eccb2c155cd7', 'Key Vault Secrets Officer', `Perform any action on the secrets of a key vault, except manage permissions. ${RBAC_ONLY}`, {
    actions: KEY_VAULT_DATA_ROLE_ACTIONS,
    dataActions: ['Microsoft.KeyVault/vaults/secrets/*'],
  }),
  role('4633458b-17de-408a-b874-0445c86b69e6', 'Key Vault Secrets User', `Read secret contents. ${RBAC_ONLY}`, {
    dataActions: ['Microsoft.KeyVault/vaults/secrets/getSecret/action', 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'],
  }),
  role('21090545-7ca7-4776-b22c-e363652d74d2', 'Key Vault Reader', `Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. ${RBAC_ONLY}`, {
    actions: KEY_VAULT_DATA_ROLE_ACTIONS,
    dataActions: ['Microsoft.KeyVault/vaults/*/read', 'Microsoft.KeyVault/vaults/secrets/readMetadata/action'],
  }),
  role('db79e9a7-68ee-4b58-9aeb-b90e7c24fcba', 'Key Vault Certificate User', `Read certificate contents. ${RBAC_ONLY}`, {
    dataActions: [
      'Microsoft.KeyVault/vaults/certificates/read',
      'Microsoft.KeyVault/vaults/secrets/getSecret/action',
      'Microsoft.KeyVault/vaults/secrets/readMetadata/action',
      'Microsoft.KeyVault/vaults/keys/read',
    ],
  }),
  role('a4417e6f-fecd-4de8-b567-7b0420556985', 'Key Vault Certificates Officer', `Perform any action on the certificates of a key vault, except manage permissions. ${RBAC_ONLY}`, {
    actions: KEY_VAULT_DATA_ROLE_ACTIONS,
    dataActions: ['Microsoft.KeyVault/vaults/certificatecas/*', 'Microsoft.KeyVault/vaults/certificates/*', 'Microsoft.KeyVault/vaults/certificatecontacts/write'],
  }),
  role('14b46e9e-c2b7-41b4-b07b-48a6ebf60603', 'Key Vault Crypto Officer', `Perform any action on the keys of a key vault, except manage permissions. ${RBAC_ONLY}`, {
    actions: KEY_VAULT_DATA_ROLE_ACTIONS,
    dataActions: ['Microsoft.KeyVault/vaults/keys/*', 'Microsoft.KeyVault/vaults/keyrotationpolicies/*'],
  }),
  role('12338af0-0e69-4776-bea7-57ae8d297424', 'Key Vault Crypto User', `Perform cryptographic operations using keys. ${RBAC_ONLY}`, {
    dataActions: [
      'Microsoft.KeyVault/vaults/keys/read',
      'Microsoft.KeyVault/vaults/keys/update/action',
      'Microsoft.KeyVault/vaults/keys/backup/action',
      'Microsoft.KeyVault/vaults/keys/encrypt/action',
      'Microsoft.KeyVault/vaults/keys/decrypt/action',
      'Microsoft.KeyVault/vaults/keys/wrap/action',
      'Microsoft.KeyVault/vaults/keys/unwrap/action',
      'Microsoft.KeyVault/vaults/keys/sign/action',
      'Microsoft.KeyVault/vaults/keys/verify/action',
    ],
  }),
  role('e147488a-f6f5-4113-8e2d-b22465e65bf6', 'Key Vault Crypto Service Encryption User', `Read metadata of keys and perform wrap/unwrap operations. ${RBAC_ONLY}`, {
    actions: ['Microsoft.EventGrid/eventSubscriptions/write', 'Microsoft.EventGrid/eventSubscriptions/read', 'Microsoft.EventGrid/eventSubscriptions/delete'],
    dataActions: ['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/wrap/action', 'Microsoft.KeyVault/vaults/keys/unwrap/action'],
  }),
  // Control-plane roles: no data actions, the usual cause of ForbiddenByRbac on the data plane.
  role('f25e0fa2-a7c8-4377-a976-54943a77a395', 'Key Vault Contributor', 'Lets you manage key vaults, but not access to them.', {
    actions: [
      'Microsoft.Authorization/*/read',
      'Microsoft.Insights/alertRules/*',
      'Microsoft.KeyVault/*',
      'Microsoft.Resources/deployments/*',
      'Microsoft.Resources/subscriptions/resourceGroups/read',
      'Microsoft.Support/*',
    ],
    notActions: ['Microsoft.KeyVault/locations/deletedVaults/purge/action', 'Microsoft.KeyVault/hsmPools/*', 'Microsoft.KeyVault/managedHsms/*'],
  }),
  // Its ABAC condition (only Key Vault data roles may be assigned or removed) is applied by the management plane (arm/authorization.ts).
  role(
    '8b54135c-b56d-4d72-a534-26097cfdc8d8',
    'Key Vault Data Access Administrator',
    'Manage access to Azure Key Vault by adding or removing role assignments for the Key Vault Administrator, Key Vault Certificates Officer, Key Vault Crypto Officer, Key Vault Crypto Service Encryption User, Key Vault Crypto User, Key Vault Reader, Key Vault Secrets Officer, or Key Vault Secrets User roles. Includes an ABAC condition to constrain role assignments.',
    {
      actions: [
        'Microsoft.Authorization/roleAssignments/write',
        'Microsoft.Authorization/roleAssignments/delete',
        'Microsoft.Authorization/*/read',
        'Microsoft.Resources/deployments/*',
        'Microsoft.Resources/subscriptions/resourceGroups/read',
        'Microsoft.Resources/subscriptions/read',
        'Microsoft.Management/managementGroups/read',
        'Microsoft.Resources/deployments/*',
        'Microsoft.Support/*',
        'Microsoft.KeyVault/vaults/*/read',
      ],
    },
  ),
  role('8e3af657-a8ff-443c-a75c-2fe8c4bcb635', 'Owner', 'Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.', { actions: ['*'] }),
  role(
    'b24988ac-6180-42a0-ab88-20f7382dd24c',
    'Contributor',
    'Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.',
    {
      actions: ['*'],
      notActions: [
        'Microsoft.Authorization/*/Delete',
        'Microsoft.Authorization/*/Write',
        'Microsoft.Authorization/elevateAccess/Action',
        'Microsoft.Blueprint/blueprintAssignments/write',
        'Microsoft.Blueprint/blueprintAssignments/delete',
        'Microsoft.Compute/galleries/share/action',
        'Microsoft.Purview/consents/write',
        'Microsoft.Purview/consents/delete',
      ],
    },
  ),
  role('acdd72a7-3385-48ef-bd42-f606fba81ae7', 'Reader', 'View all resources, but does not allow you to make any changes.', { actions: ['*/read'] }),
  role('18d7d88d-d35e-4fb5-a5c3-7773c20a72d9', 'User Access Administrator', 'Lets you manage user access to Azure resources.', {
    actions: ['*/read', 'Microsoft.Authorization/*', 'Microsoft.Support/*'],
  }),
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
export function grants(role: Pick<RoleDefinition, 'dataActions' | 'notDataActions'>, action: string): boolean {
  return role.dataActions.some((p) => patternOf(p).test(action)) && !role.notDataActions.some((p) => patternOf(p).test(action));
}

const actionPatterns = new Map<string, RegExp>();
// Management actions: a wildcard segment between slashes also matches no segment, so the Key Vault data
// roles' 'Microsoft.KeyVault/vaults/<star>/read' ("read metadata of key vaults") covers reading the vault itself
// (Microsoft.KeyVault/vaults/read) [inferred from the role descriptions].
function actionPatternOf(pattern: string): RegExp {
  let regex = actionPatterns.get(pattern);
  if (!regex) {
    const source = pattern
      .split('/*/')
      .map((piece) =>
        piece
          .split('*')
          .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))
          .join('.*'),
      )
      .join('(?:/.*)?/');
    regex = new RegExp(`^${source}$`, 'i');
    actionPatterns.set(pattern, regex);
  }
  return regex;
}

/** Whether `role` grants the management action `action` (e.g. Microsoft.KeyVault/vaults/write). */
export function grantsAction(role: Pick<RoleDefinition, 'actions' | 'notActions'>, action: string): boolean {
  return role.actions.some((p) => actionPatternOf(p).test(action)) && !role.notActions.some((p) => actionPatternOf(p).test(action));
}
