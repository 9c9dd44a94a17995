// Replays real Key Vault traffic (recorded by the Azure SDK for JavaScript's live tests, copied into
// test/fixtures/recordings) against the emulator and compares what a client can observe: status codes,
// error codes and messages, the key order of JSON bodies, and the values that do not depend on time or
// randomness. Version ids and backup blobs are mapped from the recording to the emulator's as they
// appear. Entries a replay cannot reproduce are skipped by rule, and counted:
//  - eventual consistency: the real service briefly answered 404/409 and the identical next request
//    succeeded; the emulator is immediately consistent;
//  - objects that pre-existed in the recorded vault (certificates the replay never created);
//  - continuation requests whose $skiptoken the recording sanitized.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from '../support/harness.js';

interface Entry {
  RequestUri: string;
  RequestMethod: string;
  RequestHeaders: Record<string, string>;
  RequestBody: unknown;
  StatusCode: number;
  ResponseHeaders: Record<string, string>;
  ResponseBody: unknown;
}

type Json = Record<string, any>;

const ROOT = join(import.meta.dirname, '../fixtures/recordings');
const files = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .flatMap((folder) =>
  readdirSync(join(ROOT, folder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => join(folder, f)),
);

let emu: TestEmulator;
let token: string;
beforeAll(async () => {
  emu = await testEmulator();
  token = await emu.token();
});
afterAll(() => emu.app.close());

const VERSION = /[0-9a-f]{32}/g;
const pathOf = (uri: string) => uri.replace(/^https?:\/\/[^/]+/, '');
const stripOrigin = (text: string) => text.replace(/https?:\/\/[^/'"\s]+/g, '');
const nameOf = (path: string) => /^\/(?:secrets|deletedsecrets)\/([^/?]+)/.exec(path)?.[1];

function attributesKeys(body: Json | undefined): string[] {
  return body?.attributes ? Object.keys(body.attributes) : [];
}

/** True when the same request, repeated right after (polling), eventually got another answer. */
function laterAnswerDiffers(entries: Entry[], index: number): boolean {
  const entry = entries[index]!;
  for (let j = index + 1; j < entries.length; j++) {
    const later = entries[j]!;
    if (later.RequestMethod !== entry.RequestMethod || later.RequestUri !== entry.RequestUri) return false;
    if (later.StatusCode !== entry.StatusCode) return true;
  }
  return false;
}

interface Stats {
  compared: number;
  skippedTransient: number;
  skippedPreexisting: number;
  skippedSanitized: number;
}
const totals: Stats = { compared: 0, skippedTransient: 0, skippedPreexisting: 0, skippedSanitized: 0 };

async function replay(file: string, index: number): Promise<Stats> {
  const entries = (JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { Entries: Entry[] }).Entries;
  const stats: Stats = { compared: 0, skippedTransient: 0, skippedPreexisting: 0, skippedSanitized: 0 };
  const firstAttributes = entries.map((e) => (e.ResponseBody as Json | null)?.attributes).find((a) => a?.recoverableDays);
  const vault = `replay${index}`;
  emu.vaults.create(vault, { retentionDays: firstAttributes?.recoverableDays ?? 90 });
  const host = `${vault}.vault.azure.net`;
  const versions = new Map<string, string>();
  const blobs = new Map<string, string>();
  const known = new Set<string>();
  /** Deleted by this replay; the real service answered 404 on GET /deletedsecrets for a while after. */
  const justDeleted = new Set<string>();

  const mapVersions = (text: string) => text.replace(VERSION, (v) => versions.get(v) ?? v);
  const learn = (recorded: unknown, ours: unknown) => {
    if (typeof recorded !== 'string' || typeof ours !== 'string') return;
    const r = recorded.match(VERSION) ?? [];
    const o = ours.match(VERSION) ?? [];
    r.forEach((v, i) => {
      if (o[i] && !versions.has(v)) versions.set(v, o[i]!);
    });
  };

  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    const where = `${file} #${i} ${entry.RequestMethod} ${pathOf(entry.RequestUri)}`;
    if (entry.StatusCode >= 400 && entry.StatusCode !== 401 && laterAnswerDiffers(entries, i)) {
      stats.skippedTransient += 1;
      continue;
    }
    const path = mapVersions(pathOf(entry.RequestUri));
    if (path.includes('$skiptoken=Sanitized')) {
      // The recording's continuation tokens were sanitized; the emulator's own paging is tested elsewhere.
      stats.skippedSanitized += 1;
      continue;
    }
    const name = nameOf(path);
    const key = name?.toLowerCase();
    const createsName = entry.RequestMethod === 'PUT' || path.startsWith('/secrets/restore');
    const listsVersions = /\/versions(\?|$)/.test(path);
    if (key && key !== 'restore' && !known.has(key) && !createsName && !listsVersions && entry.StatusCode !== 404 && entry.StatusCode !== 401) {
      // Only an object that existed in the recorded vault answers anything but 404 for a name the replay never created.
      stats.skippedPreexisting += 1;
      continue;
    }
    if (key && entry.RequestMethod === 'GET' && path.startsWith('/deletedsecrets/') && entry.StatusCode === 404 && justDeleted.has(key)) {
      stats.skippedTransient += 1;
      continue;
    }

    let body = entry.RequestBody;
    if (body && typeof body === 'object' && typeof (body as Json).value === 'string' && blobs.has((body as Json).value)) {
      body = { ...(body as Json), value: blobs.get((body as Json).value) };
    }
    const unauthenticated = entry.StatusCode === 401;
    const headers: Record<string, string> = { host };
    if (!unauthenticated) headers.authorization = `Bearer ${token}`;
    const payload = body === null || body === undefined || body === '' ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    if (payload !== undefined || entry.RequestHeaders['Content-Type']) headers['content-type'] = 'application/json';
    const res = await emu.app.inject({ method: entry.RequestMethod as 'GET', url: path, headers, ...(payload !== undefined && { payload }) });
    const ours = res.body ? (JSON.parse(res.body) as Json) : undefined;
    const recorded = entry.ResponseBody as Json | null;
    stats.compared += 1;
    if (key && entry.StatusCode < 300) {
      if (entry.RequestMethod === 'DELETE' && path.startsWith('/secrets/')) justDeleted.add(key);
      else justDeleted.delete(key);
    }

    expect(res.statusCode, where).toBe(entry.StatusCode);
    if (entry.StatusCode === 204) {
      expect(res.body, where).toBe('');
      if (name) known.delete(name.toLowerCase());
      continue;
    }
    expect(res.headers['content-type'], where).toBe(entry.ResponseHeaders['Content-Type']);
    if (recorded?.error) {
      expect(ours?.error?.code, where).toBe(recorded.error.code);
      const expected = stripOrigin(mapVersions(recorded.error.message));
      const actual = stripOrigin(ours?.error?.message ?? '');
      if (unauthenticated) expect(actual, where).toMatch(/^AKV10000: Request is missing a Bearer/);
      else expect(actual, where).toBe(expected);
      expect(ours?.error?.innererror, where).toEqual(recorded.error.innererror);
      if (unauthenticated) {
        // The recorded challenge with the emulator's tenant (recordings before 2024 name the authority's
        // older alias, login.windows.net).
        const challenge = String(entry.ResponseHeaders['WWW-Authenticate'])
          .replace('https://login.windows.net/', 'https://login.microsoftonline.com/')
          .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, emu.config.tenantId);
        expect(res.headers['www-authenticate'], where).toBe(challenge);
      }
      continue;
    }
    if (!recorded) continue;
    if (createsName && name && name !== 'restore') known.add(name.toLowerCase());
    if (path.startsWith('/secrets/restore') && typeof recorded.id === 'string') known.add(String(nameOf(pathOf(recorded.id))).toLowerCase());

    if (Array.isArray(recorded.value)) {
      expect(Array.isArray(ours?.value), where).toBe(true);
      expect(Object.keys(ours!), where).toEqual(['value', 'nextLink']);
      for (const item of ours!.value as Json[]) {
        const match = (recorded.value as Json[]).find((r) => stripOrigin(r.id) === stripOrigin(mapVersions(item.id)));
        if (match) {
          expect(Object.keys(item), where).toEqual(Object.keys(match));
          expect(attributesKeys(item), where).toEqual(attributesKeys(match));
        }
      }
      continue;
    }
    if (path.endsWith('/backup') || (recorded.value !== undefined && Object.keys(recorded).length === 1)) {
      expect(Object.keys(ours!), where).toEqual(['value']);
      blobs.set(recorded.value, ours!.value);
      continue;
    }
    learn(recorded.id, ours?.id);
    expect(Object.keys(ours!), where).toEqual(Object.keys(recorded));
    expect(attributesKeys(ours), where).toEqual(attributesKeys(recorded));
    for (const field of ['value', 'contentType', 'tags', 'managed', 'kid']) expect(ours![field], `${where} ${field}`).toEqual(recorded[field]);
    for (const field of ['enabled', 'nbf', 'exp', 'recoveryLevel', 'recoverableDays']) {
      expect(ours!.attributes?.[field], `${where} attributes.${field}`).toEqual(recorded.attributes?.[field]);
    }
    expect(stripOrigin(ours!.id), where).toBe(stripOrigin(mapVersions(recorded.id)));
    if (recorded.recoveryId) {
      expect(stripOrigin(ours!.recoveryId), where).toBe(stripOrigin(recorded.recoveryId));
      expect(ours!.scheduledPurgeDate - ours!.deletedDate, where).toBe(recorded.scheduledPurgeDate - recorded.deletedDate);
    }
  }
  return stats;
}

describe('replay of recorded real Key Vault traffic', () => {
  files.forEach((file, index) => {
    it(file, async () => {
      const stats = await replay(file, index);
      totals.compared += stats.compared;
      totals.skippedTransient += stats.skippedTransient;
      totals.skippedPreexisting += stats.skippedPreexisting;
      totals.skippedSanitized += stats.skippedSanitized;
      expect(stats.compared).toBeGreaterThan(0);
    });
  });

  afterAll(() => {
    console.log(
      `[fidelity] ${files.length} recordings: ${totals.compared} exchanges compared; skipped ${totals.skippedTransient} eventual-consistency answers, ${totals.skippedPreexisting} requests for objects that pre-existed in the recorded vault, ${totals.skippedSanitized} requests with sanitized continuation tokens`,
    );
  });
});
