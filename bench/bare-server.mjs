// The reference the emulator is measured against: a bare Fastify HTTPS server with the emulator's own
// certificate, answering the same paths with the same JSON bodies (byte for byte) and doing nothing
// else: no authentication, no storage. PUT parses its JSON body, as the emulator must.
// With --kv-headers, a get's answer also carries the response headers Key Vault sends (taken from the
// emulator's answer, in bodies.json's getHeaders), a request id made per answer as the emulator makes
// its own, and the client's request id echoed: the same answer as the emulator's, header for header, so
// that what Key Vault's headers cost is told apart from what the emulator does to make its answer.
// Usage: node bench/bare-server.mjs <dataDir> <bodies.json> [--kv-headers]; prints "listening on https://localhost:<port>".
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dataDir, bodiesFile, option] = process.argv.slice(2);
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8'));
const app = Fastify({
  https: { key: readFileSync(join(dataDir, 'server-key.pem')), cert: readFileSync(join(dataDir, 'server.pem')) },
});
const send = (reply, body) => reply.code(200).type('application/json; charset=utf-8').send(body);
const kvHeaders = option === '--kv-headers' ? bodies.getHeaders : undefined;
if (option !== undefined && !kvHeaders) throw new Error(`${option}: not an option, or bodies.json has no getHeaders`);
app.get('/secrets/:name', async (request, reply) => {
  if (kvHeaders) {
    reply.headers(kvHeaders);
    reply.header('x-ms-request-id', randomUUID());
    const clientRequestId = request.headers['x-ms-client-request-id'];
    if (typeof clientRequestId === 'string') reply.header('x-ms-client-request-id', clientRequestId);
  }
  return send(reply, bodies.get);
});
app.put('/secrets/:name', async (request, reply) => {
  if (typeof request.body?.value !== 'string') return reply.code(400).send({ error: { code: 'BadParameter' } });
  return send(reply, bodies.set);
});
app.get('/secrets', async (_request, reply) => send(reply, bodies.list));
await app.listen({ port: 0, host: 'localhost' });
process.stdout.write(`listening on https://localhost:${app.server.address().port}\n`);
