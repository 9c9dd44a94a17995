// Lists answered from kept pages (http/page-answers.ts) say what the store says: after each way the data
// behind a list can change through the emulator (sets, updates of the latest and of an older version,
// deletes, recovers, purges, restores, vault settings, import, reset), the next list, followed page by
// page through nextLink, shows the change. Pages are two secrets long so that following nextLink meets
// prepared pages. That pages are kept at all is shown by changing SQLite behind the emulator's back: a
// kept page, and a prepared next page, still say what they said. Lists of deleted secrets depend on the
// clock and are read every time. Last, a property: random sequences of writes and lists, each list checked
// against a model of the vault kept by the test.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
let auth: Record<string, string>;
const V = 'api-version=7.6';

beforeAll(async () => {
  emu = await testEmulator();
  auth = { authorization: `Bearer ${await emu.token()}` };
});
afterAll(() => emu.app.close());

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function call(method: string, url: string, payload?: object, headers: Record<string, string> = {}) {
  const res = await emu.app.inject({ method: method as 'GET', url, headers: { ...auth, ...headers }, ...(payload !== undefined && { payload }) });
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
  return res;
}

type Item = { id: string; contentType?: string; tags?: Record<string, string>; attributes: { enabled: boolean; recoveryLevel: string; recoverableDays: number } };

/** Every item of a list, following nextLink, with a turn between pages (a client waits for each answer). */
async function listAll(path: string, headers: Record<string, string> = {}): Promise<Item[]> {
  const items: Item[] = [];
  let url: string | null = `${path}?${V}&maxresults=2`;
  while (url) {
    const page = (await call('GET', url, undefined, headers)).json() as { value: Item[]; nextLink: string | null };
    items.push(...page.value);
    url = page.nextLink && new URL(page.nextLink).pathname + new URL(page.nextLink).search;
    await turn();
  }
  return items;
}

const summary = (item: Item) =>
  [
    item.id.replace(/^https?:\/\/[^/]+/, ''),
    item.contentType ?? '-',
    JSON.stringify(item.tags ?? {}),
    item.attributes.enabled,
    item.attributes.recoveryLevel,
    item.attributes.recoverableDays,
  ].join(' ');
const secrets = async () => (await listAll('/secrets')).map(summary);
const versions = async (name: string) => (await listAll(`/secrets/${name}/versions`)).map(summary).sort();
const deleted = async () => (await listAll('/deletedsecrets')).map((item) => item.id.replace(/^https?:\/\/[^/]+/, ''));

const item = (name: string, contentType = '-', tags = '{}', days = 90, level = 'Recoverable+Purgeable') => `/secrets/${name} ${contentType} ${tags} true ${level} ${days}`;

describe('lists answered from kept pages', () => {
  it('show every change made through the emulator', async () => {
    for (const name of ['alpha', 'beta', 'gamma']) await call('PUT', `/secrets/${name}?${V}`, { value: 'v' });
    expect(await secrets()).toEqual([item('alpha'), item('beta'), item('gamma')]);
    // Twice: the second time every page is kept.
    expect(await secrets()).toEqual([item('alpha'), item('beta'), item('gamma')]);

    const firstBeta = (await call('GET', `/secrets/beta?${V}`)).json().id as string;
    await call('PUT', `/secrets/beta?${V}`, { value: 'v2', contentType: 'text/plain' });
    expect(await secrets()).toEqual([item('alpha'), item('beta', 'text/plain'), item('gamma')]);
    expect((await versions('beta')).map((v) => v.split(' ')[1]).sort()).toEqual(['-', 'text/plain']);

    await call('PATCH', `/secrets/alpha?${V}`, { tags: { team: 'a' } });
    expect(await secrets()).toEqual([item('alpha', '-', '{"team":"a"}'), item('beta', 'text/plain'), item('gamma')]);

    // An older version changes the versions list, not the secret's item.
    await call('PATCH', `${new URL(firstBeta).pathname}?${V}`, { attributes: { enabled: false } });
    expect(await secrets()).toEqual([item('alpha', '-', '{"team":"a"}'), item('beta', 'text/plain'), item('gamma')]);
    expect((await listAll('/secrets/beta/versions')).map((v) => v.attributes.enabled).sort()).toEqual([false, true]);

    await call('DELETE', `/secrets/gamma?${V}`);
    expect(await secrets()).toEqual([item('alpha', '-', '{"team":"a"}'), item('beta', 'text/plain')]);
    expect(await deleted()).toEqual(['/secrets/gamma']);
    await call('POST', `/deletedsecrets/gamma/recover?${V}`);
    expect((await secrets()).at(-1)).toBe(item('gamma'));
    await call('DELETE', `/secrets/gamma?${V}`);
    await call('DELETE', `/deletedsecrets/gamma?${V}`);
    expect(await secrets()).toEqual([item('alpha', '-', '{"team":"a"}'), item('beta', 'text/plain')]);

    const backup = (await call('POST', `/secrets/alpha/backup?${V}`)).json();
    await call('DELETE', `/secrets/alpha?${V}`);
    await call('DELETE', `/deletedsecrets/alpha?${V}`);
    expect(await secrets()).toEqual([item('beta', 'text/plain')]);
    await call('POST', `/secrets/restore?${V}`, backup);
    expect(await secrets()).toEqual([item('alpha', '-', '{"team":"a"}'), item('beta', 'text/plain')]);

    await call('PATCH', `/_emulator/vaults/${emu.config.defaultVault}`, { softDeleteRetentionInDays: 7 });
    const customized = 'CustomizedRecoverable+Purgeable';
    expect(await secrets()).toEqual([item('alpha', '-', '{"team":"a"}', 7, customized), item('beta', 'text/plain', '{}', 7, customized)]);
    expect((await versions('alpha')).every((v) => v.endsWith(`${customized} 7`))).toBe(true);

    const state = (await call('GET', '/_emulator/export')).json();
    await call('POST', '/_emulator/reset');
    expect(await secrets()).toEqual([]);
    await call('POST', '/_emulator/import', state);
    expect(await secrets()).toEqual([item('alpha', '-', '{"team":"a"}', 7, customized), item('beta', 'text/plain', '{}', 7, customized)]);

    // Ids and nextLinks are the origin the client called.
    const elsewhere = await listAll('/secrets', { host: 'localhost:9443' });
    expect(elsewhere.map((i) => i.id)).toEqual(['http://localhost:9443/secrets/alpha', 'http://localhost:9443/secrets/beta']);
  });

  it('serve a kept page, and a prepared next page, as they were read', async () => {
    await call('POST', '/_emulator/reset');
    for (const name of ['kept-1', 'kept-2', 'kept-3']) await call('PUT', `/secrets/${name}?${V}`, { value: 'v' });
    const first = (await call('GET', `/secrets?${V}&maxresults=2`)).body;
    await turn();
    // Behind the emulator's back (the same connection, so no change the store would notice).
    emu.db.exec("UPDATE versions SET content_type = 'changed-behind'");
    expect((await call('GET', `/secrets?${V}&maxresults=2`)).body).toBe(first);
    const next = new URL(JSON.parse(first).nextLink as string);
    expect((await call('GET', next.pathname + next.search)).json().value.map((i: Item) => i.contentType ?? '-')).toEqual(['-']);

    // Any write through the emulator, and every list reads again.
    await call('PUT', `/secrets/kept-4?${V}`, { value: 'v' });
    expect((await secrets()).map((s) => s.split(' ')[1])).toEqual(['changed-behind', 'changed-behind', 'changed-behind', '-']);
  });

  it('read deleted secrets every time: they leave the list at their purge date, with no write', async () => {
    await call('POST', '/_emulator/reset');
    await call('PUT', `/secrets/short-lived?${V}`, { value: 'v' });
    await call('DELETE', `/secrets/short-lived?${V}`);
    expect(await deleted()).toEqual(['/secrets/short-lived']);
    emu.clock.advance(91 * 86_400_000);
    expect(await deleted()).toEqual([]);
  });
});

type Op =
  | { kind: 'set'; name: string; contentType: string | undefined }
  | { kind: 'tag'; name: string; tag: string }
  | { kind: 'delete' | 'recover' | 'purge' | 'versions'; name: string }
  | { kind: 'retention'; days: number }
  | { kind: 'list'; maxResults: number; turns: boolean };

const NAMES = ['a', 'B', 'c', 'd', 'E', 'f'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('set' as const), name: fc.constantFrom(...NAMES), contentType: fc.option(fc.constantFrom('text/plain', 'x'), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tag' as const), name: fc.constantFrom(...NAMES), tag: fc.constantFrom('1', '2') }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom('delete' as const, 'recover' as const, 'purge' as const, 'versions' as const), name: fc.constantFrom(...NAMES) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('retention' as const), days: fc.constantFrom(7, 30, 90) }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('list' as const), maxResults: fc.integer({ min: 1, max: 4 }), turns: fc.boolean() }) },
);

interface Modelled {
  contentType?: string;
  tags?: Record<string, string>;
  versions: string[];
  deleted: boolean;
}

/** Every item of a list, following nextLink, with or without a turn between pages. */
async function walk(path: string, maxResults: number, turns: boolean): Promise<Item[]> {
  const items: Item[] = [];
  let url: string | null = `${path}?${V}&maxresults=${maxResults}`;
  while (url) {
    const page = (await call('GET', url)).json() as { value: Item[]; nextLink: string | null };
    items.push(...page.value);
    url = page.nextLink && new URL(page.nextLink).pathname + new URL(page.nextLink).search;
    if (turns) await turn();
  }
  return items;
}

describe('lists answered from kept pages, against a model', () => {
  it('list what the model holds after any sequence of writes and lists', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 25 }), async (ops) => {
        await call('POST', '/_emulator/reset');
        const model = new Map<string, Modelled>();
        let days = 90;
        for (const op of ops) {
          if (op.kind === 'retention') {
            await call('PATCH', `/_emulator/vaults/${emu.config.defaultVault}`, { softDeleteRetentionInDays: op.days });
            days = op.days;
            continue;
          }
          if (op.kind === 'list') {
            const expected = [...model.entries()]
              .filter(([, m]) => !m.deleted)
              .sort(([x], [y]) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1))
              .map(([name, m]) => item(name, m.contentType, JSON.stringify(m.tags ?? {}), days, days < 90 ? 'CustomizedRecoverable+Purgeable' : 'Recoverable+Purgeable'));
            expect((await walk('/secrets', op.maxResults, op.turns)).map(summary)).toEqual(expected);
            continue;
          }
          const m = model.get(op.name);
          const live = m !== undefined && !m.deleted;
          if (op.kind === 'set') {
            if (m?.deleted) continue;
            const put = await call('PUT', `/secrets/${op.name}?${V}`, { value: 'v', ...(op.contentType && { contentType: op.contentType }) });
            const entry: Modelled = { versions: [...(m?.versions ?? []), put.json().id as string], deleted: false };
            if (op.contentType !== undefined) entry.contentType = op.contentType;
            model.set(op.name, entry);
          } else if (op.kind === 'tag' && live) {
            await call('PATCH', `/secrets/${op.name}?${V}`, { tags: { t: op.tag } });
            m.tags = { t: op.tag };
          } else if (op.kind === 'delete' && live) {
            await call('DELETE', `/secrets/${op.name}?${V}`);
            m.deleted = true;
          } else if (op.kind === 'recover' && m?.deleted) {
            await call('POST', `/deletedsecrets/${op.name}/recover?${V}`);
            m.deleted = false;
          } else if (op.kind === 'purge' && m?.deleted) {
            await call('DELETE', `/deletedsecrets/${op.name}?${V}`);
            model.delete(op.name);
          } else if (op.kind === 'versions') {
            const listed = (await walk(`/secrets/${op.name}/versions`, 2, true)).map((v) => v.id.replace(/^https?:\/\/[^/]+/, '')).sort();
            expect(listed).toEqual(live ? m.versions.map((id) => new URL(id).pathname).sort() : []);
          }
        }
      }),
      { numRuns: 40 },
    );
  });
});

