// IP addresses and CIDR ranges as the vault firewall reads them: an ip rule is one address or a range in
// CIDR notation (ARM keyvault.json IPRule: "124.56.78.91" or "124.56.78.0/24"); a single address is kept
// as /32, as ARM answers it (the createVaultWithNetworkAcls example echoes "124.56.78.91/32"). Key Vault
// documents IPv4 rules only; the emulator also takes IPv6 (kept as /128), so that callers on IPv6
// loopback or IPv6 networks can be let in or kept out like any other.
import { isIPv6 } from 'node:net';

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

/** An IPv4 address as an unsigned 32-bit number. */
function ipv4Number(address: string): number {
  const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** An IPv6 address as four unsigned 32-bit numbers (an embedded IPv4 tail, as in `::ffff:1.2.3.4`, included). */
function ipv6Numbers(address: string): Uint32Array {
  let text = address.toLowerCase();
  let tail: number[] = [];
  if (text.includes('.')) {
    const colon = text.lastIndexOf(':');
    const v4 = ipv4Number(text.slice(colon + 1));
    tail = [v4 >>> 16, v4 & 0xffff];
    // Keep a "::" that ends right before the IPv4 part; drop a single ":".
    text = text[colon - 1] === ':' ? text.slice(0, colon + 1) : text.slice(0, colon);
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const parts = (t: string) => (t === '' ? [] : t.split(':').map((w) => parseInt(w, 16)));
  const front = parts(head);
  const back = rest === undefined ? [] : parts(rest);
  const zeros = rest === undefined ? 0 : 8 - front.length - back.length - tail.length;
  const words = [...front, ...new Array<number>(zeros).fill(0), ...back, ...tail];
  const out = new Uint32Array(4);
  for (let i = 0; i < 4; i++) out[i] = ((words[2 * i]! << 16) | words[2 * i + 1]!) >>> 0;
  return out;
}

/** The mask of the first `bits` bits of a 32-bit word (0..32). */
const maskOf = (bits: number) => (bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0);

/** An address as compared: IPv4 as one number, IPv6 as four (IPv4-mapped IPv6 reduced to IPv4). */
type Parsed = { family: 'ipv4'; value: number } | { family: 'ipv6'; value: Uint32Array } | undefined;

/** Client addresses repeat request after request: each is parsed once (a bounded cache). */
const parsedAddresses = new Map<string, Parsed>();
const PARSED_LIMIT = 4096;

function parseAddress(address: string): Parsed {
  let parsed = parsedAddresses.get(address);
  if (parsed !== undefined || parsedAddresses.has(address)) return parsed;
  const lower = address.toLowerCase();
  const literal = lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
  const family = familyOf(literal);
  parsed = family === 'ipv4' ? { family, value: ipv4Number(literal) } : family === 'ipv6' ? { family, value: ipv6Numbers(literal) } : undefined;
  if (parsedAddresses.size >= PARSED_LIMIT) parsedAddresses.clear();
  parsedAddresses.set(address, parsed);
  return parsed;
}

/**
 * A set of ranges that answers whether an address falls in one of them. IPv4 ranges are merged into
 * sorted intervals and searched by halves, so 1,000 ip rules cost about what one does (the pipeline asks
 * on every request to a vault with rules); IPv6 ranges, rare, are compared one by one.
 */
export class AddressSet {
  /** Sorted, non-overlapping [first, last] intervals of IPv4 addresses, as numbers. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly v6: Array<{ network: Uint32Array; masks: Uint32Array }> = [];
  readonly size: number;

  constructor(ranges: readonly Cidr[]) {
    const intervals: Array<[number, number]> = [];
    for (const range of ranges) {
      if (range.family === 'ipv4') {
        const mask = maskOf(range.prefix);
        const first = (ipv4Number(range.address) & mask) >>> 0;
        intervals.push([first, (first | ~mask) >>> 0]);
      } else {
        const masks = Uint32Array.from([0, 1, 2, 3], (i) => maskOf(range.prefix - 32 * i));
        const network = ipv6Numbers(range.address).map((word, i) => (word & masks[i]!) >>> 0);
        this.v6.push({ network, masks });
      }
    }
    intervals.sort((a, b) => a[0] - b[0]);
    for (const [first, last] of intervals) {
      const n = this.ends.length;
      if (n > 0 && first <= this.ends[n - 1]! + 1) this.ends[n - 1] = Math.max(this.ends[n - 1]!, last);
      else {
        this.starts.push(first);
        this.ends.push(last);
      }
    }
    this.size = ranges.length;
  }

  /** Whether `address` (a literal; IPv4-mapped IPv6 counts as its IPv4 address) is in the set. */
  has(address: string): boolean {
    if (this.size === 0) return false;
    const parsed = parseAddress(address);
    if (parsed === undefined) return false;
    let value: Uint32Array;
    if (parsed.family === 'ipv4') {
      if (this.containsV4(parsed.value)) return true;
      if (this.v6.length === 0) return false;
      // An IPv6 range written in the IPv4-mapped form (::ffff:a.b.c.d/n) holds IPv4 addresses too.
      value = Uint32Array.of(0, 0, 0xffff, parsed.value);
    } else {
      value = parsed.value;
    }
    for (const range of this.v6) {
      if (
        ((value[0]! & range.masks[0]!) >>> 0) === range.network[0] &&
        ((value[1]! & range.masks[1]!) >>> 0) === range.network[1] &&
        ((value[2]! & range.masks[2]!) >>> 0) === range.network[2] &&
        ((value[3]! & range.masks[3]!) >>> 0) === range.network[3]
      ) {
        return true;
      }
    }
    return false;
  }

  private containsV4(value: number): boolean {
    let low = 0;
    let high = this.starts.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (value < this.starts[mid]!) high = mid - 1;
      else if (value > this.ends[mid]!) low = mid + 1;
      else return true;
    }
    return false;
  }
}
