// A webhook endpoint on loopback for the event contract tests: records every request and answers Event
// Grid's validation handshake (SubscriptionValidationEvent, or the CloudEvents OPTIONS request) the way
// the Event Grid documentation tells a subscriber to.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  method: string;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface Webhook {
  url: string;
  deliveries: Delivery[];
  /** Notifications only (not the handshake). */
  notifications(): Delivery[];
  waitFor(count: number, timeoutMs?: number): Promise<Delivery[]>;
  close(): Promise<void>;
}

export async function startWebhook(): Promise<Webhook> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      deliveries.push({ method: req.method ?? '', headers: req.headers, text });
      if (req.method === 'OPTIONS') return void res.writeHead(200, { 'webhook-allowed-origin': String(req.headers['webhook-request-origin']) }).end();
      if (req.headers['aeg-event-type'] === 'SubscriptionValidation') {
        const code = (JSON.parse(text) as Array<{ data: { validationCode: string } }>)[0]!.data.validationCode;
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ validationResponse: code }));
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const webhook: Webhook = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`,
    deliveries,
    notifications: () => deliveries.filter((d) => d.headers['aeg-event-type'] === 'Notification'),
    waitFor: async (count, timeoutMs = 15_000) => {
      const until = Date.now() + timeoutMs;
      while (webhook.notifications().length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} notifications, got ${webhook.notifications().length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return webhook.notifications();
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
  return webhook;
}
