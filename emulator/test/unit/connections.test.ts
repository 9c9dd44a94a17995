import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { request } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { clientAddressOf, connectionTagOf, handToServer, isLoopbackAddress } from '../../src/http/connections.js';
import { createCa, createServerCertificate } from '../../src/tls/certificates.js';

describe('connections handed to the HTTPS server', () => {
  const closers: Array<() => void> = [];
  afterAll(() => closers.forEach((close) => close()));

  it('keep the client address and the tag of the edge that accepted them', async () => {
    const ca = await createCa();
    const tls = await createServerCertificate(ca, ['localhost']);
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      res.end(JSON.stringify({ address: clientAddressOf(req.socket), tag: connectionTagOf(req.socket) ?? null }));
    });
    const edge = createNetServer((socket) => handToServer(server, socket, { via: 'private-endpoint', privateEndpoint: { name: 'pe1', vault: 'v' } }));
    await new Promise<void>((done) => edge.listen(0, '127.0.0.1', done));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    closers.push(() => edge.close(), () => server.close());
    const call = (port: number) =>
      new Promise<any>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, servername: 'localhost', ca: ca.cert, localAddress: '127.0.0.7' }, (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(JSON.parse(text)));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await call((edge.address() as AddressInfo).port)).toEqual({ address: '127.0.0.7', tag: { via: 'private-endpoint', privateEndpoint: { name: 'pe1', vault: 'v' } } });
    expect(await call((server.address() as AddressInfo).port)).toEqual({ address: '127.0.0.7', tag: null });
  });

  it('reduce IPv4-mapped addresses and recognise loopback', () => {
    expect(clientAddressOf({ remoteAddress: '::ffff:10.1.2.3' })).toBe('10.1.2.3');
    expect(clientAddressOf({ remoteAddress: '2001:db8::1' })).toBe('2001:db8::1');
    expect(isLoopbackAddress('127.0.0.2')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
  });
});
