// The reference the emulator is measured against: a bare Fastify HTTPS server with the emulator's own
// certificate, answering the same paths with the same JSON bodies (byte for byte) and doing nothing
// else: no authentication, no storage. PUT parses its JSON body, as the emulator must.
// Usage: node bench/bare-server.mjs <dataDir> <bodies.json>; prints "listening on https://localhost:<port>".
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dataDir, bodiesFile] = process.argv.slice(2);
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8'));
const app = Fastify({
  https: { key: readFileSync(join(dataDir, 'server-key.pem')), cert: readFileSync(join(dataDir, 'server.pem')) },
});
const send = (reply, body) => reply.code(200).type('application/json; charset=utf-8').send(body);
app.get('/secrets/:name', async (_request, reply) => send(reply, bodies.get));
app.put('/secrets/:name', async (request, reply) => {
  if (typeof request.body?.value !== 'string') return reply.code(400).send({ error: { code: 'BadParameter' } });
  return send(reply, bodies.set);
});
app.get('/secrets', async (_request, reply) => send(reply, bodies.list));
await app.listen({ port: 0, host: 'localhost' });
process.stdout.write(`listening on https://localhost:${app.server.address().port}\n`);
