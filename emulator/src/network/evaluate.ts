// The network check of a data-plane request, as Key Vault makes it after authentication and before
// authorization (spec §5.2): from where the request comes (client address, the private endpoint it
// arrived through) and who calls (the token's appid), against the vault's network settings.
//
//   1. Through an approved private endpoint connection of this vault: allowed, whatever the firewall
//      and public access say (private link traffic is not public traffic).
//   2. publicNetworkAccess Disabled: only trusted services (with bypass AzureServices) pass; anything
//      else is 403 ForbiddenByConnection. The setting overrides the firewall rules (ARM keyvault.json:
//      "This will override the set firewall rules").
//   3. networkAcls.defaultAction Allow: allowed.
//   4. Deny: a trusted service (bypass AzureServices), an address in an ip rule, or an address in a
//      declared subnet named by a virtual network rule passes; anything else is 403 ForbiddenByFirewall.
//      ("defaultAction: The default action when no rule from ipRules and from virtualNetworkRules match.
//      This is only used after the bypass property has been evaluated.")
// A private endpoint of another vault is an ordinary connection from its client address.
// Pure: plain values in, a decision out; the pipeline step turns a denial into the catalog's 403.
import type { NetworkRuleSet, PrivateEndpointConnectionItem, Vault } from '../vault/model.js';
import { AddressSet, parseCidr, type Cidr } from './addresses.js';
import type { Subnet, TrustedService } from './config.js';
import { privateEndpointNameOf } from './settings.js';

export type NetworkDecision =
  | { allowed: true; by: 'privateLink' | 'publicAccess' | 'trustedService' | 'ipRule' | 'virtualNetworkRule' }
  | { allowed: false; denial: 'firewall' | 'connection' };

export interface NetworkRequest {
  /** The client address (IPv4-mapped IPv6 already reduced to IPv4). */
  address: string;
  /** The private endpoint the connection arrived through, if it did. */
  privateEndpoint?: { name: string; vault: string };
  vault: Pick<Vault, 'name' | 'publicNetworkAccess' | 'networkAcls' | 'privateEndpointConnections'>;
  /** The caller's application id: the token's `appid` (v1) or `azp` (v2). */
  callerAppId?: string;
}

export interface NetworkRulesOptions {
  subnets: readonly Subnet[];
  trustedServices: readonly TrustedService[];
}

/** A vault reachable from every network (a new vault's settings): nothing about the request matters. */
export function isOpen(vault: Pick<Vault, 'publicNetworkAccess' | 'networkAcls'>): boolean {
  return vault.publicNetworkAccess === 'Enabled' && vault.networkAcls.defaultAction === 'Allow';
}

export class NetworkRules {
  private readonly trusted: Set<string>;
  /** Declared subnets' address prefixes by lower-case subnet id. */
  private readonly subnets: Map<string, Cidr>;
  /** Rule sets change rarely and are replaced whole: their address sets are built once per set. */
  private readonly addressSets = new WeakMap<NetworkRuleSet, { ipRules: AddressSet; subnets: AddressSet }>();
  /** The names of the private endpoints a vault's connection list approves (lower case), likewise. */
  private readonly approved = new WeakMap<readonly PrivateEndpointConnectionItem[], Set<string>>();

  constructor(options: NetworkRulesOptions) {
    this.trusted = new Set(options.trustedServices.map((s) => s.appId.toLowerCase()));
    this.subnets = new Map(options.subnets.map((s) => [s.id.toLowerCase(), s.addressPrefix]));
  }

  evaluate(request: NetworkRequest): NetworkDecision {
    const { vault } = request;
    const acls = vault.networkAcls;
    if (isOpen(vault)) return { allowed: true, by: 'publicAccess' };
    if (this.viaApprovedPrivateLink(request)) return { allowed: true, by: 'privateLink' };
    const trusted = acls.bypass === 'AzureServices' && request.callerAppId !== undefined && this.trusted.has(request.callerAppId.toLowerCase());
    if (vault.publicNetworkAccess === 'Disabled') return trusted ? { allowed: true, by: 'trustedService' } : { allowed: false, denial: 'connection' };
    if (acls.defaultAction === 'Allow') return { allowed: true, by: 'publicAccess' };
    if (trusted) return { allowed: true, by: 'trustedService' };
    const sets = this.addressSetsOf(acls);
    if (sets.ipRules.has(request.address)) return { allowed: true, by: 'ipRule' };
    if (sets.subnets.has(request.address)) return { allowed: true, by: 'virtualNetworkRule' };
    return { allowed: false, denial: 'firewall' };
  }

  private viaApprovedPrivateLink(request: NetworkRequest): boolean {
    const endpoint = request.privateEndpoint;
    if (!endpoint || endpoint.vault.toLowerCase() !== request.vault.name.toLowerCase()) return false;
    const connections = request.vault.privateEndpointConnections;
    let approved = this.approved.get(connections);
    if (!approved) {
      approved = new Set();
      for (const connection of connections) {
        const name = privateEndpointNameOf(connection.properties.privateEndpoint.id);
        if (name !== undefined && connection.properties.privateLinkServiceConnectionState.status === 'Approved') approved.add(name);
      }
      this.approved.set(connections, approved);
    }
    return approved.has(endpoint.name.toLowerCase());
  }

  /** The addresses a rule set lets in: its ip rules, and the declared subnets its virtual network rules name. */
  private addressSetsOf(acls: NetworkRuleSet): { ipRules: AddressSet; subnets: AddressSet } {
    let sets = this.addressSets.get(acls);
    if (!sets) {
      const named = acls.virtualNetworkRules.map((rule) => this.subnets.get(rule.id.toLowerCase())).filter((s): s is Cidr => s !== undefined);
      sets = {
        ipRules: new AddressSet(acls.ipRules.map((rule) => parseCidr(rule.value)).filter((c): c is Cidr => !('problem' in c))),
        subnets: new AddressSet(named),
      };
      this.addressSets.set(acls, sets);
    }
    return sets;
  }
}

/**
 * The value of `x-ms-keyvault-network-info` for a connection: `conn_type=Ipv4;addr=<ip>;act_addr_fam=InterNetwork;`
 * as on every real answer (spec §4), Ipv6 / InterNetworkV6 for IPv6 peers. Private link traffic reaches
 * the service over IPv6 whatever the client's family: the private link troubleshooting guide
 * (MicrosoftDocs azure-docs articles/key-vault/general/private-link-diagnostics.md) shows
 * `addr=10.4.5.6;act_addr_fam=InterNetworkV6;` for a request through a private endpoint.
 */
export function networkInfo(address: string, options: { privateLink?: boolean } = {}): string {
  const v6 = address.includes(':');
  const family = v6 || options.privateLink ? 'InterNetworkV6' : 'InterNetwork';
  return `conn_type=${v6 ? 'Ipv6' : 'Ipv4'};addr=${address};act_addr_fam=${family};`;
}
