// Wires the fault injector into the data-plane pipeline (http/pipeline.ts): after authentication and
// authorization (a throttled caller is still an authenticated one), before the body is read and the route
// runs, as a front door would throttle. Broken connections (faults/injector.ts ConnectionFault) act on the
// socket: a reset or a stall takes the request out of Fastify's hands (hijacked: nothing is run or
// answered), a cut after the headers lets the route run and then truncates its answer.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { FaultInjector } from '../faults/injector.js';
import type { DataPlaneStep } from './pipeline.js';

export function faultStep(faults: FaultInjector, connections?: BrokenConnections): DataPlaneStep {
  return (request, reply) => {
    if (faults.isEmpty()) return;
    const name = (request.params as { name?: string } | undefined)?.name;
    const permission = request.kv.permission;
    const outcome = faults.check({
      method: request.method,
      vault: request.kv.vaultName,
      ...(permission !== undefined && { operation: permission }),
      ...(name !== undefined && { secret: name }),
    });
    if (!outcome) return;
    const act = () => {
      if (outcome.error) throw outcome.error;
      if (outcome.connection && connections) connections.break(request, reply, outcome.connection, outcome.stallMs);
    };
    if (outcome.delayMs <= 0) return act();
    return new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        try {
          act();
          resolve();
        } catch (error) {
          reject(error as Error);
        }
      }, outcome.delayMs);
    });
  };
}

/**
 * Breaks connections on request: resets them, holds them, or cuts them after an answer's headers.
 * Held connections are reset when the app closes, so closing never waits for them.
 */
export class BrokenConnections {
  private readonly held = new Set<Socket>();
  private readonly cutAfterHeaders = new WeakSet<FastifyRequest>();
  /** Answers still to be cut (the onSend hook looks no further while there are none). */
  private cutsPending = 0;

  constructor(app: FastifyInstance) {
    app.addHook('onSend', (request, reply, payload, done) => {
      if (this.cutsPending === 0 || !this.cutAfterHeaders.has(request)) return done(null, payload);
      this.cutAfterHeaders.delete(request);
      this.cutsPending -= 1;
      done(null, this.headersOnly(request, reply, payload));
    });
    app.addHook('preClose', (done) => {
      for (const socket of this.held) reset(socket);
      this.held.clear();
      done();
    });
  }

  break(request: FastifyRequest, reply: FastifyReply, kind: 'reset' | 'closeAfterHeaders' | 'stall', stallMs = 120_000): void {
    const socket = request.raw.socket;
    if (kind === 'closeAfterHeaders') {
      this.cutAfterHeaders.add(request);
      this.cutsPending += 1;
      return;
    }
    // Fastify runs and answers nothing for a hijacked reply (the pipeline's done() ends there).
    reply.hijack();
    if (kind === 'reset') {
      reset(socket);
      // An injected request (app.inject) has no socket to cut: it is destroyed instead.
      request.raw.destroy();
      return;
    }
    this.held.add(socket);
    const timer = setTimeout(() => reset(socket), stallMs);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.held.delete(socket);
    });
  }

  /**
   * The answer's status line and headers, with the length of the body it would have had, then the
   * connection cut before any of the body: the client has seen the operation's status, not its result.
   */
  private headersOnly(request: FastifyRequest, reply: FastifyReply, payload: unknown): Readable {
    const length = typeof payload === 'string' || Buffer.isBuffer(payload) ? Buffer.byteLength(payload) : 0;
    if (length > 0) reply.header('content-length', String(length));
    let cut = false;
    return new Readable({
      read() {
        // Fastify has set the headers and piped this stream into the response: send the headers alone.
        if (cut) return;
        cut = true;
        reply.raw.flushHeaders();
        setImmediate(() => reset(request.raw.socket));
      },
    });
  }
}

/**
 * Resets a connection: a TCP RST where the socket allows it (under TLS, the raw socket the TLS socket
 * was made from), else a plain close. Either way the client sees ECONNRESET or "socket hang up".
 */
function reset(socket: Socket): void {
  const raw = ((socket as Socket & { _parent?: Socket })._parent ?? socket) as Socket & { resetAndDestroy?: () => Socket };
  try {
    if (typeof raw.resetAndDestroy === 'function' && !raw.destroyed) raw.resetAndDestroy();
  } catch {
    // Not a TCP socket (a socket handed over by another edge, say): it is closed instead.
  }
  if (typeof socket.destroy === 'function') socket.destroy();
}
