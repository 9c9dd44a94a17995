// What a user feels: the SDK journeys of the 61 real-Azure recordings (emulator/test/fixtures/recordings,
// the JavaScript SDK's live tests: set, get, update, delete and wait, recover, purge, backup and restore,
// list by page...), the same requests in the same order, replayed over HTTPS against the emulator (its
// CLI, default settings), against the time they took against real Azure, which their Date headers give
// (first answer to last, one-second resolution). Each recording is replayed on one keep-alive
// connection of its own, as an SDK client holds one; the recordings of one suite (folder) share a vault
// and run in the order they were recorded, as they did against Azure; version ids and backup blobs
// are mapped from the recording to the emulator's as they appear (as the fidelity replay does), so later
// requests name what exists. Requests the recording answered 401 (the SDK's challenge round trip) go
// without a token; continuation requests whose $skiptoken the recording sanitized cannot be replayed.
// The polls the SDK made while the real service was still deleting are replayed too: the emulator
// answers them at once, where the SDK against it would not even have made them.
// Used by bench/run.mjs; `node bench/journeys.mjs` prints the figures alone.
import { readdirSync, readFileSync, rmSync, mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clientOf, median, ROOT, round, startEmulator } from './lib.mjs';

const RECORDINGS = join(ROOT, 'emulator/test/fixtures/recordings');
const VERSION = /[0-9a-f]{32}/g;

/** The recordings, by suite (folder), each suite's in the order they were recorded (first Date header). */
export function recordings() {
  const firstDate = (file) => Date.parse(JSON.parse(readFileSync(join(RECORDINGS, file), 'utf8')).Entries[0].ResponseHeaders.Date);
  return readdirSync(RECORDINGS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .flatMap((suite) =>
      readdirSync(join(RECORDINGS, suite))
        .filter((f) => f.endsWith('.json'))
        .map((f) => ({ file: join(suite, f), at: firstDate(join(suite, f)) }))
        .sort((a, b) => a.at - b.at || a.file.localeCompare(b.file))
        .map((r) => r.file),
    );
}

function send(agent, port, { method, path, headers, body }) {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'localhost', port, method, path, headers: { ...headers, ...(body !== undefined && { 'content-length': Buffer.byteLength(body) }) }, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Replays one recording; resolves its real and replayed durations and how many answers matched the recorded status. */
async function replay(file, { port, token, ca }) {
  const entries = JSON.parse(readFileSync(join(RECORDINGS, file), 'utf8')).Entries;
  const dates = entries.map((e) => Date.parse(e.ResponseHeaders.Date));
  // One vault per suite: 'secret_client__list_secrets_in_various_ways' -> 'secret-client--list-secrets-in-various'.
  const host = `${file.split('/')[0].replaceAll('_', '-').slice(0, 40).replace(/-+$/, '')}.vault.azure.net`;
  const versions = new Map();
  const blobs = new Map();
  const learn = (recorded, ours) => {
    const r = typeof recorded === 'string' ? (recorded.match(VERSION) ?? []) : [];
    const o = typeof ours === 'string' ? (ours.match(VERSION) ?? []) : [];
    r.forEach((v, i) => o[i] && !versions.has(v) && versions.set(v, o[i]));
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  let sent = 0;
  let sameStatus = 0;
  let skipped = 0;
  const started = performance.now();
  for (const entry of entries) {
    const path = entry.RequestUri.replace(/^https?:\/\/[^/]+/, '').replace(VERSION, (v) => versions.get(v) ?? v);
    if (path.includes('$skiptoken=Sanitized')) {
      skipped += 1;
      continue;
    }
    let body = entry.RequestBody;
    if (body && typeof body === 'object' && typeof body.value === 'string' && blobs.has(body.value)) body = { ...body, value: blobs.get(body.value) };
    const payload = body === null || body === undefined || body === '' ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = { host, accept: 'application/json', ...(entry.StatusCode !== 401 && { authorization: `Bearer ${token}` }), ...(payload !== undefined && { 'content-type': 'application/json' }) };
    const answer = await send(agent, port, { method: entry.RequestMethod, path, headers, body: payload });
    sent += 1;
    if (answer.status === entry.StatusCode) sameStatus += 1;
    else if (process.env.KV_JOURNEYS_DEBUG) process.stderr.write(`${file} ${entry.RequestMethod} ${path.replace(/\?.*/, '')} recorded ${entry.StatusCode} got ${answer.status} ${answer.text.slice(0, 120)}\n`);
    if (answer.status < 300 && answer.text) {
      const ours = JSON.parse(answer.text);
      const recorded = entry.ResponseBody ?? {};
      learn(recorded.id, ours.id);
      learn(recorded.recoveryId, ours.recoveryId);
      if (typeof recorded.value === 'string' && typeof ours.value === 'string' && path.includes('/backup')) blobs.set(recorded.value, ours.value);
    }
  }
  const replayedMs = performance.now() - started;
  agent.destroy();
  return { realMs: Math.max(...dates) - Math.min(...dates), replayedMs, sent, sameStatus, skipped };
}

export async function journeyFigures({ log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const files = recordings();
  const dataDir = mkdtempSync(join(tmpdir(), 'kv-bench-journeys-'));
  const emulator = await startEmulator({ dataDir });
  try {
    const client = await clientOf(emulator);
    log(`journeys: replaying ${files.length} recordings of real Azure traffic`);
    const results = [];
    for (const file of files) results.push(await replay(file, { port: emulator.port, token: client.token, ca: client.ca }));
    const real = results.reduce((sum, r) => sum + r.realMs, 0);
    const replayed = results.reduce((sum, r) => sum + r.replayedMs, 0);
    const requests = results.reduce((sum, r) => sum + r.sent, 0);
    return {
      recordings: files.length,
      requests,
      skippedSanitized: results.reduce((sum, r) => sum + r.skipped, 0),
      sameStatus: results.reduce((sum, r) => sum + r.sameStatus, 0),
      realAzureSeconds: round(real / 1000, 0),
      emulatorSeconds: round(replayed / 1000, 2),
      // How many times faster the same journeys ran against the emulator.
      speedup: round(real / replayed, 0),
      medianRequestMs: round(median(results.map((r) => r.replayedMs / Math.max(1, r.sent))), 2),
      longestRealSeconds: round(Math.max(...results.map((r) => r.realMs)) / 1000, 0),
    };
  } finally {
    await emulator.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const figures = await journeyFigures();
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
