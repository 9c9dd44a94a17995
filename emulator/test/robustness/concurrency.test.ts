// Concurrency: many clients, each on its own connection, set versions of one shared secret, of a secret
// they all create at the same moment, and of their own secrets, all at once. Every write is
// acknowledged, every acknowledged version is listed exactly once, nothing else is listed, and each
// version reads back with the value its writer sent.
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerToken, call, startChild, type ChildEmulator } from './support.js';

const CLIENTS = 16;
const WRITES_PER_CLIENT = 12;

let emulator: ChildEmulator;
let auth: Record<string, string>;
beforeAll(async () => {
  emulator = await startChild();
  auth = { authorization: `Bearer ${await bearerToken(emulator)}`, 'content-type': 'application/json' };
}, 30_000);
afterAll(() => emulator?.stop());

interface Ack {
  name: string;
  version: string;
  value: string;
}

async function listAll(agent: Agent, firstPath: string): Promise<Array<{ id: string }>> {
  const items: Array<{ id: string }> = [];
  let path: string | undefined = firstPath;
  while (path) {
    const res = await call(emulator, path, { headers: auth, agent });
    expect(res.status, res.text).toBe(200);
    const page = JSON.parse(res.text) as { value: Array<{ id: string }>; nextLink: string | null };
    items.push(...page.value);
    path = page.nextLink ? new URL(page.nextLink).pathname + new URL(page.nextLink).search : undefined;
  }
  return items;
}

describe('concurrent writers', () => {
  it(`${CLIENTS} clients writing at once: every acknowledged version listed once, none lost`, async () => {
    const agents = Array.from({ length: CLIENTS }, () => new Agent({ keepAlive: true, maxSockets: 1, ca: emulator.ca }));
    const acked: Ack[] = [];
    const write = async (agent: Agent, name: string, value: string) => {
      const res = await call(emulator, `/secrets/${name}?api-version=7.6`, { method: 'PUT', headers: auth, body: JSON.stringify({ value }), agent });
      expect(res.status, res.text).toBe(200);
      const bundle = JSON.parse(res.text) as { id: string; value: string };
      expect(bundle.value).toBe(value);
      acked.push({ name, version: bundle.id.split('/').pop()!, value });
    };
    // Round 1: every client creates the same new secret at the same moment.
    await Promise.all(agents.map((agent, c) => write(agent, 'born-together', `client-${c}`)));
    // Then each client alternates between the shared secret and its own, all clients at once.
    await Promise.all(
      agents.map(async (agent, c) => {
        for (let i = 0; i < WRITES_PER_CLIENT; i++) {
          await write(agent, i % 2 === 0 ? 'shared' : `own-${c}`, `client-${c}-write-${i}`);
        }
      }),
    );
    expect(acked).toHaveLength(CLIENTS + CLIENTS * WRITES_PER_CLIENT);

    const reader = new Agent({ keepAlive: true, ca: emulator.ca });
    const names = [...new Set(acked.map((a) => a.name))];
    for (const name of names) {
      const listed = (await listAll(reader, `/secrets/${name}/versions?api-version=7.6&maxresults=25`)).map((item) => item.id.split('/').pop()!);
      const expected = acked.filter((a) => a.name === name).map((a) => a.version);
      expect(new Set(listed).size, `${name}: a version listed twice`).toBe(listed.length);
      expect([...listed].sort(), name).toEqual([...expected].sort());
    }
    // Each secret is listed once, and its latest version is one of the acknowledged ones.
    const secrets = (await listAll(reader, '/secrets?api-version=7.6&maxresults=7')).map((item) => item.id.split('/').pop()!);
    expect([...secrets].sort()).toEqual([...names].sort());
    for (const name of names) {
      const latest = await call(emulator, `/secrets/${name}?api-version=7.6`, { headers: auth, agent: reader });
      expect(acked.filter((a) => a.name === name).map((a) => a.value)).toContain(JSON.parse(latest.text).value);
    }
    // Every acknowledged version reads back with its own value.
    for (const ack of acked) {
      const res = await call(emulator, `/secrets/${ack.name}/${ack.version}?api-version=7.6`, { headers: auth, agent: reader });
      expect(JSON.parse(res.text).value, `${ack.name}/${ack.version}`).toBe(ack.value);
    }
    for (const agent of [...agents, reader]) agent.destroy();
  }, 60_000);
});
