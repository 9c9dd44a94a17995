// Replays real Key Vault traffic (recorded by the Azure SDK for JavaScript's live tests, copied into
// test/fixtures/recordings) against the emulator and compares what a client can observe: status codes,
// error codes and messages, the key order of JSON bodies, and the values that do not depend on time or
// randomness. Version ids and backup blobs are mapped from the recording to the emulator's as they
// appear. Two modes:
//  - immediate (the emulator as it starts by default): every change is visible at once, so the answers
//    the real service gave while a change was still propagating differ. Those differences, and only
//    those, are allowed; each is listed with its reason (eventualDifference);
//  - realistic (`--realistic`): the emulator clock is frozen and moved by the gaps between the
//    recorded Date headers, so the consistency windows open and close as the recording's time passes.
//    Requests made within 10 s of a delete, recover or purge of the same name must match the recorded
//    status in at least 90% of cases (the real windows vary from request to request, and Date has
//    one-second resolution); every other request must match exactly.
// In both modes, entries a replay cannot reproduce are skipped by rule, and counted: objects that
// pre-existed in the recorded vault (certificates the replay never created), and continuation requests
// whose $skiptoken the recording sanitized.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { TestEmulator } from '../support/harness.js';

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
export const RECORDINGS = readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .flatMap((folder) =>
    readdirSync(join(ROOT, folder))
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(folder, f)),
  );

/** How long after a delete, recover or purge a request counts as made while it may still propagate. */
export const NEAR_CHANGE_MS = 10_000;

const VERSION = /[0-9a-f]{32}/g;
const pathOf = (uri: string) => uri.replace(/^https?:\/\/[^/]+/, '');
const stripOrigin = (text: string) => text.replace(/https?:\/\/[^/'"\s]+/g, '');
const nameOf = (path: string) => /^\/(?:secrets|deletedsecrets)\/([^/?]+)/.exec(path)?.[1];

function attributesKeys(body: Json | undefined): string[] {
  return body?.attributes ? Object.keys(body.attributes) : [];
}

const describeAnswer = (status: number, body: Json | null | undefined) =>
  `${status}${body?.error ? ` ${body.error.code}${body.error.innererror ? `/${body.error.innererror.code}` : ''}` : ''}`;

/** The answer the same request got next time, if the recording repeated it (polling) and it changed. */
function laterAnswer(entries: Entry[], index: number): Entry | undefined {
  const entry = entries[index]!;
  for (let j = index + 1; j < entries.length; j++) {
    const later = entries[j]!;
    if (later.RequestMethod !== entry.RequestMethod || later.RequestUri !== entry.RequestUri) return undefined;
    if (later.StatusCode !== entry.StatusCode) return later;
  }
  return undefined;
}

/** A difference a replay allows, with why. */
export interface Difference {
  where: string;
  recorded: string;
  emulator: string;
  reason: string;
}

export interface ReplayStats {
  compared: number;
  skippedPreexisting: number;
  skippedSanitized: number;
  /** Realistic mode: requests made within NEAR_CHANGE_MS of a change of the same name, and how many matched. */
  nearChange: number;
  nearChangeMatched: number;
  /** Allowed differences (immediate: eventual consistency; realistic: near-change mismatches). */
  differences: Difference[];
}

export interface ReplayOptions {
  emu: TestEmulator;
  token: string;
  /** Realistic mode: the emulator runs the realism preset with its clock frozen; the replay moves it. */
  realistic: boolean;
}

export async function replay(file: string, index: number, options: ReplayOptions): Promise<ReplayStats> {
  const { emu, token, realistic } = options;
  const entries = (JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as { Entries: Entry[] }).Entries;
  const stats: ReplayStats = { compared: 0, skippedPreexisting: 0, skippedSanitized: 0, nearChange: 0, nearChangeMatched: 0, differences: [] };
  const firstAttributes = entries.map((e) => (e.ResponseBody as Json | null)?.attributes).find((a) => a?.recoverableDays);
  const vault = `replay${index}`;
  emu.vaults.create(vault, { retentionDays: firstAttributes?.recoverableDays ?? 90 });
  const host = `${vault}.vault.azure.net`;
  const versions = new Map<string, string>();
  const blobs = new Map<string, string>();
  const known = new Set<string>();
  /** Deleted by this replay (immediate mode: the real service answered 404 on GET /deletedsecrets for a while after). */
  const justDeleted = new Set<string>();
  /** Realistic mode: the recorded time of the last successful delete, recover or purge of each name. */
  const lastChange = new Map<string, number>();
  // The clock starts where the previous file left it, a minute on: no window of one file reaches the next.
  const clockStart = emu.clock.now() + 60_000;
  const dateStart = Date.parse(entries[0]!.ResponseHeaders.Date!);
  let dateSeen = dateStart;

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
    const where = `${file} #${i} ${entry.RequestMethod} ${pathOf(entry.RequestUri).replace(/\?.*$/, '')}`;
    const recorded = entry.ResponseBody as Json | null;
    const date = Date.parse(entry.ResponseHeaders.Date!);
    // Date headers come from several front ends and can step back a second: time only moves forward.
    dateSeen = Math.max(dateSeen, date);
    if (realistic) emu.clock.set(clockStart + (dateSeen - dateStart));

    const path = mapVersions(pathOf(entry.RequestUri));
    if (path.includes('$skiptoken=Sanitized')) {
      // The recording's continuation tokens were sanitized; the emulator's own paging is tested elsewhere.
      stats.skippedSanitized += 1;
      continue;
    }
    const isRestore = entry.RequestMethod === 'POST' && path.startsWith('/secrets/restore');
    const name = isRestore ? restoredName(recorded) : nameOf(path);
    const key = name?.toLowerCase();
    const createsName = entry.RequestMethod === 'PUT' || isRestore;
    const listsVersions = /\/versions(\?|$)/.test(path);
    if (key && !isRestore && !known.has(key) && !createsName && !listsVersions && entry.StatusCode !== 404 && entry.StatusCode !== 401) {
      // Only an object that existed in the recorded vault answers anything but 404 for a name the replay never created.
      stats.skippedPreexisting += 1;
      continue;
    }
    const later = realistic ? undefined : entry.StatusCode >= 400 && entry.StatusCode !== 401 ? laterAnswer(entries, i) : undefined;
    if (later && key && !known.has(key)) {
      // What the service answered once its change had propagated is about an object the replay never created.
      stats.skippedPreexisting += 1;
      continue;
    }
    if (later && entry.RequestMethod !== 'GET') {
      // Sending it would make the change now that the service refused (a restore right after a purge);
      // the identical request that succeeded later is replayed instead.
      stats.differences.push({
        where,
        recorded: describeAnswer(entry.StatusCode, recorded),
        emulator: 'not sent',
        reason: `the identical request answered ${later.StatusCode} later: the change before it had not propagated yet`,
      });
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
    stats.compared += 1;

    const changedAt = key ? lastChange.get(key) : undefined;
    const nearChange = realistic && changedAt !== undefined && date - changedAt <= NEAR_CHANGE_MS;
    if (key && entry.StatusCode < 300) {
      const change = changeOf(entry.RequestMethod, path);
      if (change) lastChange.set(key, date);
      if (entry.RequestMethod === 'DELETE' && path.startsWith('/secrets/')) justDeleted.add(key);
      else justDeleted.delete(key);
    }

    if (later) {
      // Immediate mode, a read the service answered before its change had propagated: the emulator
      // answers what the service answered once it had.
      expect(res.statusCode, `${where} (answer once propagated)`).toBe(later.StatusCode);
      stats.differences.push({
        where,
        recorded: describeAnswer(entry.StatusCode, recorded),
        emulator: describeAnswer(res.statusCode, ours),
        reason: 'the identical request answered so later: the change before it had not propagated yet',
      });
      continue;
    }
    if (!realistic && key && entry.RequestMethod === 'GET' && path.startsWith('/deletedsecrets/') && entry.StatusCode === 404 && justDeleted.has(key)) {
      expect(res.statusCode, `${where} (deleted secret visible at once)`).toBe(200);
      stats.differences.push({
        where,
        recorded: describeAnswer(entry.StatusCode, recorded),
        emulator: describeAnswer(res.statusCode, ours),
        reason: 'asked right after this replay deleted it, before the delete had propagated (the recording ends before it had)',
      });
      continue;
    }
    if (nearChange) {
      stats.nearChange += 1;
      if (res.statusCode !== entry.StatusCode) {
        stats.differences.push({
          where,
          recorded: describeAnswer(entry.StatusCode, recorded),
          emulator: describeAnswer(res.statusCode, ours),
          reason: `${((date - changedAt!) / 1000).toFixed(0)} s after the last change of the name, by the recorded Date headers`,
        });
        continue;
      }
      stats.nearChangeMatched += 1;
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
    if (createsName && key) known.add(key);

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

/** The change a successful request makes that propagates (realism's windows), if any. */
function changeOf(method: string, path: string): 'deleted' | 'recovered' | 'purged' | undefined {
  if (method === 'DELETE' && path.startsWith('/secrets/')) return 'deleted';
  if (method === 'DELETE' && path.startsWith('/deletedsecrets/')) return 'purged';
  if (method === 'POST' && /^\/deletedsecrets\/[^/]+\/recover/.test(path)) return 'recovered';
  return undefined;
}

/** The secret a restore names: the blob says, and the recorded answer repeats it (its id, or the conflict message's). */
function restoredName(recorded: Json | null): string | undefined {
  const id: unknown = recorded?.id ?? /'(https?:\/\/[^']+)'/.exec(String(recorded?.error?.message ?? ''))?.[1];
  return typeof id === 'string' ? nameOf(pathOf(id)) : undefined;
}

export function totalsOf(all: ReplayStats[]): ReplayStats {
  return all.reduce(
    (sum, s) => ({
      compared: sum.compared + s.compared,
      skippedPreexisting: sum.skippedPreexisting + s.skippedPreexisting,
      skippedSanitized: sum.skippedSanitized + s.skippedSanitized,
      nearChange: sum.nearChange + s.nearChange,
      nearChangeMatched: sum.nearChangeMatched + s.nearChangeMatched,
      differences: [...sum.differences, ...s.differences],
    }),
    { compared: 0, skippedPreexisting: 0, skippedSanitized: 0, nearChange: 0, nearChangeMatched: 0, differences: [] },
  );
}

export function listDifferences(differences: Difference[]): string {
  return differences.map((d) => `  ${d.where}: recorded ${d.recorded}, emulator ${d.emulator}: ${d.reason}`).join('\n');
}
