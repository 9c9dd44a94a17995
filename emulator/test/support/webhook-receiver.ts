// A webhook endpoint for event tests: a real HTTP server on loopback that records every request
// (method, headers, parsed body) and answers the Event Grid validation handshake (both schemas) unless
// told otherwise. `respond` decides the answer to notifications: a status, 'hang' (never answers) or
// 'garbage' (bytes that are not HTTP, then a close).
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  text: string;
  body: unknown;
}

export type Reaction = number | 'hang' | 'garbage';

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** Notifications (aeg-event-type: Notification) only. */
  notifications(): Received[];
  /** How notifications are answered (default 200). */
  respond: (request: Received) => Reaction;
  /** How the handshake is answered; default: correctly. */
  handshake: (request: Received, res: ServerResponse) => void;
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function answerHandshake(request: Received, res: ServerResponse): void {
  if (request.method === 'OPTIONS') {
    res.writeHead(200, { 'webhook-allowed-origin': String(request.headers['webhook-request-origin'] ?? '') }).end();
    return;
  }
  const code = (request.body as Array<{ data: { validationCode: string } }>)[0]!.data.validationCode;
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ validationResponse: code }));
}

export async function startReceiver(): Promise<WebhookReceiver> {
  const sockets = new Set<Socket>();
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    notifications: () => receiver.received.filter((r) => r.headers['aeg-event-type'] === 'Notification'),
    respond: () => 200,
    handshake: answerHandshake,
    waitFor: async (predicate, timeoutMs = 10_000) => {
      const until = Date.now() + timeoutMs;
      while (!predicate(receiver.received)) {
        if (Date.now() > until) throw new Error(`the receiver did not get what was expected; it got:\n${JSON.stringify(receiver.received.map((r) => ({ method: r.method, headers: r.headers, body: r.body })), null, 2)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => done());
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: kept as text
      }
      const received: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, text, body };
      receiver.received.push(received);
      if (req.method === 'OPTIONS' || req.headers['aeg-event-type'] === 'SubscriptionValidation') return receiver.handshake(received, res);
      const reaction = receiver.respond(received);
      if (reaction === 'hang') return;
      if (reaction === 'garbage') {
        req.socket.end('this is not HTTP\r\n\r\n');
        return;
      }
      res.writeHead(reaction, { 'content-type': 'text/plain' }).end(String(reaction));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`;
  return receiver;
}
