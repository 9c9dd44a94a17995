// The network domain on its own: addresses and CIDR ranges (edges of each range, both families), the
// validation of vault network settings and of the config file's network sections (every problem names
// its field), the decision for every rule kind in the order the service applies them, and the
// x-ms-keyvault-network-info value.
import fc from 'fast-check';
import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AddressSet, familyOf, formatCidr, parseCidr, type Cidr } from '../../src/network/addresses.js';
import { parseListen, parseNetworkConfig } from '../../src/network/config.js';
import { NetworkRules, networkInfo, type NetworkRequest } from '../../src/network/evaluate.js';
import { approvedConnection, MAX_IP_RULES, parseNetworkSettings, type NetworkSettings } from '../../src/network/settings.js';
import { DEFAULT_VAULT_SETTINGS } from '../../src/vault/model.js';

const location = { subscriptionId: 'sub', resourceGroup: 'rg' };
const fail = (path: string, problem: string): never => {
  throw new Error(`${path} ${problem}`);
};
const parse = (raw: Record<string, unknown>, current?: NetworkSettings) => parseNetworkSettings(raw, { fail, vault: 'v1', location, ...(current && { current }) });
const set = (...ranges: string[]) => new AddressSet(ranges.map((r) => parseCidr(r) as Cidr));

describe('addresses and ranges', () => {
  it('reads IPv4 and IPv6 literals only', () => {
    expect(familyOf('10.0.0.1')).toBe('ipv4');
    expect(familyOf('::1')).toBe('ipv6');
    expect(familyOf('FD00::2')).toBe('ipv6');
    for (const bad of ['010.0.0.1', '1.2.3', '1.2.3.256', '1.2.3.4 ', 'localhost', 'fe80::1%eth0', '', '0x7f.0.0.1']) expect(familyOf(bad), bad).toBeUndefined();
  });

  it('keeps a single address as /32 or /128 and refuses bad prefixes', () => {
    expect(formatCidr(parseCidr('124.56.78.91') as Cidr)).toBe('124.56.78.91/32');
    expect(formatCidr(parseCidr('FD00::2') as Cidr)).toBe('fd00::2/128');
    expect(formatCidr(parseCidr('10.91.4.0/24') as Cidr)).toBe('10.91.4.0/24');
    expect(parseCidr('10.0.0.0/33')).toHaveProperty('problem');
    expect(parseCidr('10.0.0.0/')).toHaveProperty('problem');
    expect(parseCidr('10.0.0.0/08')).toHaveProperty('problem');
    expect(parseCidr('::/129')).toHaveProperty('problem');
    expect(parseCidr("'10.91.4.0/24'")).toHaveProperty('problem');
  });

  it('matches the first and last address of a range and nothing either side', () => {
    const v4 = set('127.0.0.8/30');
    expect(['127.0.0.8', '127.0.0.9', '127.0.0.10', '127.0.0.11'].map((a) => v4.has(a))).toEqual([true, true, true, true]);
    expect(v4.has('127.0.0.7')).toBe(false);
    expect(v4.has('127.0.0.12')).toBe(false);
    expect(set('10.1.2.3/24').has('10.1.2.255')).toBe(true);
    expect(set('10.1.2.3/24').has('10.1.3.0')).toBe(false);
    expect(set('0.0.0.0/0').has('203.0.113.7')).toBe(true);
    expect(set('0.0.0.0/0').has('::1')).toBe(false);
    expect(set('192.0.2.2/32').has('192.0.2.3')).toBe(false);
    const v6 = set('fd00::/64');
    expect(v6.has('fd00::ffff:ffff:ffff:ffff')).toBe(true);
    expect(v6.has('fd00:0:0:1::')).toBe(false);
    expect(set('::1/128').has('::1')).toBe(true);
    expect(set('::1/128').has('::2')).toBe(false);
    expect(set('::1/128').has('127.0.0.1')).toBe(false);
    expect(new AddressSet([]).has('127.0.0.1')).toBe(false);
  });

  it('reads every IPv6 spelling, an embedded IPv4 tail included', () => {
    expect(set('::ffff:10.0.0.0/104').has('10.1.2.3')).toBe(true);
    expect(set('::ffff:10.0.0.0/104').has('::ffff:10.1.2.3')).toBe(true);
    expect(set('10.0.0.0/8').has('::ffff:10.1.2.3')).toBe(true);
    expect(set('::ffff:10.0.0.0/104').has('11.0.0.1')).toBe(false);
    expect(set('64:ff9b::/96').has('64:ff9b::192.0.2.33')).toBe(true);
    expect(set('2001:db8:0:0:1:0:0:1/128').has('2001:DB8::1:0:0:1')).toBe(true);
    expect(set('2001:db8::/127').has('2001:db8::1')).toBe(true);
    expect(set('2001:db8::/127').has('2001:db8::2')).toBe(false);
    expect(set('1:2:3:4:5:6:7:8/128').has('1:2:3:4:5:6:0.7.0.8')).toBe(true);
  });

  it('agrees with Node\'s BlockList on random ranges and addresses', () => {
    const octets = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
    const words = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
    const near = (base: string) => fc.oneof(fc.constant(base), octets);
    // Several ranges at once (overlapping, nested, adjacent), probed at and around their edges.
    const range = fc.tuple(octets, fc.nat(32));
    fc.assert(
      fc.property(fc.array(range, { minLength: 1, maxLength: 6 }), fc.nat(0xffffffff), (ranges, flip) => {
        const list = new BlockList();
        for (const [address, prefix] of ranges) list.addSubnet(address, prefix, 'ipv4');
        const ours = set(...ranges.map(([address, prefix]) => `${address}/${prefix}`));
        const probes = ranges.flatMap(([address]) => {
          const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
          const base = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
          return [base, base - 1, base + 1, (base ^ (flip >>> (flip % 33))) >>> 0].map((v) => {
            const value = v >>> 0;
            return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
          });
        });
        return [...probes, ...fc.sample(near(probes[0]!), 3)].every((p) => ours.has(p) === list.check(p, 'ipv4'));
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(words, fc.nat(128), words, (address, prefix, other) => {
        const list = new BlockList();
        list.addSubnet(address, prefix, 'ipv6');
        const probe = address.split(':').slice(0, Math.floor(prefix / 16)).concat(other.split(':').slice(Math.floor(prefix / 16))).join(':');
        return [address, probe, other].every((p) => set(`${address}/${prefix}`).has(p) === list.check(p, 'ipv6'));
      }),
      { numRuns: 500 },
    );
  });
});

describe('vault network settings', () => {
  it('answers ARM canonical values and merges a partial networkAcls into the current one', () => {
    const first = parse({
      publicNetworkAccess: 'disabled',
      networkAcls: { defaultAction: 'deny', bypass: 'none', ipRules: [{ value: '124.56.78.91' }, { value: '10.91.4.0/24' }], virtualNetworkRules: [{ id: '/subscriptions/S/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/Net/subnets/App' }] },
    });
    expect(first).toEqual({
      publicNetworkAccess: 'Disabled',
      networkAcls: {
        defaultAction: 'Deny',
        bypass: 'None',
        ipRules: [{ value: '124.56.78.91/32' }, { value: '10.91.4.0/24' }],
        virtualNetworkRules: [{ id: '/subscriptions/s/resourcegroups/rg/providers/microsoft.network/virtualnetworks/net/subnets/app' }],
      },
    });
    const current = { ...DEFAULT_VAULT_SETTINGS, ...first } as NetworkSettings;
    expect(parse({ networkAcls: { defaultAction: 'Allow' } }, current).networkAcls).toEqual({ ...first.networkAcls, defaultAction: 'Allow' });
    expect(parse({ networkAcls: null }, current).networkAcls).toEqual(DEFAULT_VAULT_SETTINGS.networkAcls);
    expect(parse({ unrelated: 1 })).toEqual({});
  });

  it('refuses bad values with the field named', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ publicNetworkAccess: 'Off' }, "publicNetworkAccess must be one of 'Enabled', 'Disabled', got \"Off\"."],
      [{ networkAcls: { defaultAction: 'Block' } }, 'networkAcls.defaultAction must be one of'],
      [{ networkAcls: { bypass: 'Everything' } }, 'networkAcls.bypass must be one of'],
      [{ networkAcls: { ipRules: [{ value: '1.2.3.4' }, { value: '300.1.2.3/8' }] } }, "networkAcls.ipRules[1].value must be an IPv4 or IPv6 address or CIDR range; '300.1.2.3/8' is not"],
      [{ networkAcls: { ipRules: [{ value: '10.0.0.0/40' }] } }, 'networkAcls.ipRules[0].value must be an IPv4 or IPv6 address or CIDR range; \'10.0.0.0/40\' has a prefix length'],
      [{ networkAcls: { ipRules: ['1.2.3.4'] } }, 'networkAcls.ipRules[0] must be an object.'],
      [{ networkAcls: { ipRules: [{ value: '1.2.3.4', action: 'Allow' }] } }, 'networkAcls.ipRules[0].action is not a known field'],
      [{ networkAcls: { ipRules: 'x' } }, 'networkAcls.ipRules must be an array'],
      [{ networkAcls: { virtualNetworkRules: [{ id: 'subnet1' }] } }, "networkAcls.virtualNetworkRules[0].id must be a subnet id"],
      [{ networkAcls: { defaultAction: 'Deny', ipRule: [] } }, 'networkAcls.ipRule is not a known field'],
      [{ privateEndpointConnections: [{ properties: { privateEndpoint: { id: 'pe1' } } }] }, 'privateEndpointConnections[0].properties.privateEndpoint.id must be a private endpoint id'],
      [
        { privateEndpointConnections: [{ properties: { privateEndpoint: { id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/p' }, privateLinkServiceConnectionState: { status: 'Maybe' } } }] },
        'privateEndpointConnections[0].properties.privateLinkServiceConnectionState.status must be one of',
      ],
    ];
    for (const [raw, message] of cases) expect(() => parse(raw), JSON.stringify(raw)).toThrow(message);
  });

  it('allows 1,000 ip rules and refuses 1,001', () => {
    const rules = (n: number) => Array.from({ length: n }, (_, i) => ({ value: `198.51.${Math.floor(i / 256)}.${i % 256}` }));
    expect(parse({ networkAcls: { ipRules: rules(MAX_IP_RULES) } }).networkAcls!.ipRules).toHaveLength(1000);
    expect(() => parse({ networkAcls: { ipRules: rules(MAX_IP_RULES + 1) } })).toThrow('networkAcls.ipRules holds 1001 rules; a vault allows at most 1000.');
    const vnets = Array.from({ length: 201 }, (_, i) => ({ id: `/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/n/subnets/s${i}` }));
    expect(() => parse({ networkAcls: { virtualNetworkRules: vnets } })).toThrow('networkAcls.virtualNetworkRules holds 201 rules; a vault allows at most 200.');
  });

  it('fills in private endpoint connections as ARM answers them', () => {
    const parsed = parse({ privateEndpointConnections: [{ properties: { privateEndpoint: { id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/pe1' } } }] });
    expect(parsed.privateEndpointConnections).toEqual([
      {
        id: '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1/privateEndpointConnections/pe1',
        etag: '',
        properties: {
          privateEndpoint: { id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/pe1' },
          privateLinkServiceConnectionState: { status: 'Approved', description: '', actionsRequired: 'None' },
          provisioningState: 'Succeeded',
        },
      },
    ]);
    const twice = { properties: { privateEndpoint: { id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/privateEndpoints/pe1' } } };
    expect(() => parse({ privateEndpointConnections: [twice, twice] })).toThrow("privateEndpointConnections[1].properties.privateEndpoint.id names private endpoint 'pe1' a second time.");
  });
});

describe('the config file network sections', () => {
  const config = (sections: Record<string, unknown>) => parseNetworkConfig(sections, { fail, defaultHost: 'localhost' });

  it('reads listeners, subnets and trusted services', () => {
    const parsed = config({
      privateEndpoints: [
        { name: 'pe1', vault: 'MyVault', listen: '127.0.0.2:8443' },
        { name: 'pe2', vault: 'other', listen: 9443 },
        { name: 'pe3', vault: 'other', listen: '[::1]:0' },
      ],
      subnets: [{ id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/n/subnets/App', addressPrefix: '10.1.0.0/24' }],
      trustedServices: ['11111111-2222-4333-8444-555555555555', { appId: 'AAAAAAAA-2222-4333-8444-555555555555', name: 'backup' }],
    });
    expect(parsed.privateEndpoints).toEqual([
      { name: 'pe1', vault: 'myvault', host: '127.0.0.2', port: 8443 },
      { name: 'pe2', vault: 'other', host: 'localhost', port: 9443 },
      { name: 'pe3', vault: 'other', host: '::1', port: 0 },
    ]);
    expect(parsed.subnets[0]!.id).toBe('/subscriptions/s/resourcegroups/r/providers/microsoft.network/virtualnetworks/n/subnets/app');
    expect(parsed.trustedServices).toEqual([{ appId: '11111111-2222-4333-8444-555555555555' }, { appId: 'aaaaaaaa-2222-4333-8444-555555555555', name: 'backup' }]);
  });

  it('refuses bad sections with the field named', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ privateEndpoints: {} }, 'privateEndpoints must be an array.'],
      [{ privateEndpoints: [{ name: 'pe1', vault: 'v' }] }, 'privateEndpoints[0].listen is required'],
      [{ privateEndpoints: [{ name: 'pe1', vault: 'v', listen: '127.0.0.2:99999' }] }, "privateEndpoints[0].listen has a port that is not a number from 0 to 65535: '99999'."],
      [{ privateEndpoints: [{ name: 'pe1', vault: 'v', listen: '::1:8443' }] }, 'privateEndpoints[0].listen must be "<address>:<port>" (IPv6 as "[<address>]:<port>")'],
      [{ privateEndpoints: [{ name: 'pe1', vault: 'v', listen: 1 }, { name: 'PE1', vault: 'v', listen: 2 }] }, "privateEndpoints[1].name names private endpoint 'PE1' a second time."],
      [{ privateEndpoints: [{ name: 'pe1', vault: 'v', listen: 5 }, { name: 'pe2', vault: 'v', listen: '5' }] }, 'privateEndpoints[1].listen is the address of another private endpoint (localhost:5).'],
      [{ privateEndpoints: [{ name: 'pe1', vault: 'bad_vault', listen: 1 }] }, 'privateEndpoints[0].vault must be a vault name'],
      [{ subnets: [{ id: '/x', addressPrefix: '10.0.0.0/8' }] }, 'subnets[0].id must be a subnet id'],
      [{ subnets: [{ id: '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/n/subnets/a', addressPrefix: '10.0.0/8' }] }, "subnets[0].addressPrefix must be a CIDR range; '10.0.0/8'"],
      [{ trustedServices: ['backup'] }, "trustedServices[0] must be an application id (a GUID) or { \"appId\", \"name\" }, got 'backup'."],
    ];
    for (const [raw, message] of cases) expect(() => config(raw), JSON.stringify(raw)).toThrow(message);
    expect(parseListen('8443', 'listen', fail, '0.0.0.0')).toEqual({ host: '0.0.0.0', port: 8443 });
  });
});

describe('the decision', () => {
  const TRUSTED = '11111111-2222-4333-8444-555555555555';
  const SUBNET = '/subscriptions/s/resourcegroups/r/providers/microsoft.network/virtualnetworks/n/subnets/app';
  const rules = new NetworkRules({ subnets: [{ id: SUBNET, addressPrefix: parseCidr('10.1.0.0/24') as Cidr }], trustedServices: [{ appId: TRUSTED }] });
  const vault = (settings: Partial<NetworkSettings>) => ({ ...DEFAULT_VAULT_SETTINGS, name: 'v1', ...settings });
  const denyAll = { ...DEFAULT_VAULT_SETTINGS.networkAcls, defaultAction: 'Deny' as const };
  const decide = (request: Omit<NetworkRequest, 'vault'>, settings: Partial<NetworkSettings>) => rules.evaluate({ ...request, vault: vault(settings) });

  it('lets everyone into a new vault', () => {
    expect(decide({ address: '203.0.113.9' }, {})).toEqual({ allowed: true, by: 'publicAccess' });
  });

  it('applies ip rules, virtual network rules and the trusted-service bypass when the default action is Deny', () => {
    const acls = { ...denyAll, ipRules: [{ value: '203.0.113.0/24' }], virtualNetworkRules: [{ id: SUBNET }] };
    expect(decide({ address: '203.0.113.9' }, { networkAcls: acls })).toEqual({ allowed: true, by: 'ipRule' });
    expect(decide({ address: '10.1.0.77' }, { networkAcls: acls })).toEqual({ allowed: true, by: 'virtualNetworkRule' });
    expect(decide({ address: '10.1.1.77' }, { networkAcls: acls })).toEqual({ allowed: false, denial: 'firewall' });
    expect(decide({ address: '10.1.0.77' }, { networkAcls: { ...denyAll, virtualNetworkRules: [{ id: `${SUBNET}2` }] } })).toEqual({ allowed: false, denial: 'firewall' });
    expect(decide({ address: '198.51.100.1', callerAppId: TRUSTED.toUpperCase() }, { networkAcls: acls })).toEqual({ allowed: true, by: 'trustedService' });
    expect(decide({ address: '198.51.100.1', callerAppId: TRUSTED }, { networkAcls: { ...acls, bypass: 'None' } })).toEqual({ allowed: false, denial: 'firewall' });
  });

  it('refuses all public traffic when public network access is disabled, whatever the firewall says', () => {
    const open = { ...DEFAULT_VAULT_SETTINGS.networkAcls, ipRules: [{ value: '203.0.113.0/24' }] };
    expect(decide({ address: '203.0.113.9' }, { publicNetworkAccess: 'Disabled', networkAcls: open })).toEqual({ allowed: false, denial: 'connection' });
    expect(decide({ address: '203.0.113.9', callerAppId: TRUSTED }, { publicNetworkAccess: 'Disabled' })).toEqual({ allowed: true, by: 'trustedService' });
    expect(decide({ address: '203.0.113.9', callerAppId: TRUSTED }, { publicNetworkAccess: 'Disabled', networkAcls: { ...open, bypass: 'None' } })).toEqual({
      allowed: false,
      denial: 'connection',
    });
  });

  it('lets a private endpoint into its own vault only, while its connection is approved', () => {
    const approved = [approvedConnection(location, 'v1', 'pe1')];
    const closed = { publicNetworkAccess: 'Disabled' as const, networkAcls: denyAll, privateEndpointConnections: approved };
    expect(decide({ address: '127.0.0.1', privateEndpoint: { name: 'PE1', vault: 'v1' } }, closed)).toEqual({ allowed: true, by: 'privateLink' });
    expect(decide({ address: '127.0.0.1', privateEndpoint: { name: 'pe1', vault: 'other' } }, closed)).toEqual({ allowed: false, denial: 'connection' });
    expect(decide({ address: '127.0.0.1', privateEndpoint: { name: 'pe2', vault: 'v1' } }, closed)).toEqual({ allowed: false, denial: 'connection' });
    const rejected = structuredClone(approved);
    rejected[0]!.properties.privateLinkServiceConnectionState.status = 'Rejected';
    expect(decide({ address: '127.0.0.1', privateEndpoint: { name: 'pe1', vault: 'v1' } }, { ...closed, privateEndpointConnections: rejected })).toEqual({ allowed: false, denial: 'connection' });
    expect(decide({ address: '127.0.0.1', privateEndpoint: { name: 'pe1', vault: 'v1' } }, { networkAcls: denyAll, privateEndpointConnections: rejected })).toEqual({ allowed: false, denial: 'firewall' });
  });

  it('names the connection in x-ms-keyvault-network-info', () => {
    expect(networkInfo('127.0.0.2')).toBe('conn_type=Ipv4;addr=127.0.0.2;act_addr_fam=InterNetwork;');
    expect(networkInfo('::1')).toBe('conn_type=Ipv6;addr=::1;act_addr_fam=InterNetworkV6;');
    expect(networkInfo('10.4.5.6', { privateLink: true })).toBe('conn_type=Ipv4;addr=10.4.5.6;act_addr_fam=InterNetworkV6;');
  });
});
