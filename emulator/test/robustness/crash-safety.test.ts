// Crash safety: the emulator (default durability: grouped commits, the log synced before any answer,
// checkpoints on a worker thread) is killed with SIGKILL at random moments while clients stream writes
// into it, several times over the same data directory. After every restart each write it acknowledged with 200 is there, versions and values
// alike, listed once, and the database passes PRAGMA integrity_check.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearerToken, call, newDataDir, startChild, type ChildEmulator } from './support.js';

const CYCLES = 5;
const WRITERS = 4;
const NAMES = ['crash-a', 'crash-b', 'crash-c'];

interface Ack {
  name: string;
  version: string;
  value: string;
}

const dataDir = newDataDir('kv-crash-');
const running: ChildEmulator[] = [];
afterAll(async () => {
  for (const emulator of running) await emulator.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ emulator: ChildEmulator; agent: Agent; auth: Record<string, string> }> {
  // Debug logs say when the write-ahead log is checkpointed (on a worker thread, store/checkpointer.ts).
  const emulator = await startChild({ dataDir, args: ['--log-level', 'debug'] });
  running.push(emulator);
  const agent = new Agent({ keepAlive: true, maxSockets: WRITERS, ca: emulator.ca });
  return { emulator, agent, auth: { authorization: `Bearer ${await bearerToken(emulator)}`, 'content-type': 'application/json' } };
}

/** Every version of a secret, following nextLink through pages of 25. */
async function listVersions(emulator: ChildEmulator, agent: Agent, auth: Record<string, string>, name: string): Promise<string[]> {
  const versions: string[] = [];
  let path: string | undefined = `/secrets/${name}/versions?api-version=7.6&maxresults=25`;
  while (path) {
    const res = await call(emulator, path, { headers: auth, agent });
    expect(res.status, res.text).toBe(200);
    const page = JSON.parse(res.text) as { value: Array<{ id: string }>; nextLink: string | null };
    versions.push(...page.value.map((item) => item.id.split('/').pop()!));
    path = page.nextLink ? new URL(page.nextLink).pathname + new URL(page.nextLink).search : undefined;
  }
  return versions;
}

function integrityCheck(): string {
  const db = new Database(join(dataDir, 'emulator.db'), { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check') as Array<{ integrity_check: string }>).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

describe('crash safety', () => {
  it(`keeps every acknowledged write through ${CYCLES} SIGKILLs under load`, async () => {
    const acked: Ack[] = [];
    let toCheckValues: Ack[] = [];
    const killDelays: number[] = [];
    let checkpoints = 0;

    for (let cycle = 0; cycle <= CYCLES; cycle++) {
      const { emulator, agent, auth } = await start();

      // Everything acknowledged before any kill so far is listed, exactly once.
      for (const name of NAMES) {
        const listed = await listVersions(emulator, agent, auth, name);
        expect(new Set(listed).size, `${name} lists a version twice`).toBe(listed.length);
        const missing = acked.filter((a) => a.name === name && !listed.includes(a.version));
        expect(missing, `lost after kill ${cycle} (delays ${killDelays.join(', ')} ms)`).toEqual([]);
      }
      // The writes acknowledged just before the last kill have their values (after the last, all do).
      for (const ack of cycle === CYCLES ? acked : toCheckValues) {
        const res = await call(emulator, `/secrets/${ack.name}/${ack.version}?api-version=7.6`, { headers: auth, agent });
        expect(res.status, res.text).toBe(200);
        expect(JSON.parse(res.text).value).toBe(ack.value);
      }
      expect(integrityCheck()).toBe('ok');
      if (cycle === CYCLES) {
        await emulator.stop();
        break;
      }

      // A stream of writes from several clients, cut by SIGKILL at a random moment.
      const thisCycle: Ack[] = [];
      let killing = false;
      const writer = async (w: number) => {
        for (let seq = 0; !killing; seq++) {
          const name = NAMES[(w + seq) % NAMES.length]!;
          const value = `c${cycle}-w${w}-s${seq}`;
          try {
            const res = await call(emulator, `/secrets/${name}?api-version=7.6`, { method: 'PUT', headers: auth, body: JSON.stringify({ value }), agent, timeoutMs: 5000 });
            if (res.status !== 200) throw new Error(`write answered ${res.status}: ${res.text}`);
            thisCycle.push({ name, version: (JSON.parse(res.text) as { id: string }).id.split('/').pop()!, value });
          } catch (error) {
            if (!killing) throw error;
            return; // killed mid-request: the outcome of that write is unknown, and it was not acknowledged
          }
        }
      };
      const delay = 200 + Math.floor(Math.random() * 600);
      killDelays.push(delay);
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
      await new Promise((r) => setTimeout(r, delay));
      // On a busy machine the writes of a few hundred milliseconds may commit in too few groups to reach
      // a checkpoint: the last cycle then writes on until one has run, so the property is exercised across
      // a checkpoint whatever the machine's load.
      const checkpointed = () => checkpoints + emulator.output().split('write-ahead log checkpointed').length - 1 > 0;
      for (let waited = 0; cycle === CYCLES - 1 && !checkpointed() && waited < 20_000; waited += 100) {
        await new Promise((r) => setTimeout(r, 100));
      }
      killing = true;
      await emulator.kill();
      await Promise.all(writers);
      checkpoints += emulator.output().split('write-ahead log checkpointed').length - 1;
      agent.destroy();
      acked.push(...thisCycle);
      toCheckValues = thisCycle;
    }
    console.log(`[crash] ${acked.length} acknowledged writes survived ${CYCLES} kills at ${killDelays.join(', ')} ms; ${checkpoints} background checkpoints ran`);
    // Each cycle acknowledged writes before its kill, and the log was checkpointed under the stream of
    // writes, so the property was exercised across checkpoints too.
    expect(acked.length).toBeGreaterThanOrEqual(CYCLES * 5);
    expect(checkpoints).toBeGreaterThanOrEqual(1);
  }, 90_000);
});
