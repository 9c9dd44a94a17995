// A TCP server on 127.0.0.1 that keeps its port across stop/start and drops every open connection when
// stopped: what a test needs to play a database that goes away and comes back on the same address.
import { createServer, type Server, type Socket } from 'node:net';

export abstract class LoopbackServer {
  private server: Server | undefined;
  protected readonly sockets = new Set<Socket>();

  constructor(private boundPort = 0) {}

  get port(): number {
    return this.boundPort;
  }

  /** Handles one accepted connection. */
  protected abstract accept(socket: Socket): void;

  /** Tracks a socket so stop() can drop it. */
  protected track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }

  /** Drops every open connection (the server keeps listening). */
  protected dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  async start(): Promise<this> {
    if (this.server) return this;
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  /** Stops listening and drops every open connection. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
