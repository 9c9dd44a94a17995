// A second reference: the bare Fastify server of bench/bare-server.mjs, plus the emulator's own store
// doing what the emulator's store does for each request, opened as the emulator opens it
// (store/storage.ts, durability "full"): the same SQLite schema and statements, group commits with the log
// synced off the event loop before the answer, background checkpoints. It answers the same bodies byte
// for byte, and does nothing else: no authentication, no vault or access checks, no presentation of the
// result.
// The emulator's rate against this one is what its own layers (HTTP handling, tokens, access, domain,
// wire shapes) cost on top of the storage work that any durable emulator must do.
// Usage: node bench/storage-server.mjs <dataDir> <bodies.json>; prints "listening on https://localhost:<port>".
import Fastify from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteSecretRepository } from '../emulator/dist/store/secret-repository.js';
import { openStorage } from '../emulator/dist/store/storage.js';

const [dataDir, bodiesFile] = process.argv.slice(2);
const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8'));
const VAULT = 'default';
const storage = openStorage({ file: join(dataDir, 'storage-reference.db'), durability: 'full' });
const { commits } = storage;
const repo = new SqliteSecretRepository(storage.db, commits);

const nowSeconds = () => Math.floor(Date.now() / 1000);
function addVersion(name, value, contentType, tags) {
  const now = nowSeconds();
  const version = {
    name,
    version: randomUUID().replaceAll('-', ''),
    value,
    ...(contentType !== undefined && { contentType }),
    ...(tags !== undefined && { tags }),
    attributes: { enabled: true, created: now, updated: now },
  };
  repo.addVersion(VAULT, { name, managed: false }, version);
}

// The secrets bench/run.mjs reads and lists in the emulator.
repo.transaction(() => {
  for (let i = 0; i < 30; i++) addVersion(`bench-list-${String(i).padStart(2, '0')}`, 'bench-value-0123456789abcdef0123456789abcdef0123');
});
await commits.settled();

const app = Fastify({
  https: { key: readFileSync(join(dataDir, 'server-key.pem')), cert: readFileSync(join(dataDir, 'server.pem')) },
});
const send = (reply, body) => reply.code(200).type('application/json; charset=utf-8').send(body);
app.get('/secrets/:name', async (request, reply) => {
  if (!repo.findSecret(VAULT, request.params.name)) return reply.code(404).send({ error: { code: 'SecretNotFound' } });
  return send(reply, bodies.get);
});
app.put('/secrets/:name', async (request, reply) => {
  const { value, contentType, tags } = request.body ?? {};
  if (typeof value !== 'string') return reply.code(400).send({ error: { code: 'BadParameter' } });
  // The emulator's setSecret: the secret's head, then a new version, in one unit of the current group.
  repo.transaction(() => {
    const head = repo.findHead(VAULT, request.params.name);
    addVersion(head?.name ?? request.params.name, value, contentType, tags);
  });
  await commits.settled();
  return send(reply, bodies.set);
});
app.get('/secrets', async (_request, reply) => {
  repo.listSecrets(VAULT, { limit: 25 });
  return send(reply, bodies.list);
});
app.addHook('onClose', () => storage.close());
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void app.close().then(() => process.exit(0)));
await app.listen({ port: 0, host: 'localhost' });
process.stdout.write(`listening on https://localhost:${app.server.address().port}\n`);
