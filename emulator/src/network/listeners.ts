// Private endpoints as listeners of the emulator: each configured endpoint is a TCP listener on its own
// address and port, like the private IP a private endpoint gives a vault inside a virtual network. A
// connection accepted there is handed to the app's one HTTPS server (`accept`), tagged with the
// endpoint, so that requests on it count as through a private link for that endpoint's vault.
import { createServer, type Server, type Socket } from 'node:net';
import type { PrivateEndpointListener } from './config.js';

export interface OpenPrivateEndpoint extends PrivateEndpointListener {
  /** The address and port actually bound (the port is the one picked when 0 was asked for). */
  address: string;
  boundPort: number;
}

export interface PrivateEndpointListeners {
  endpoints: OpenPrivateEndpoint[];
  /** Stops accepting; connections already handed over are the HTTPS server's to close. */
  close(): void;
}

/** A bind failure, in one line: which endpoint, which address, and why. */
export class PrivateEndpointBindError extends Error {
  constructor(endpoint: PrivateEndpointListener, error: NodeJS.ErrnoException) {
    const where = endpoint.host.includes(':') ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
    const why: Record<string, string> = {
      EADDRINUSE: 'the port is already in use',
      EADDRNOTAVAIL: 'the address is not one of this machine\'s',
      EACCES: 'permission denied (ports below 1024 need privileges)',
      ENOTFOUND: 'the host name does not resolve',
      EAI_AGAIN: 'the host name does not resolve',
    };
    super(`Cannot open private endpoint '${endpoint.name}' (vault '${endpoint.vault}') on ${where}: ${why[error.code ?? ''] ?? error.message} (${error.code ?? 'error'}).`);
    this.name = 'PrivateEndpointBindError';
  }
}

function listen(server: Server, endpoint: PrivateEndpointListener): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(new PrivateEndpointBindError(endpoint, error));
    server.once('error', onError);
    server.listen({ host: endpoint.host, port: endpoint.port, exclusive: true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Opens every listener, or none: on a failure the ones already open are closed and the error thrown. */
export async function openPrivateEndpoints(
  endpoints: readonly PrivateEndpointListener[],
  accept: (socket: Socket, endpoint: PrivateEndpointListener) => void,
): Promise<PrivateEndpointListeners> {
  const servers: Server[] = [];
  const open: OpenPrivateEndpoint[] = [];
  const close = () => {
    for (const server of servers) server.close();
  };
  try {
    for (const endpoint of endpoints) {
      // Sockets are accepted as the HTTPS server accepts its own (Nagle off), then handed to it.
      const server = createServer({ noDelay: true }, (socket) => accept(socket, endpoint));
      // An error after listening (a socket error reaching the server) must not take the process down.
      servers.push(server);
      await listen(server, endpoint);
      server.on('error', () => undefined);
      const bound = server.address();
      open.push({ ...endpoint, address: typeof bound === 'object' && bound ? bound.address : endpoint.host, boundPort: typeof bound === 'object' && bound ? bound.port : endpoint.port });
    }
  } catch (error) {
    close();
    throw error;
  }
  return { endpoints: open, close };
}
