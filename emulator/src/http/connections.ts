// Where a connection comes from. Every edge that accepts connections for the emulator (its own HTTPS
// port, the HTTPS proxy, private-endpoint listeners) hands them to the one HTTPS server of the app; an
// edge other than the server's own port tags the raw socket first, so that the request pipeline knows
// how the request arrived (network rules, audit records) while the client address stays the TCP peer's.
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

/** What an edge says about a connection it accepted and handed to the app. */
export interface ConnectionTag {
  /** The edge that accepted the connection. */
  via: 'proxy' | 'private-endpoint';
  /** For a private-endpoint listener: the endpoint and the vault it serves. */
  privateEndpoint?: { name: string; vault: string };
}

const tags = new WeakMap<object, ConnectionTag>();

/** The raw socket under a TLS socket the HTTPS server made from it (Node keeps it as `_parent`). */
function rawSocketOf(socket: object): object | undefined {
  return (socket as { _parent?: object })._parent ?? undefined;
}

/**
 * Hands an accepted socket to the app's server, as if it had connected to the server's own port.
 * `head` holds bytes already read from the socket (after a CONNECT line, say); they are read again.
 */
export function handToServer(server: Server, socket: Socket, tag: ConnectionTag, head?: Buffer): void {
  tagConnection(socket, tag);
  if (head && head.length > 0) socket.unshift(head);
  server.emit('connection', socket);
}

/** Tags a socket an edge serves itself (the proxy's plain-HTTP requests), as handToServer does. */
export function tagConnection(socket: Socket, tag: ConnectionTag): void {
  tags.set(socket, tag);
}

/** The tag of the connection a request arrived on (undefined: the server's own port). */
export function connectionTagOf(socket: object): ConnectionTag | undefined {
  const raw = rawSocketOf(socket);
  return tags.get(socket) ?? (raw ? tags.get(raw) : undefined);
}

/** The client's address: the TCP peer, IPv4-mapped IPv6 (::ffff:a.b.c.d) reduced to IPv4. */
export function clientAddressOf(socket: { remoteAddress?: string | undefined }): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Loopback callers: 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}
