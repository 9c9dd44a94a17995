// Role-assignment scopes (spec §7.3): the emulator root (every vault), one vault, or one secret, written
// short (`/`, `/vaults/<v>`, `/vaults/<v>/secrets/<name>`) or as ARM ids
// (`/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<v>[/secrets/<name>]`).
// The emulator has one subscription and resource group, so the ones an ARM scope names are not compared;
// a subscription, resource-group or management-group scope covers every vault, as it would on Azure.
// An assignment applies to its scope and everything below it; names compare case-insensitively.

export interface Scope {
  /** Lower-case vault name; absent for the root. */
  vault?: string;
  /** Lower-case secret name; only with a vault. */
  secret?: string;
}

/** The resource an operation addresses: a vault, or one secret in it. */
export interface Resource {
  vault: string;
  secret?: string;
}

const VAULT = '([a-zA-Z0-9][a-zA-Z0-9-]{0,62})';
const SECRET = '([0-9a-zA-Z-]{1,127})';
const SHORT = new RegExp(`^/vaults/${VAULT}(?:/secrets/${SECRET})?$`, 'i');
const ARM_VAULT = new RegExp(
  `^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.KeyVault/vaults/${VAULT}(?:/secrets/${SECRET})?$`,
  'i',
);
const ARM_ABOVE_VAULT = /^(?:\/subscriptions\/[^/]+(?:\/resourceGroups\/[^/]+)?|\/providers\/Microsoft\.Management\/managementGroups\/[^/]+)$/i;

/** Parses a scope; returns a problem description for anything else. */
export function parseScope(text: string): Scope | { problem: string } {
  const trimmed = text.trim();
  const path = trimmed.length > 1 ? trimmed.replace(/\/+$/, '') : trimmed;
  if (path === '/') return {};
  if (ARM_ABOVE_VAULT.test(path)) return {};
  const match = SHORT.exec(path) ?? ARM_VAULT.exec(path);
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
  if (scope.vault === undefined) return true;
  if (scope.vault !== resource.vault.toLowerCase()) return false;
  if (scope.secret === undefined) return true;
  return resource.secret !== undefined && scope.secret === resource.secret.toLowerCase();
}

/** How deep a scope is: 0 root, 1 vault, 2 secret (the most specific assignment is reported). */
export function depthOf(scope: Scope): number {
  return scope.secret !== undefined ? 2 : scope.vault !== undefined ? 1 : 0;
}

/** A scope in its short written form. */
export function formatScope(scope: Scope): string {
  if (scope.vault === undefined) return '/';
  return scope.secret === undefined ? `/vaults/${scope.vault}` : `/vaults/${scope.vault}/secrets/${scope.secret}`;
}

export interface ArmLocation {
  subscriptionId: string;
  resourceGroup: string;
}

/** The ARM id of a vault or secret, lower-cased as Key Vault prints it in denials (spec §5.1). */
export function armResourceId(resource: Resource, location: ArmLocation): string {
  const vault = `/subscriptions/${location.subscriptionId}/resourcegroups/${location.resourceGroup}/providers/microsoft.keyvault/vaults/${resource.vault}`;
  return (resource.secret === undefined ? vault : `${vault}/secrets/${resource.secret}`).toLowerCase();
}
