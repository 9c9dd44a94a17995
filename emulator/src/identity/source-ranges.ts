// Who may call the IMDS token endpoint. In Azure, the Instance Metadata Service listens on a link-local
// address (169.254.169.254) that only the VM itself reaches ("IMDS is ... accessible only from within the
// VM", learn.microsoft.com/azure/virtual-machines/instance-metadata-service), and it asks for nothing but
// the `Metadata: true` header. The emulator's IMDS route answers on the emulator's port, so the same
// containment is a source check: loopback callers, plus the ranges the configuration names (a compose
// network, a Kubernetes pod network). The address is the connection's TCP peer
// (http/connections.ts clientAddressOf), never a forwarding header.
import { BlockList, isIP } from 'node:net';

/** "a.b.c.d", "a.b.c.d/n", an IPv6 address, or "x::/n". */
export interface SourceRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses one range as the configuration gives it; undefined if it is not one. */
export function parseSourceRange(text: string): SourceRange | undefined {
  const match = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(text.trim());
  if (!match) return undefined;
  const address = match[1]!;
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = match[2] === undefined ? max : Number(match[2]);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export class SourcePolicy {
  private readonly allowed = new BlockList();

  /** `ranges` must parse (the configuration checks them first); loopback is always allowed. */
  constructor(ranges: readonly string[]) {
    this.allowed.addSubnet('127.0.0.0', 8, 'ipv4');
    this.allowed.addAddress('::1', 'ipv6');
    for (const text of ranges) {
      const range = parseSourceRange(text);
      if (!range) throw new TypeError(`'${text}' is not an address or a CIDR range.`);
      this.allowed.addSubnet(range.address, range.prefix, range.family);
    }
  }

  /** Whether a caller at `address` (an IPv4-mapped IPv6 address is checked as IPv4) may call. */
  allows(address: string): boolean {
    const version = isIP(address);
    if (version === 0) return false;
    return this.allowed.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}
