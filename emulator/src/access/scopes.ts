// Role-assignment scopes (spec §7.3): the emulator root (every vault), one vault, or one secret, written
// short (`/`, `/vaults/<v>`, `/vaults/<v>/secrets/<name>`) or as ARM ids
// (`/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<v>[/secrets/<name>]`).
// The emulator has one subscription, so the one an ARM scope names is not compared: a subscription or
// management-group scope covers every vault, as it would on Azure. Vaults live in resource groups (the
// management plane makes them there; others live in 'kv-emulator'), so a resource-group scope covers the
// vaults of that group, and an ARM vault id names the vault in that group only. A short vault scope names
// the vault wherever it lives. An assignment applies to its scope and everything below it; names compare
// case-insensitively.

export interface Scope {
  /** Lower-case resource group, when the scope names one (ARM forms). */
  resourceGroup?: string;
  /** Lower-case vault name; absent for the root. */
  vault?: string;
  /** Lower-case secret name; only with a vault. */
  secret?: string;
}

/** The resource an operation addresses: a vault, or one secret in it. */
export interface Resource {
  vault: string;
  secret?: string;
  /** The vault's resource group (absent: not compared). */
  resourceGroup?: string;
}

const VAULT = '([a-zA-Z0-9][a-zA-Z0-9-]{0,62})';
const SECRET = '([0-9a-zA-Z-]{1,127})';
const SHORT = new RegExp(`^/vaults/${VAULT}(?:/secrets/${SECRET})?$`, 'i');
const ARM_VAULT = new RegExp(
  `^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/Microsoft\\.KeyVault/vaults/${VAULT}(?:/secrets/${SECRET})?$`,
  'i',
);
const ARM_RESOURCE_GROUP = /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)$/i;
const ARM_ABOVE_RESOURCE_GROUP = /^(?:\/subscriptions\/[^/]+|\/providers\/Microsoft\.Management\/managementGroups\/[^/]+)$/i;

/** Parses a scope; returns a problem description for anything else. */
export function parseScope(text: string): Scope | { problem: string } {
  const trimmed = text.trim();
  const path = trimmed.length > 1 ? trimmed.replace(/\/+$/, '') : trimmed;
  if (path === '/') return {};
  if (ARM_ABOVE_RESOURCE_GROUP.test(path)) return {};
  const group = ARM_RESOURCE_GROUP.exec(path);
  if (group) return { resourceGroup: group[1]!.toLowerCase() };
  const arm = ARM_VAULT.exec(path);
  if (arm) return { resourceGroup: arm[1]!.toLowerCase(), vault: arm[2]!.toLowerCase(), ...(arm[3] !== undefined && { secret: arm[3].toLowerCase() }) };
  const match = SHORT.exec(path);
  if (!match) {
    return {
      problem:
        "must be '/', '/vaults/<vault>', '/vaults/<vault>/secrets/<name>' or an ARM id " +
        "'/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>[/secrets/<name>]'",
    };
  }
  return { vault: match[1]!.toLowerCase(), ...(match[2] !== undefined && { secret: match[2].toLowerCase() }) };
}

/** Whether an assignment at `scope` applies to `resource`. */
export function covers(scope: Scope, resource: Resource): boolean {
  if (scope.resourceGroup !== undefined && resource.resourceGroup !== undefined && scope.resourceGroup !== resource.resourceGroup.toLowerCase()) return false;
  if (scope.vault === undefined) return true;
  if (scope.vault !== resource.vault.toLowerCase()) return false;
  if (scope.secret === undefined) return true;
  return resource.secret !== undefined && scope.secret === resource.secret.toLowerCase();
}

/** How deep a scope is: 0 root, 1 resource group, 2 vault, 3 secret (the most specific assignment is reported). */
export function depthOf(scope: Scope): number {
  return scope.secret !== undefined ? 3 : scope.vault !== undefined ? 2 : scope.resourceGroup !== undefined ? 1 : 0;
}

/** A scope in its short written form (a resource-group scope has none: the root stands for it). */
export function formatScope(scope: Scope): string {
  if (scope.vault === undefined) return '/';
  return scope.secret === undefined ? `/vaults/${scope.vault}` : `/vaults/${scope.vault}/secrets/${scope.secret}`;
}

export interface ArmLocation {
  subscriptionId: string;
  resourceGroup: string;
}

/**
 * The ARM id of a vault or secret, lower-cased as Key Vault prints it in denials (spec §5.1); the
 * location's resource group stands in for a resource that names none.
 */
export function armResourceId(resource: Resource, location: ArmLocation): string {
  const vault = `/subscriptions/${location.subscriptionId}/resourcegroups/${resource.resourceGroup ?? location.resourceGroup}/providers/microsoft.keyvault/vaults/${resource.vault}`;
  return (resource.secret === undefined ? vault : `${vault}/secrets/${resource.secret}`).toLowerCase();
}
