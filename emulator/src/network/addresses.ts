// IP addresses and CIDR ranges as the vault firewall reads them: an ip rule is one address or a range in
// CIDR notation (ARM keyvault.json IPRule: "124.56.78.91" or "124.56.78.0/24"); a single address is kept
// as /32, as ARM answers it (the createVaultWithNetworkAcls example echoes "124.56.78.91/32"). Key Vault
// documents IPv4 rules only; the emulator also takes IPv6 (kept as /128), so that callers on IPv6
// loopback or IPv6 networks can be let in or kept out like any other.
import { BlockList, isIPv6 } from 'node:net';

export type Family = 'ipv4' | 'ipv6';

export interface Cidr {
  /** The address as written (IPv6 lower-cased). */
  address: string;
  prefix: number;
  family: Family;
}

/** Four decimal octets 0-255 without leading zeros (no octal, hexadecimal or shortened forms). */
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const PREFIX = /^(?:0|[1-9]\d{0,2})$/;

/** The family of a literal address, or undefined for anything else (host names, zone ids, ranges). */
export function familyOf(address: string): Family | undefined {
  if (IPV4.test(address)) return 'ipv4';
  if (isIPv6(address) && !address.includes('%')) return 'ipv6';
  return undefined;
}

/** Parses `a.b.c.d`, `a.b.c.d/n`, an IPv6 address or `ipv6/n`; a problem description otherwise. */
export function parseCidr(text: string): Cidr | { problem: string } {
  const slash = text.indexOf('/');
  const address = (slash < 0 ? text : text.slice(0, slash)).toLowerCase();
  const family = familyOf(address);
  if (!family) return { problem: 'is not an IPv4 or IPv6 address' };
  const max = family === 'ipv4' ? 32 : 128;
  if (slash < 0) return { address, prefix: max, family };
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!PREFIX.test(prefixText) || prefix > max) return { problem: `has a prefix length that is not a whole number from 0 to ${max}` };
  return { address, prefix, family };
}

/** The rule's value as stored and answered: always with its prefix length. */
export function formatCidr(cidr: Cidr): string {
  return `${cidr.address}/${cidr.prefix}`;
}

/** A set of ranges that answers whether an address falls in one of them. */
export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(ranges: readonly Cidr[]) {
    for (const range of ranges) this.list.addSubnet(range.address, range.prefix, range.family);
    this.size = ranges.length;
  }

  /** Whether `address` (a literal; IPv4-mapped IPv6 matches IPv4 ranges) is in the set. */
  has(address: string): boolean {
    if (this.size === 0) return false;
    const family = familyOf(address);
    return family !== undefined && this.list.check(address, family);
  }
}
