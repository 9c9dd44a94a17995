// Resource ids of the management plane: what an ARM request path addresses, and the ids the emulator
// prints. ARM matches the keywords of a path case-insensitively (resourceGroups, providers, namespaces,
// types) and keeps names as the client wrote them; role assignments and definitions hang under any scope
// (`{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`). Paths the emulator does not serve
// are recognised too, so that they get ARM's errors for them (unknown namespace, unknown resource type).

/** What a management-plane path addresses. */
export type ArmTarget =
  | { kind: 'subscriptions' }
  | { kind: 'tenants' }
  | { kind: 'subscription'; subscriptionId: string }
  | { kind: 'resourceGroups'; subscriptionId: string }
  | { kind: 'resourceGroup'; subscriptionId: string; resourceGroup: string }
  | { kind: 'resources'; subscriptionId: string; resourceGroup?: string }
  | { kind: 'vaults'; subscriptionId: string; resourceGroup?: string }
  | { kind: 'vault'; subscriptionId: string; resourceGroup: string; vault: string }
  | { kind: 'accessPolicies'; subscriptionId: string; resourceGroup: string; vault: string; operationKind: string }
  | { kind: 'checkNameAvailability'; subscriptionId: string }
  | { kind: 'deletedVaults'; subscriptionId: string }
  | { kind: 'deletedVault'; subscriptionId: string; location: string; vault: string }
  | { kind: 'purgeDeletedVault'; subscriptionId: string; location: string; vault: string }
  | { kind: 'operation'; subscriptionId: string; location: string; operationId: string; form: 'results' | 'status' }
  | { kind: 'roleAssignments'; scope: string }
  | { kind: 'roleAssignment'; scope: string; name: string }
  | { kind: 'roleDefinitions'; scope: string }
  | { kind: 'roleDefinition'; scope: string; id: string }
  /** A collection of a resource type the emulator does not make (Managed HSM): always empty. */
  | { kind: 'emptyList'; subscriptionId: string; type: string }
  /** A path under a namespace or resource type the emulator does not serve. */
  | { kind: 'unsupported'; namespace: string; type?: string; subscriptionId?: string }
  | { kind: 'unknown' };

export const KEY_VAULT = 'Microsoft.KeyVault';
export const AUTHORIZATION = 'Microsoft.Authorization';
export const RESOURCES = 'Microsoft.Resources';
export const VAULT_TYPE = 'Microsoft.KeyVault/vaults';

const eq = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** Splits a path into decoded segments; undefined when a segment is not valid percent-encoding. */
export function segmentsOf(path: string): string[] | undefined {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

/** The last `/providers/Microsoft.Authorization/` in the segments, if any (index of "providers"). */
function authorizationAt(segments: string[]): number {
  for (let i = segments.length - 2; i >= 0; i--) {
    if (eq(segments[i], 'providers') && eq(segments[i + 1], AUTHORIZATION)) return i;
  }
  return -1;
}

/** A scope written from segments, as ARM prints it: '/' for the root. */
export function scopeFrom(segments: string[]): string {
  return segments.length === 0 ? '/' : `/${segments.join('/')}`;
}

export function parseTarget(path: string): ArmTarget {
  const s = segmentsOf(path);
  if (!s) return { kind: 'unknown' };

  // {scope}/providers/Microsoft.Authorization/{roleAssignments|roleDefinitions}[/{name}]
  const at = authorizationAt(s);
  if (at >= 0) {
    const scope = scopeFrom(s.slice(0, at));
    const type = s[at + 2];
    const name = s[at + 3];
    const rest = s.length - (at + 4);
    if (eq(type, 'roleAssignments') && rest <= 0) return name === undefined ? { kind: 'roleAssignments', scope } : { kind: 'roleAssignment', scope, name };
    if (eq(type, 'roleDefinitions') && rest <= 0) return name === undefined ? { kind: 'roleDefinitions', scope } : { kind: 'roleDefinition', scope, id: name };
    return { kind: 'unsupported', namespace: AUTHORIZATION, ...(type !== undefined && { type }) };
  }

  if (s.length === 1 && eq(s[0], 'subscriptions')) return { kind: 'subscriptions' };
  if (s.length === 1 && eq(s[0], 'tenants')) return { kind: 'tenants' };
  if (!eq(s[0], 'subscriptions') || s[1] === undefined) {
    if (eq(s[0], 'providers') && s[1] !== undefined) return { kind: 'unsupported', namespace: s[1], ...(s[2] !== undefined && { type: s[2] }) };
    return { kind: 'unknown' };
  }
  const subscriptionId = s[1];
  if (s.length === 2) return { kind: 'subscription', subscriptionId };
  if (eq(s[2], 'resourceGroups')) {
    if (s.length === 3) return { kind: 'resourceGroups', subscriptionId };
    const resourceGroup = s[3]!;
    if (s.length === 4) return { kind: 'resourceGroup', subscriptionId, resourceGroup };
    if (s.length === 5 && eq(s[4], 'resources')) return { kind: 'resources', subscriptionId, resourceGroup };
    if (eq(s[4], 'providers') && s[5] !== undefined) return providerTarget(s.slice(5), { subscriptionId, resourceGroup });
    return { kind: 'unknown' };
  }
  if (s.length === 3 && eq(s[2], 'resources')) return { kind: 'resources', subscriptionId };
  if (eq(s[2], 'providers') && s[3] !== undefined) return providerTarget(s.slice(3), { subscriptionId });
  return { kind: 'unknown' };
}

/** Segments after `/providers/`: namespace, type, names... */
function providerTarget(p: string[], at: { subscriptionId: string; resourceGroup?: string }): ArmTarget {
  const [namespace, type, name, child, childName, ...more] = p as [string, ...Array<string | undefined>];
  const { subscriptionId, resourceGroup } = at;
  const unsupported = (): ArmTarget => ({ kind: 'unsupported', namespace, subscriptionId, ...(type !== undefined && { type }) });
  if (!eq(namespace, KEY_VAULT)) return unsupported();
  if ((eq(type, 'managedHSMs') || eq(type, 'deletedManagedHSMs')) && name === undefined) return { kind: 'emptyList', subscriptionId, type: type! };
  if (resourceGroup !== undefined) {
    if (!eq(type, 'vaults')) return unsupported();
    if (name === undefined) return { kind: 'vaults', subscriptionId, resourceGroup };
    if (child === undefined) return { kind: 'vault', subscriptionId, resourceGroup, vault: name };
    if (eq(child, 'accessPolicies') && childName !== undefined && more.length === 0) {
      return { kind: 'accessPolicies', subscriptionId, resourceGroup, vault: name, operationKind: childName };
    }
    return { kind: 'unsupported', namespace, subscriptionId, type: `vaults/${child}` };
  }
  if (eq(type, 'vaults') && name === undefined) return { kind: 'vaults', subscriptionId };
  if (eq(type, 'checkNameAvailability') && name === undefined) return { kind: 'checkNameAvailability', subscriptionId };
  if (eq(type, 'deletedVaults') && name === undefined) return { kind: 'deletedVaults', subscriptionId };
  if (eq(type, 'locations') && name !== undefined) {
    const location = name;
    if (eq(child, 'deletedVaults') && childName !== undefined) {
      if (more.length === 0) return { kind: 'deletedVault', subscriptionId, location, vault: childName };
      if (more.length === 1 && eq(more[0], 'purge')) return { kind: 'purgeDeletedVault', subscriptionId, location, vault: childName };
    }
    if ((eq(child, 'operationResults') || eq(child, 'operationStatuses')) && childName !== undefined && more.length === 0) {
      return { kind: 'operation', subscriptionId, location, operationId: childName, form: eq(child, 'operationResults') ? 'results' : 'status' };
    }
    return { kind: 'unsupported', namespace, subscriptionId, type: `locations/${child ?? ''}` };
  }
  return unsupported();
}

/** Ids the emulator prints, in ARM's casing. */
export const armIds = {
  subscription: (s: string) => `/subscriptions/${s}`,
  resourceGroup: (s: string, rg: string) => `/subscriptions/${s}/resourceGroups/${rg}`,
  vault: (s: string, rg: string, vault: string) => `/subscriptions/${s}/resourceGroups/${rg}/providers/${KEY_VAULT}/vaults/${vault}`,
  deletedVault: (s: string, location: string, vault: string) => `/subscriptions/${s}/providers/${KEY_VAULT}/locations/${location}/deletedVaults/${vault}`,
  operation: (s: string, location: string, id: string, form: 'results' | 'status') =>
    `/subscriptions/${s}/providers/${KEY_VAULT}/locations/${location}/${form === 'results' ? 'operationResults' : 'operationStatuses'}/${id}`,
  roleAssignment: (scope: string, name: string) => `${scope === '/' ? '' : scope}/providers/${AUTHORIZATION}/roleAssignments/${name}`,
  roleDefinition: (subscriptionId: string | undefined, id: string) =>
    `${subscriptionId === undefined ? '' : `/subscriptions/${subscriptionId}`}/providers/${AUTHORIZATION}/roleDefinitions/${id}`,
};

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isGuid = (value: unknown): value is string => typeof value === 'string' && GUID.test(value);

/** The subscription a scope lies in, if it names one. */
export function subscriptionOfScope(scope: string): string | undefined {
  const s = segmentsOf(scope);
  return s && eq(s[0], 'subscriptions') ? s[1] : undefined;
}
