// The Microsoft.KeyVault/vaults resource as ARM carries it (keyvault.json: VaultCreateOrUpdateParameters,
// VaultPatchParameters, Vault, VaultProperties, AccessPolicyEntry, DeletedVault): the one place that reads
// a vault body into plain values and writes a vault as ARM shows it. Type errors get ARM's
// InvalidRequestContent; rule violations the Key Vault provider's BadRequest messages.
//
// Network settings (publicNetworkAccess, networkAcls, privateEndpointConnections) belong to the vault's
// settings (vault/model.ts VaultSettings) once network rules are served; until then `readNetwork` accepts
// only the open defaults (what a template writes when it means "no network rules") and refuses the rest,
// and `networkProperties` shows the open vault. Both are the single place to map those properties.
import { armErrors } from '../errors.js';
import type { Vault } from '../vault/model.js';
import { isGuid } from './ids.js';
import { normalizeLocation } from './locations.js';
import type { AccessPolicyEntry, AccessPolicyPermissions, SkuName } from './model.js';

type Raw = Record<string, unknown>;

/** What a vault PUT or PATCH asks for; absent fields are not changed (PATCH) or take their defaults (new vault). */
export interface VaultRequest {
  location?: string;
  tags?: Record<string, string>;
  tenantId?: string;
  sku?: SkuName;
  accessPolicies?: AccessPolicyEntry[];
  enabledForDeployment?: boolean;
  enabledForDiskEncryption?: boolean;
  enabledForTemplateDeployment?: boolean;
  enableSoftDelete?: boolean;
  softDeleteRetentionInDays?: number;
  enableRbacAuthorization?: boolean;
  enablePurgeProtection?: boolean;
  createMode?: 'recover' | 'default';
}

const PERMISSION_KINDS = ['keys', 'secrets', 'certificates', 'storage'] as const;

/**
 * A tenant id: a GUID, or 'adfs', which names the emulator's tenant in its AD FS form (the Azure CLI signed
 * in with `--tenant adfs` sends it as the vault's tenant, as on Azure Stack Hub); the service maps it.
 */
export const ADFS_TENANT = 'adfs';
const isTenant = (value: unknown): value is string => isGuid(value) || (typeof value === 'string' && value.toLowerCase() === ADFS_TENANT);
const SECRET_PERMISSIONS = ['all', 'get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'];

/** ARM's wording for a value of the wrong JSON type (Newtonsoft's, as ARM passes it on). */
function wrongType(value: unknown, type: string, path: string): never {
  throw armErrors.invalidRequestContent(`Error converting value ${JSON.stringify(value)} to type '${type}'. Path '${path}'`);
}

function object(value: unknown, path: string): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) wrongType(value, 'Object', path);
  return value as Raw;
}

function optionalBoolean(raw: Raw, key: string, path: string): boolean | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') wrongType(v, 'System.Boolean', `${path}.${key}`);
  return v;
}

function optionalString(raw: Raw, key: string, path: string): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') wrongType(v, 'System.String', `${path}.${key}`);
  return v;
}

export function readTags(value: unknown, path = 'tags'): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = object(value, path);
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'string') wrongType(v, 'System.String', `${path}.${k}`);
    tags[k] = v;
  }
  if (Object.keys(tags).length > 50) throw armErrors.badRequest('The resource has more than 50 tags. A resource can have at most 50 tags.');
  return tags;
}

function readSku(value: unknown): SkuName {
  const raw = object(value, 'properties.sku');
  const name = optionalString(raw, 'name', 'properties.sku');
  const family = optionalString(raw, 'family', 'properties.sku');
  if (name === undefined) throw armErrors.badRequest("The parameter 'properties.sku.name' is required.");
  if (family !== undefined && family !== 'A') throw armErrors.badRequest(`The sku family '${family}' is not valid. The only valid value is 'A'.`);
  const lower = name.toLowerCase();
  if (lower !== 'standard' && lower !== 'premium') throw armErrors.badRequest(`The sku name '${name}' is not valid. Valid values are 'standard' and 'premium'.`);
  return lower;
}

function readPermissions(value: unknown, path: string): AccessPolicyPermissions {
  const raw = object(value, path);
  const permissions: AccessPolicyPermissions = {};
  for (const kind of PERMISSION_KINDS) {
    const list = raw[kind];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) wrongType(list, `System.Collections.Generic.IList\`1[${kind}]`, `${path}.${kind}`);
    permissions[kind] = list.map((item, i) => {
      if (typeof item !== 'string') wrongType(item, 'System.String', `${path}.${kind}[${i}]`);
      if (kind === 'secrets' && !SECRET_PERMISSIONS.includes(item.toLowerCase())) {
        // observed wording (Key Vault provider)
        throw armErrors.badRequest(`Invalid value found at ${path.replace(/^properties\./, '')}.${kind}[${i}]: ${item}`);
      }
      return item;
    });
  }
  return permissions;
}

/** Access policy entries (AccessPolicyEntry): tenantId and objectId required, permissions as given. */
export function readAccessPolicies(value: unknown, path: string): AccessPolicyEntry[] {
  if (!Array.isArray(value)) wrongType(value, 'System.Collections.Generic.IList`1[AccessPolicyEntry]', path);
  if (value.length > 1024) throw armErrors.badRequest('The number of access policies exceeds the maximum of 1024.');
  return value.map((item, i) => {
    const at = `${path}[${i}]`;
    const raw = object(item, at);
    const tenantId = optionalString(raw, 'tenantId', at);
    const objectId = optionalString(raw, 'objectId', at);
    const applicationId = optionalString(raw, 'applicationId', at);
    if (!isTenant(tenantId)) throw armErrors.badRequest(`The parameter '${at}.tenantId' is not a valid GUID.`);
    if (objectId === undefined || objectId === '') throw armErrors.badRequest(`The parameter '${at}.objectId' is required.`);
    if (applicationId !== undefined && !isGuid(applicationId)) throw armErrors.badRequest(`The parameter '${at}.applicationId' is not a valid GUID.`);
    if (raw.permissions === undefined || raw.permissions === null) throw armErrors.badRequest(`The parameter '${at}.permissions' is required.`);
    return {
      tenantId: tenantId.toLowerCase(),
      objectId: objectId.toLowerCase(),
      ...(applicationId !== undefined && { applicationId: applicationId.toLowerCase() }),
      permissions: readPermissions(raw.permissions, `${at}.permissions`),
    };
  });
}

/**
 * Network settings: only the open vault is served for now (see the header). An absent value, public
 * network access 'Enabled' and network ACLs that deny nothing are accepted as the open vault.
 */
function readNetwork(properties: Raw): void {
  const access = properties.publicNetworkAccess;
  if (access !== undefined && access !== null) {
    if (typeof access !== 'string') wrongType(access, 'System.String', 'properties.publicNetworkAccess');
    if (access.toLowerCase() !== 'enabled') throw unsupportedNetwork('publicNetworkAccess', access);
  }
  const acls = properties.networkAcls;
  if (acls !== undefined && acls !== null) {
    const raw = object(acls, 'properties.networkAcls');
    const action = raw.defaultAction;
    if (action !== undefined && action !== null && String(action).toLowerCase() !== 'allow') throw unsupportedNetwork('networkAcls.defaultAction', action);
    for (const list of ['ipRules', 'virtualNetworkRules'] as const) {
      const rules = raw[list];
      if (Array.isArray(rules) && rules.length > 0 && String(action ?? '').toLowerCase() !== 'allow') throw unsupportedNetwork(`networkAcls.${list}`, rules);
    }
  }
}

function unsupportedNetwork(property: string, value: unknown) {
  return armErrors.badRequest(
    `The property "${property}" with value ${JSON.stringify(value)} is not supported by this emulator: network rules are not served, ` +
      "so a vault accepts every network (publicNetworkAccess 'Enabled', networkAcls defaultAction 'Allow').",
  );
}

/** ARM shows the network settings of the vault (see the header). */
export function networkProperties(_vault: Vault): Raw {
  return { publicNetworkAccess: 'Enabled' };
}

/** The vault properties any PUT or PATCH may carry. */
function readProperties(raw: Raw, request: VaultRequest): void {
  const tenantId = optionalString(raw, 'tenantId', 'properties');
  if (tenantId !== undefined) {
    if (!isTenant(tenantId)) throw armErrors.badRequest(`The parameter 'properties.tenantId' has an invalid value '${tenantId}': it must be a GUID.`);
    request.tenantId = tenantId.toLowerCase();
  }
  if (raw.sku !== undefined && raw.sku !== null) request.sku = readSku(raw.sku);
  if (raw.accessPolicies !== undefined && raw.accessPolicies !== null) request.accessPolicies = readAccessPolicies(raw.accessPolicies, 'properties.accessPolicies');
  for (const key of ['enabledForDeployment', 'enabledForDiskEncryption', 'enabledForTemplateDeployment', 'enableSoftDelete', 'enableRbacAuthorization', 'enablePurgeProtection'] as const) {
    const v = optionalBoolean(raw, key, 'properties');
    if (v !== undefined) request[key] = v;
  }
  const retention = raw.softDeleteRetentionInDays;
  if (retention !== undefined && retention !== null) {
    if (typeof retention !== 'number' || !Number.isInteger(retention)) wrongType(retention, 'System.Int32', 'properties.softDeleteRetentionInDays');
    if (retention < 7 || retention > 90) throw armErrors.badRequest(`The value of the property "softDeleteRetentionInDays" is ${retention}. It must be between 7 and 90.`);
    request.softDeleteRetentionInDays = retention;
  }
  const createMode = optionalString(raw, 'createMode', 'properties');
  if (createMode !== undefined) {
    const mode = createMode.toLowerCase();
    if (mode !== 'recover' && mode !== 'default') throw armErrors.badRequest(`The value '${createMode}' of the property "createMode" is not valid. Valid values are 'default' and 'recover'.`);
    request.createMode = mode;
  }
  if (request.enablePurgeProtection === false) throw armErrors.purgeProtectionIrreversible();
  if (request.enableSoftDelete === false) throw armErrors.softDeleteIrreversible();
  readNetwork(raw);
}

/** VaultCreateOrUpdateParameters: location and properties required; tenantId and sku unless recovering. */
export function readVaultPut(body: unknown): VaultRequest {
  const raw = object(body ?? null, '');
  const request: VaultRequest = {};
  const location = optionalString(raw, 'location', '');
  if (location === undefined || location.trim() === '') throw armErrors.locationRequired();
  request.location = normalizeLocation(location);
  const tags = readTags(raw.tags);
  if (tags) request.tags = tags;
  if (raw.properties === undefined || raw.properties === null) {
    throw armErrors.invalidRequestContent("Required property 'properties' not found in JSON. Path ''");
  }
  readProperties(object(raw.properties, 'properties'), request);
  if (request.createMode !== 'recover') {
    if (request.tenantId === undefined) throw armErrors.badRequest("The parameter 'properties.tenantId' is required.");
    if (request.sku === undefined) throw armErrors.badRequest("The parameter 'properties.sku' is required.");
  }
  return request;
}

/** VaultPatchParameters: tags and any vault property. */
export function readVaultPatch(body: unknown): VaultRequest {
  const raw = object(body ?? {}, '');
  const request: VaultRequest = {};
  const tags = readTags(raw.tags);
  if (tags) request.tags = tags;
  if (raw.properties !== undefined && raw.properties !== null) readProperties(object(raw.properties, 'properties'), request);
  return request;
}

/** The secret permissions an access policy entry gives the data plane ('all' stays 'all'). */
export function secretPermissionsOf(entry: AccessPolicyEntry): string[] {
  return (entry.permissions.secrets ?? []).map((p) => p.toLowerCase());
}

/** The same principal (and application, for a compound identity). */
export function samePolicyHolder(a: AccessPolicyEntry, b: AccessPolicyEntry): boolean {
  return a.objectId.toLowerCase() === b.objectId.toLowerCase() && (a.applicationId ?? '').toLowerCase() === (b.applicationId ?? '').toLowerCase();
}

/** Merges permissions (accessPolicies/add). */
export function unionPermissions(a: AccessPolicyPermissions, b: AccessPolicyPermissions): AccessPolicyPermissions {
  const result: AccessPolicyPermissions = {};
  for (const kind of PERMISSION_KINDS) {
    const merged = [...(a[kind] ?? [])];
    for (const p of b[kind] ?? []) if (!merged.some((x) => x.toLowerCase() === p.toLowerCase())) merged.push(p);
    if (a[kind] !== undefined || b[kind] !== undefined) result[kind] = merged;
  }
  return result;
}

/** Takes permissions away (accessPolicies/remove); undefined when nothing is left. */
export function withoutPermissions(a: AccessPolicyPermissions, b: AccessPolicyPermissions): AccessPolicyPermissions | undefined {
  const result: AccessPolicyPermissions = {};
  let left = 0;
  for (const kind of PERMISSION_KINDS) {
    if (a[kind] === undefined) continue;
    const removed = new Set((b[kind] ?? []).map((p) => p.toLowerCase()));
    const kept = removed.has('all') ? [] : a[kind]!.filter((p) => !removed.has(p.toLowerCase()));
    result[kind] = kept;
    left += kept.length;
  }
  return left === 0 ? undefined : result;
}
