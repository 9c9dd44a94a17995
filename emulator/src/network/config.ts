// The network the emulator pretends its callers are on, from the config file (docs/network-rules.md):
//   privateEndpoints  extra listeners; a request arriving on one comes through an approved private link
//                     for that endpoint's vault only (when the vault approves its connection);
//   subnets           virtual-network subnets by resource id and address prefix: a caller whose address
//                     is in one comes from that subnet, for the vaults' virtualNetworkRules;
//   trustedServices   token appids that count as trusted Azure services, for `bypass: AzureServices`.
// Validated field by field; every problem names the field.
import { familyOf, parseCidr, type Cidr } from './addresses.js';
import { object, onlyKeys, SUBNET_ID, type Fail } from './settings.js';

export interface PrivateEndpointListener {
  /** The private endpoint's name (the last segment of its resource id). */
  name: string;
  /** Lower-case vault name. */
  vault: string;
  /** Address to listen on: an IP literal or a host name. */
  host: string;
  /** 0 picks a free port. */
  port: number;
}

export interface Subnet {
  /** Lower-cased subnet resource id. */
  id: string;
  addressPrefix: Cidr;
}

export interface TrustedService {
  /** Lower-case application id. */
  appId: string;
  name?: string;
}

export interface NetworkConfig {
  privateEndpoints: PrivateEndpointListener[];
  subnets: Subnet[];
  trustedServices: TrustedService[];
}


const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Azure private endpoint names: 2-64 letters, digits, underscores, periods and hyphens. */
const ENDPOINT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}[A-Za-z0-9_]$/;
const VAULT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/;
const PORT = /^\d{1,5}$/;

function array(value: unknown, path: string, fail: Fail): unknown[] {
  if (!Array.isArray(value)) fail(path, 'must be an array.');
  return value;
}

function port(text: string, path: string, fail: Fail): number {
  const value = Number(text);
  if (!PORT.test(text) || value > 65535) fail(path, `has a port that is not a number from 0 to 65535: '${text}'.`);
  return value;
}

/** `"127.0.0.2:8443"`, `"[::1]:8443"`, `"host:8443"`, `"8443"` or `8443` (a port on `defaultHost`). */
export function parseListen(value: unknown, path: string, fail: Fail, defaultHost: string): { host: string; port: number } {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > 65535) fail(path, `must be a port number from 0 to 65535 or "<address>:<port>", got ${value}.`);
    return { host: defaultHost, port: value };
  }
  if (typeof value !== 'string' || value.trim() === '') fail(path, 'must be "<address>:<port>" or a port number.');
  if (PORT.test(value)) return { host: defaultHost, port: port(value, path, fail) };
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (bracketed) {
    if (familyOf(bracketed[1]!) !== 'ipv6') fail(path, `has '${bracketed[1]}' in brackets, which is not an IPv6 address.`);
    return { host: bracketed[1]!.toLowerCase(), port: port(bracketed[2]!, path, fail) };
  }
  const colon = value.lastIndexOf(':');
  if (colon <= 0 || value.indexOf(':') !== colon) fail(path, `must be "<address>:<port>" (IPv6 as "[<address>]:<port>") or a port number, got '${value}'.`);
  return { host: value.slice(0, colon), port: port(value.slice(colon + 1), path, fail) };
}

function parsePrivateEndpoints(value: unknown, fail: Fail, defaultHost: string): PrivateEndpointListener[] {
  const names = new Set<string>();
  const addresses = new Set<string>();
  return array(value, 'privateEndpoints', fail).map((item, i) => {
    const at = `privateEndpoints[${i}]`;
    const raw = object(item, at, fail);
    onlyKeys(raw, ['name', 'vault', 'listen'], at, fail);
    if (typeof raw.name !== 'string' || !ENDPOINT_NAME.test(raw.name)) fail(`${at}.name`, 'must be 2-64 letters, digits, underscores, periods and hyphens.');
    if (names.has(raw.name.toLowerCase())) fail(`${at}.name`, `names private endpoint '${raw.name}' a second time.`);
    names.add(raw.name.toLowerCase());
    if (typeof raw.vault !== 'string' || !VAULT_NAME.test(raw.vault)) fail(`${at}.vault`, 'must be a vault name (1-63 letters, digits and hyphens).');
    if (raw.listen === undefined) fail(`${at}.listen`, 'is required: "<address>:<port>" or a port number.');
    const { host, port } = parseListen(raw.listen, `${at}.listen`, fail, defaultHost);
    const address = `${host}:${port}`;
    if (port !== 0 && addresses.has(address)) fail(`${at}.listen`, `is the address of another private endpoint (${address}).`);
    addresses.add(address);
    return { name: raw.name, vault: raw.vault.toLowerCase(), host, port };
  });
}

function parseSubnets(value: unknown, fail: Fail): Subnet[] {
  const ids = new Set<string>();
  return array(value, 'subnets', fail).map((item, i) => {
    const at = `subnets[${i}]`;
    const raw = object(item, at, fail);
    onlyKeys(raw, ['id', 'addressPrefix'], at, fail);
    if (typeof raw.id !== 'string' || !SUBNET_ID.test(raw.id)) {
      fail(`${at}.id`, "must be a subnet id '/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<vnet>/subnets/<subnet>'.");
    }
    const id = raw.id.toLowerCase();
    if (ids.has(id)) fail(`${at}.id`, 'names a subnet a second time.');
    ids.add(id);
    if (typeof raw.addressPrefix !== 'string') fail(`${at}.addressPrefix`, 'is required: a CIDR range such as "10.1.0.0/24".');
    const prefix = parseCidr(raw.addressPrefix);
    if ('problem' in prefix) fail(`${at}.addressPrefix`, `must be a CIDR range; '${raw.addressPrefix}' ${prefix.problem}.`);
    return { id, addressPrefix: prefix };
  });
}

function parseTrustedServices(value: unknown, fail: Fail): TrustedService[] {
  return array(value, 'trustedServices', fail).map((item, i) => {
    const at = `trustedServices[${i}]`;
    if (typeof item === 'string') {
      if (!GUID.test(item)) fail(at, `must be an application id (a GUID) or { "appId", "name" }, got '${item}'.`);
      return { appId: item.toLowerCase() };
    }
    const raw = object(item, at, fail);
    onlyKeys(raw, ['appId', 'name'], at, fail);
    if (typeof raw.appId !== 'string' || !GUID.test(raw.appId)) fail(`${at}.appId`, 'must be an application id (a GUID).');
    if (raw.name !== undefined && (typeof raw.name !== 'string' || raw.name === '')) fail(`${at}.name`, 'must be a non-empty string.');
    return { appId: raw.appId.toLowerCase(), ...(raw.name !== undefined && { name: raw.name as string }) };
  });
}

/** The config file's network sections; absent sections are empty. */
export function parseNetworkConfig(
  sections: { privateEndpoints?: unknown; subnets?: unknown; trustedServices?: unknown },
  options: { fail: Fail; defaultHost: string },
): NetworkConfig {
  const { fail } = options;
  return {
    privateEndpoints: sections.privateEndpoints === undefined ? [] : parsePrivateEndpoints(sections.privateEndpoints, fail, options.defaultHost),
    subnets: sections.subnets === undefined ? [] : parseSubnets(sections.subnets, fail),
    trustedServices: sections.trustedServices === undefined ? [] : parseTrustedServices(sections.trustedServices, fail),
  };
}
