// The Microsoft.KeyVault/vaults resource as ARM carries it (keyvault.json: VaultCreateOrUpdateParameters,
// VaultPatchParameters, Vault, VaultProperties, AccessPolicyEntry, DeletedVault): the one place that reads
// a vault body into plain values and writes a vault as ARM shows it. Type errors get ARM's
// InvalidRequestContent; rule violations the Key Vault provider's BadRequest messages.
//
// Network settings (publicNetworkAccess, networkAcls, privateEndpointConnections) are the vault's own
// (vault/model.ts VaultSettings, network/settings.ts), the ones the config file and the admin API set:
// `readNetwork` and `networkProperties` are the one place that maps them to and from ARM.
import { armErrors } from '../errors.js';
import { parseNetworkSettings, type ArmLocation, type NetworkSettings } from '../network/settings.js';
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
  /** publicNetworkAccess and networkAcls, validated and in canonical form (network/settings.ts). */
  network?: Partial<NetworkSettings>;
}

/** The vault a body is for, to read its network settings against. */
export interface VaultContext {
  vault: string;
  location: ArmLocation;
  /** The vault's settings now (a PATCH changes the network ACL fields it names, keeping the others). */
  current?: NetworkSettings;
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

function networkList(raw: Raw, key: string, path: string, item: (value: Raw, at: string) => Raw): Raw[] | undefined {
  const list = raw[key];
  if (list === undefined || list === null) return undefined;
  if (!Array.isArray(list)) wrongType(list, `System.Collections.Generic.IList\`1[${key === 'ipRules' ? 'IPRule' : 'VirtualNetworkRule'}]`, `${path}.${key}`);
  return list.map((value, i) => item(object(value, `${path}.${key}[${i}]`), `${path}.${key}[${i}]`));
}

/**
 * The network settings a body sets, in network/settings.ts's names and shapes (the ones the config file
 * and the admin API use), validated as ARM does: JSON types first (InvalidRequestContent, as ARM
 * deserializes), then values, refused with the provider's BadRequest naming the field ("Invalid value
 * found at properties.networkAcls.ipRules[0].value: ...", its observed form). Properties ARM does not know
 * are ignored, as ARM ignores them. `privateEndpointConnections` is read-only in the resource
 * (keyvault.json): a body's copy (a GET sent back as a PUT) is ignored. A PUT's `networkAcls` is the whole
 * rule set (fields it leaves out take a new vault's values); a PATCH's changes only the fields it names, as
 * ARM's PATCH follows JSON merge patch (lists are replaced whole).
 */
function readNetwork(properties: Raw, request: VaultRequest, context: VaultContext): void {
  const body: Raw = {};
  const access = optionalString(properties, 'publicNetworkAccess', 'properties');
  if (access !== undefined) body.publicNetworkAccess = access;
  const acls = properties.networkAcls;
  if (acls !== undefined && acls !== null) {
    const raw = object(acls, 'properties.networkAcls');
    const path = 'properties.networkAcls';
    const clean: Raw = {};
    for (const key of ['bypass', 'defaultAction'] as const) {
      const value = optionalString(raw, key, path);
      if (value !== undefined) clean[key] = value;
    }
    const ipRules = networkList(raw, 'ipRules', path, (rule, at) => {
      const value = optionalString(rule, 'value', at);
      return value === undefined ? {} : { value };
    });
    if (ipRules) clean.ipRules = ipRules;
    const vnetRules = networkList(raw, 'virtualNetworkRules', path, (rule, at) => {
      const id = optionalString(rule, 'id', at);
      const ignore = optionalBoolean(rule, 'ignoreMissingVnetServiceEndpoint', at);
      return { ...(id !== undefined && { id }), ...(ignore !== undefined && { ignoreMissingVnetServiceEndpoint: ignore }) };
    });
    if (vnetRules) clean.virtualNetworkRules = vnetRules;
    body.networkAcls = clean;
  }
  if (Object.keys(body).length === 0) return;
  request.network = parseNetworkSettings(body, {
    path: 'properties.',
    vault: context.vault,
    location: context.location,
    ...(context.current && { current: context.current }),
    fail: (field, problem) => {
      throw armErrors.badRequest(`Invalid value found at ${field}: ${problem}`);
    },
  });
}

/** A rule set that denies nothing and names nothing: what a vault has until network rules are set. */
function isOpen(acls: Vault['networkAcls']): boolean {
  return acls.defaultAction === 'Allow' && acls.bypass === 'AzureServices' && acls.ipRules.length === 0 && acls.virtualNetworkRules.length === 0;
}

/**
 * The network properties ARM shows: publicNetworkAccess always; networkAcls once the vault has rules (the
 * open rule set of a vault that never had any is left out, as the service leaves out what was never set
 * [inferred]); its private endpoint connections, if any.
 */
export function networkProperties(vault: Vault): Raw {
  return {
    publicNetworkAccess: vault.publicNetworkAccess,
    ...(!isOpen(vault.networkAcls) && { networkAcls: vault.networkAcls }),
    ...(vault.privateEndpointConnections.length > 0 && { privateEndpointConnections: vault.privateEndpointConnections }),
  };
}

/** The vault properties any PUT or PATCH may carry. */
function readProperties(raw: Raw, request: VaultRequest, context: VaultContext): void {
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
  readNetwork(raw, request, context);
}

/** VaultCreateOrUpdateParameters: location and properties required; tenantId and sku unless recovering. */
export function readVaultPut(body: unknown, context: VaultContext): VaultRequest {
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
  readProperties(object(raw.properties, 'properties'), request, { vault: context.vault, location: context.location });
  if (request.createMode !== 'recover') {
    if (request.tenantId === undefined) throw armErrors.badRequest("The parameter 'properties.tenantId' is required.");
    if (request.sku === undefined) throw armErrors.badRequest("The parameter 'properties.sku' is required.");
  }
  return request;
}

/** VaultPatchParameters: tags and any vault property. */
export function readVaultPatch(body: unknown, context: VaultContext): VaultRequest {
  const raw = object(body ?? {}, '');
  const request: VaultRequest = {};
  const tags = readTags(raw.tags);
  if (tags) request.tags = tags;
  if (raw.properties !== undefined && raw.properties !== null) readProperties(object(raw.properties, 'properties'), request, context);
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
