// A vault's network settings, with the names and shapes of the ARM resource Microsoft.KeyVault/vaults
// (keyvault.json 2025-05-01: publicNetworkAccess, networkAcls = NetworkRuleSet, privateEndpointConnections =
// PrivateEndpointConnectionItem[]), so that the config file, the admin API, export/import and the
// management plane all read and write the same values. Validated field by field like ARM: every problem
// names the field; values are answered in ARM's canonical form (enum casing, /32 on single addresses,
// lower-cased subnet ids). Limits from the Key Vault network security docs: at most 1,000 ip rules and
// 200 virtual network rules.
import type { NetworkRuleSet, PrivateEndpointConnectionItem, PrivateEndpointConnectionStatus, PublicNetworkAccess, VaultSettings } from '../vault/model.js';
import { DEFAULT_VAULT_SETTINGS } from '../vault/model.js';
import { formatCidr, parseCidr } from './addresses.js';

/** Reports a problem with the field at `path`; never returns. */
export type Fail = (path: string, problem: string) => never;

export type NetworkSettings = Pick<VaultSettings, 'publicNetworkAccess' | 'networkAcls' | 'privateEndpointConnections'>;

/** The vault fields this module owns. */
export const NETWORK_FIELDS = ['publicNetworkAccess', 'networkAcls', 'privateEndpointConnections'] as const;

export const MAX_IP_RULES = 1000;
export const MAX_VIRTUAL_NETWORK_RULES = 200;

/** Where the vault lives in ARM ids (the emulator has one subscription and resource group). */
export interface ArmLocation {
  subscriptionId: string;
  resourceGroup: string;
}

export interface ParseOptions {
  fail: Fail;
  /** Prefix of every reported path (`vaults[2].`); empty for a top-level body. */
  path?: string;
  /** The vault's current settings: a partial `networkAcls` changes only the fields it names. */
  current?: NetworkSettings;
  /** The vault's name and location, for the ids of private endpoint connections. */
  vault: string;
  location: ArmLocation;
}

export type Raw = Record<string, unknown>;

/** `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{subnet}`. */
export const SUBNET_ID = /^\/subscriptions\/[^/\s]+\/resourceGroups\/[^/\s]+\/providers\/Microsoft\.Network\/virtualNetworks\/[^/\s]+\/subnets\/[^/\s]+$/i;
const PRIVATE_ENDPOINT_ID = /^\/subscriptions\/[^/\s]+\/resourceGroups\/[^/\s]+\/providers\/Microsoft\.Network\/privateEndpoints\/([^/\s]+)$/i;
const CONNECTION_ID = /\/privateEndpointConnections\/([^/\s]+)$/i;

const STATUSES: readonly PrivateEndpointConnectionStatus[] = ['Pending', 'Approved', 'Rejected', 'Disconnected'];
const PROVISIONING_STATES = ['Succeeded', 'Creating', 'Updating', 'Deleting', 'Failed', 'Disconnected'] as const;

/** `value` as an object, or a failure naming `path`. */
export function object(value: unknown, path: string, fail: Fail): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object.');
  return value as Raw;
}

/** Fails on the first field of `raw` not in `allowed`. */
export function onlyKeys(raw: Raw, allowed: readonly string[], path: string, fail: Fail): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) fail(`${path}.${key}`, `is not a known field (${allowed.join(', ')}).`);
  }
}

/** An enum value matched without regard to case (ARM's enums are case-insensitive), answered canonically. */
function choice<T extends string>(value: unknown, values: readonly T[], path: string, fail: Fail): T {
  const found = typeof value === 'string' ? values.find((v) => v.toLowerCase() === value.toLowerCase()) : undefined;
  if (found === undefined) fail(path, `must be one of ${values.map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(value)}.`);
  return found;
}

function text(value: unknown, path: string, fail: Fail): string {
  if (typeof value !== 'string' || value.trim() === '') fail(path, 'must be a non-empty string.');
  return value;
}

/** The name of the private endpoint an `Microsoft.Network/privateEndpoints` id names (lower case). */
export function privateEndpointNameOf(id: string): string | undefined {
  return PRIVATE_ENDPOINT_ID.exec(id)?.[1]?.toLowerCase();
}

export function privateEndpointId(location: ArmLocation, name: string): string {
  return `/subscriptions/${location.subscriptionId}/resourceGroups/${location.resourceGroup}/providers/Microsoft.Network/privateEndpoints/${name}`;
}

export function connectionId(location: ArmLocation, vault: string, name: string): string {
  return `/subscriptions/${location.subscriptionId}/resourceGroups/${location.resourceGroup}/providers/Microsoft.KeyVault/vaults/${vault}/privateEndpointConnections/${name}`;
}

/** An approved connection for a private endpoint, as made when a private endpoint is created in the vault's own subscription. */
export function approvedConnection(location: ArmLocation, vault: string, endpoint: string): PrivateEndpointConnectionItem {
  return {
    id: connectionId(location, vault, endpoint),
    etag: '',
    properties: {
      privateEndpoint: { id: privateEndpointId(location, endpoint) },
      privateLinkServiceConnectionState: { status: 'Approved', description: 'Auto-Approved', actionsRequired: 'None' },
      provisioningState: 'Succeeded',
    },
  };
}

function parseNetworkAcls(value: unknown, base: NetworkRuleSet, path: string, fail: Fail): NetworkRuleSet {
  if (value === null) return DEFAULT_VAULT_SETTINGS.networkAcls;
  const raw = object(value, path, fail);
  onlyKeys(raw, ['bypass', 'defaultAction', 'ipRules', 'virtualNetworkRules'], path, fail);
  const acls: NetworkRuleSet = { ...base };
  if (raw.bypass !== undefined) acls.bypass = choice(raw.bypass, ['AzureServices', 'None'] as const, `${path}.bypass`, fail);
  if (raw.defaultAction !== undefined) acls.defaultAction = choice(raw.defaultAction, ['Allow', 'Deny'] as const, `${path}.defaultAction`, fail);
  if (raw.ipRules !== undefined) {
    const at = `${path}.ipRules`;
    if (!Array.isArray(raw.ipRules)) fail(at, 'must be an array of { "value": "<address or CIDR range>" }.');
    if (raw.ipRules.length > MAX_IP_RULES) fail(at, `holds ${raw.ipRules.length} rules; a vault allows at most ${MAX_IP_RULES}.`);
    acls.ipRules = raw.ipRules.map((item, i) => {
      const rule = object(item, `${at}[${i}]`, fail);
      onlyKeys(rule, ['value'], `${at}[${i}]`, fail);
      const value = text(rule.value, `${at}[${i}].value`, fail);
      const cidr = parseCidr(value);
      if ('problem' in cidr) fail(`${at}[${i}].value`, `must be an IPv4 or IPv6 address or CIDR range; '${value}' ${cidr.problem}.`);
      return { value: formatCidr(cidr) };
    });
  }
  if (raw.virtualNetworkRules !== undefined) {
    const at = `${path}.virtualNetworkRules`;
    if (!Array.isArray(raw.virtualNetworkRules)) fail(at, 'must be an array of { "id": "<subnet resource id>" }.');
    if (raw.virtualNetworkRules.length > MAX_VIRTUAL_NETWORK_RULES) {
      fail(at, `holds ${raw.virtualNetworkRules.length} rules; a vault allows at most ${MAX_VIRTUAL_NETWORK_RULES}.`);
    }
    acls.virtualNetworkRules = raw.virtualNetworkRules.map((item, i) => {
      const rule = object(item, `${at}[${i}]`, fail);
      onlyKeys(rule, ['id', 'ignoreMissingVnetServiceEndpoint'], `${at}[${i}]`, fail);
      const id = text(rule.id, `${at}[${i}].id`, fail);
      if (!SUBNET_ID.test(id)) {
        fail(`${at}[${i}].id`, `must be a subnet id '/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>', got '${id}'.`);
      }
      const ignore = rule.ignoreMissingVnetServiceEndpoint;
      if (ignore !== undefined && typeof ignore !== 'boolean') fail(`${at}[${i}].ignoreMissingVnetServiceEndpoint`, 'must be true or false.');
      return { id: id.toLowerCase(), ...(ignore !== undefined && { ignoreMissingVnetServiceEndpoint: ignore }) };
    });
  }
  return acls;
}

function parseConnections(value: unknown, path: string, fail: Fail, options: ParseOptions): PrivateEndpointConnectionItem[] {
  if (value === null) return [];
  if (!Array.isArray(value)) fail(path, 'must be an array of private endpoint connections.');
  const seen = new Set<string>();
  return value.map((item, i) => {
    const at = `${path}[${i}]`;
    const raw = object(item, at, fail);
    onlyKeys(raw, ['id', 'etag', 'properties'], at, fail);
    const properties = object(raw.properties, `${at}.properties`, fail);
    onlyKeys(properties, ['privateEndpoint', 'privateLinkServiceConnectionState', 'provisioningState'], `${at}.properties`, fail);
    const endpoint = object(properties.privateEndpoint, `${at}.properties.privateEndpoint`, fail);
    onlyKeys(endpoint, ['id'], `${at}.properties.privateEndpoint`, fail);
    const endpointId = text(endpoint.id, `${at}.properties.privateEndpoint.id`, fail);
    const endpointName = PRIVATE_ENDPOINT_ID.exec(endpointId)?.[1];
    if (endpointName === undefined) {
      fail(`${at}.properties.privateEndpoint.id`, `must be a private endpoint id '/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/privateEndpoints/<name>', got '${endpointId}'.`);
    }
    if (seen.has(endpointName.toLowerCase())) fail(`${at}.properties.privateEndpoint.id`, `names private endpoint '${endpointName}' a second time.`);
    seen.add(endpointName.toLowerCase());
    let status: PrivateEndpointConnectionStatus = 'Approved';
    let description = '';
    if (properties.privateLinkServiceConnectionState !== undefined) {
      const stateAt = `${at}.properties.privateLinkServiceConnectionState`;
      const state = object(properties.privateLinkServiceConnectionState, stateAt, fail);
      onlyKeys(state, ['status', 'description', 'actionsRequired'], stateAt, fail);
      if (state.status !== undefined) status = choice(state.status, STATUSES, `${stateAt}.status`, fail);
      if (state.description !== undefined) {
        if (typeof state.description !== 'string') fail(`${stateAt}.description`, 'must be a string.');
        description = state.description;
      }
      if (state.actionsRequired !== undefined) choice(state.actionsRequired, ['None'] as const, `${stateAt}.actionsRequired`, fail);
    }
    const provisioningState =
      properties.provisioningState === undefined ? 'Succeeded' : choice(properties.provisioningState, PROVISIONING_STATES, `${at}.properties.provisioningState`, fail);
    let id = connectionId(options.location, options.vault, endpointName);
    if (raw.id !== undefined) {
      id = text(raw.id, `${at}.id`, fail);
      if (!CONNECTION_ID.test(id)) fail(`${at}.id`, `must be a private endpoint connection id ending in '/privateEndpointConnections/<name>', got '${id}'.`);
    }
    if (raw.etag !== undefined && typeof raw.etag !== 'string') fail(`${at}.etag`, 'must be a string.');
    return {
      id,
      etag: (raw.etag as string | undefined) ?? '',
      properties: {
        privateEndpoint: { id: endpointId },
        privateLinkServiceConnectionState: { status, description, actionsRequired: 'None' },
        provisioningState,
      },
    };
  });
}

/**
 * Reads the network fields of a vault body (other fields are the caller's): what is present is
 * validated and returned in canonical form; absent fields are left out. Throws through `fail` on the
 * first bad field, before anything is changed.
 */
export function parseNetworkSettings(raw: Raw, options: ParseOptions): Partial<NetworkSettings> {
  const { fail } = options;
  const path = options.path ?? '';
  const current = options.current ?? DEFAULT_VAULT_SETTINGS;
  const settings: Partial<NetworkSettings> = {};
  if (raw.publicNetworkAccess !== undefined) {
    settings.publicNetworkAccess = choice<PublicNetworkAccess>(raw.publicNetworkAccess, ['Enabled', 'Disabled'], `${path}publicNetworkAccess`, fail);
  }
  if (raw.networkAcls !== undefined) settings.networkAcls = parseNetworkAcls(raw.networkAcls, current.networkAcls, `${path}networkAcls`, fail);
  if (raw.privateEndpointConnections !== undefined) {
    settings.privateEndpointConnections = parseConnections(raw.privateEndpointConnections, `${path}privateEndpointConnections`, fail, options);
  }
  return settings;
}

/** The network fields of a vault, as answered (ARM's shapes). */
export function presentNetworkSettings(settings: NetworkSettings): NetworkSettings {
  return {
    publicNetworkAccess: settings.publicNetworkAccess,
    networkAcls: settings.networkAcls,
    privateEndpointConnections: settings.privateEndpointConnections,
  };
}
