// A TCP relay in front of a real SQL Server container, so a test can take "the database" away and
// bring it back on the same address without restarting the container (a restart may change the
// published port).
import { connect, type Socket } from 'node:net';
import { LoopbackServer } from './loopback-server.js';

export class TcpProxy extends LoopbackServer {
  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    super();
  }

  protected accept(client: Socket): void {
    const upstream = connect(this.targetPort, this.targetHost);
    for (const socket of [client, upstream]) {
      this.track(socket);
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
