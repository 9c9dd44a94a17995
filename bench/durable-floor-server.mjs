// A third reference, for writes: the bare Fastify server of bench/bare-server.mjs plus the least that any
// server must do to acknowledge a write durably in SQLite: one row inserted in a table without indexes,
// in the emulator's own storage plumbing (store/storage.ts, durability "full": group commits, the log
// synced off the event loop before the answer, background checkpoints). No secret model, no head lookup,
// no versions: what a write costs here is a floor under the emulator's write rate on this machine, and
// its rate against bare Fastify is about the most a durable write can reach there.
// Usage: node bench/durable-floor-server.mjs <dataDir> <bodies.json>; prints "listening on https://localhost:<port>".
import Fastify from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../emulator/dist/store/storage.js';

const [dataDir, bodiesFile] = process.argv.slice(2);
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8'));
const storage = openStorage({ file: join(dataDir, 'durable-floor.db'), durability: 'full' });
const { commits } = storage;
storage.db.exec('CREATE TABLE IF NOT EXISTS writes (name TEXT NOT NULL, value TEXT NOT NULL)');
const insert = storage.db.prepare('INSERT INTO writes (name, value) VALUES (?, ?)');

const app = Fastify({
  https: { key: readFileSync(join(dataDir, 'server-key.pem')), cert: readFileSync(join(dataDir, 'server.pem')) },
});
app.put('/secrets/:name', async (request, reply) => {
  const { value } = request.body ?? {};
  if (typeof value !== 'string') return reply.code(400).send({ error: { code: 'BadParameter' } });
  commits.run(() => insert.run(request.params.name, value));
  await commits.settled();
  return reply.code(200).type('application/json; charset=utf-8').send(bodies.set);
});
app.addHook('onClose', () => storage.close());
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void app.close().then(() => process.exit(0)));
await app.listen({ port: 0, host: 'localhost' });
process.stdout.write(`listening on https://localhost:${app.server.address().port}\n`);
