// A request without a Host header. HTTP/1.1 requires one (RFC 9112 §3.2); Node's HTTP server refused it
// with a bare 400 and an empty body before any route ran. It gets the Key Vault envelope, like every
// other bad request, on a real socket (inject always sends a Host header).
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from '../support/harness.js';

let emu: TestEmulator;
let port: number;

beforeAll(async () => {
  emu = await testEmulator();
  await emu.app.listen({ port: 0, host: '127.0.0.1' });
  port = (emu.app.server.address() as { port: number }).port;
});
afterAll(() => emu.app.close());

/** Sends `request` as raw bytes and reads the whole answer (the server closes the connection). */
function raw(request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /content-length: (\d+)/i.exec(text.slice(0, end));
      if (length && text.length >= end + 4 + Number(length[1])) socket.end();
    });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    });
  });
}

describe('a request without a Host header', () => {
  it('is answered 400 in the Key Vault envelope, on every surface', async () => {
    for (const path of ['/secrets/a?api-version=7.6', '/_emulator/health', '/msi/token?api-version=2019-08-01&resource=https://vault.azure.net']) {
      const res = await raw(`GET ${path} HTTP/1.1\r\nconnection: close\r\n\r\n`);
      expect(res.status, path).toBe(400);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const body = JSON.parse(res.body) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('BadParameter');
      expect(body.error.message).toMatch(/Host header/);
    }
  });

  it('is still served over HTTP/1.0, which has no Host header to require', async () => {
    const res = await raw('GET /_emulator/health HTTP/1.0\r\n\r\n');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });
});
