// The HTTP client that calls webhook endpoints (deliveries and handshakes), with Node's own http/https.
// It never throws: a refused or reset connection, a name that does not resolve, bytes that are not HTTP
// and an answer not received in time all become values the delivery policy judges. Only a small part of
// an answer's body is read (handshakes need it; deliveries ignore it). HTTPS endpoints are verified
// against the system's CAs and the emulator's own CA (endpoints served with a certificate it issued).
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { OutgoingRequest } from './envelope.js';
import type { WebhookAnswer, WebhookClient } from './ports.js';

const MAX_BODY = 64 * 1024;

export class NodeWebhookClient implements WebhookClient {
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 16 });
  private readonly https: HttpsAgent;
  private readonly open = new Set<{ destroy(): void }>();

  constructor(options: { extraCa?: string[] } = {}) {
    this.https = new HttpsAgent({ keepAlive: true, maxSockets: 16, ca: [...rootCertificates, ...(options.extraCa ?? [])] });
  }

  send(url: string, outgoing: OutgoingRequest, timeoutMs: number): Promise<WebhookAnswer> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (answer: WebhookAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.open.delete(req);
        resolve(answer);
      };
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const headers: Record<string, string | number> = { ...outgoing.headers };
      if (outgoing.body !== undefined) headers['content-length'] = Buffer.byteLength(outgoing.body);
      const req = (secure ? httpsRequest : httpRequest)(
        target,
        { method: outgoing.method, headers, agent: secure ? this.https : this.http },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            if (size >= MAX_BODY) return;
            chunks.push(chunk);
            size += chunk.length;
          });
          const done = () =>
            finish({ kind: 'answered', status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY) });
          res.on('end', done);
          // An answer cut off after its status line still answered.
          res.on('aborted', done);
          res.on('error', done);
        },
      );
      this.open.add(req);
      const timer = setTimeout(() => {
        finish({ kind: 'timeout' });
        req.destroy();
      }, timeoutMs);
      timer.unref();
      req.on('error', (error: Error & { code?: string }) =>
        finish({ kind: 'failed', ...(error.code !== undefined && { code: error.code }), message: error.code ? `${error.code} (${error.message})` : error.message }),
      );
      req.end(outgoing.body);
    });
  }

  close(): void {
    for (const req of this.open) req.destroy();
    this.open.clear();
    this.http.destroy();
    this.https.destroy();
  }
}
