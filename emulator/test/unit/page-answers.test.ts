// Answers of list pages kept in memory (http/page-answers.ts), on their own: a list of 60 names read 25 at
// a time, a change count the test moves, and a count of reads. What is checked: an answer is read once and
// then served as kept, until the change count moves; each part of its key is its own answer; the next page
// is prepared once, after the current turn, and a failure to prepare it is not kept; errors are never
// kept; and memory stays under both limits.
import { beforeEach, describe, expect, it } from 'vitest';
import { PageAnswers, type ListAt, type PageAnswerLimits, type ReadPage } from '../../src/http/page-answers.js';
import { parseSkipToken } from '../../src/http/ids.js';
import { DEFAULT_VAULT_SETTINGS, type Vault } from '../../src/vault/model.js';
import { checkMaxResults } from '../../src/vault/validation.js';

const vault: Vault = { name: 'pages', createdAt: 0, ...DEFAULT_VAULT_SETTINGS };
const at: ListAt = { origin: 'https://pages.vault.azure.net', vault, apiVersion: '7.6', path: '/secrets' };
const names = Array.from({ length: 60 }, (_, i) => `name-${String(i).padStart(2, '0')}`);

let changes: number;
let reads: Array<string | undefined>;
let failing: boolean;
const read: ReadPage = (page) => {
  reads.push(page.after);
  if (failing) throw new Error('the store failed');
  const limit = checkMaxResults(page.maxResults);
  const from = page.after === undefined ? 0 : names.indexOf(page.after) + 1;
  const items = names.slice(from, from + limit).map((name) => ({ name, seen: changes }));
  return from + limit < names.length ? { items, continueAfter: items.at(-1)!.name } : { items };
};

const answers = (limits?: PageAnswerLimits) => new PageAnswers(() => changes, limits);
const parse = (body: string) => JSON.parse(body) as { value: Array<{ name: string; seen: number }>; nextLink: string | null };
/** The query a client sends for a nextLink. */
const queryOf = (link: string) => Object.fromEntries(new URL(link).searchParams);
const turn = () => new Promise((resolve) => setImmediate(resolve));

beforeEach(() => {
  changes = 0;
  reads = [];
  failing = false;
});

describe('answers of list pages', () => {
  it('reads a page once and serves it as kept until the store changes', async () => {
    const pages = answers();
    const first = pages.answer(at, { maxresults: '25' }, read);
    expect(pages.answer(at, { maxresults: '25' }, read)).toBe(first);
    expect(reads.filter((after) => after === undefined)).toHaveLength(1);
    expect(parse(first).value.map((item) => item.name)).toEqual(names.slice(0, 25));

    changes += 1;
    const again = parse(pages.answer(at, { maxresults: '25' }, read));
    expect(again.value[0]).toEqual({ name: 'name-00', seen: 1 });
    expect(reads.filter((after) => after === undefined)).toHaveLength(2);
    await turn();
  });

  it('keeps a separate answer for each origin, vault setting, api-version, path, maxresults and token', async () => {
    const pages = answers();
    const variants: Array<[ListAt, Record<string, unknown>]> = [
      [at, {}],
      [at, { maxresults: '10' }],
      [at, { maxresults: '010' }],
      [{ ...at, origin: 'https://other.vault.azure.net' }, {}],
      [{ ...at, vault: { ...vault, name: 'other' } }, {}],
      [{ ...at, vault: { ...vault, retentionDays: 7 } }, {}],
      [{ ...at, vault: { ...vault, purgeProtection: true } }, {}],
      [{ ...at, apiVersion: '2025-07-01' }, {}],
      [{ ...at, path: '/secrets/name-00/versions' }, {}],
    ];
    for (const [where, query] of variants) pages.answer(where, query, read);
    expect(reads).toHaveLength(variants.length);
    for (const [where, query] of variants) pages.answer(where, query, read);
    expect(reads).toHaveLength(variants.length);
    // The nextLink is built from where the page was read.
    const other = parse(pages.answer({ ...at, origin: 'https://other.vault.azure.net', apiVersion: '2025-07-01' }, {}, read));
    expect(other.nextLink).toMatch(/^https:\/\/other\.vault\.azure\.net\/secrets\?api-version=2025-07-01&\$skiptoken=/);
    await turn();
  });

  it('prepares the page a nextLink asks for once, after the current turn, and serves it as kept', async () => {
    const pages = answers();
    const first = parse(pages.answer(at, { maxresults: '25' }, read));
    expect(reads).toEqual([undefined]);
    await turn();
    expect(reads).toEqual([undefined, 'name-24']);

    const second = pages.answer(at, queryOf(first.nextLink!), read);
    expect(parse(second).value.map((item) => item.name)).toEqual(names.slice(25, 50));
    expect(parse(second).nextLink).toContain('maxresults=25');
    // Answering the second page prepares the third, and asking again for the first prepares nothing.
    pages.answer(at, { maxresults: '25' }, read);
    await turn();
    expect(reads).toEqual([undefined, 'name-24', 'name-49']);
    const third = parse(pages.answer(at, queryOf(parse(second).nextLink!), read));
    expect(third.value.map((item) => item.name)).toEqual(names.slice(50));
    expect(third.nextLink).toBeNull();
    await turn();
    expect(reads).toHaveLength(3);
    expect(parseSkipToken(queryOf(first.nextLink!).$skiptoken!)).toBe('name-24');
  });

  it('prepares a next page read after the store changed, and keeps no failure to prepare one', async () => {
    const pages = answers();
    const first = parse(pages.answer(at, {}, read));
    changes += 1;
    await turn();
    // Prepared under the new count: served without another read.
    expect(parse(pages.answer(at, queryOf(first.nextLink!), read)).value[0]).toEqual({ name: 'name-25', seen: 1 });
    expect(reads).toEqual([undefined, 'name-24']);
    await turn();

    changes += 1;
    pages.answer(at, {}, read);
    failing = true;
    await turn();
    expect(reads).toEqual([undefined, 'name-24', 'name-49', undefined, 'name-24']);
    expect(() => pages.answer(at, queryOf(first.nextLink!), read)).toThrow('the store failed');
    failing = false;
    expect(parse(pages.answer(at, queryOf(first.nextLink!), read)).value[0]).toEqual({ name: 'name-25', seen: 2 });
    await turn();
  });

  it('keeps no errors: a bad query is checked every time', () => {
    const pages = answers();
    for (let i = 0; i < 2; i++) {
      expect(() => pages.answer(at, { maxresults: 'ten' }, read)).toThrow(/maxresults/);
      expect(() => pages.answer(at, { maxresults: '26' }, read)).toThrow(/maxresults/);
      expect(() => pages.answer(at, { $skiptoken: 'bm90IG91cnM=' }, read)).toThrow(/skiptoken/);
    }
    // maxresults=26 reached the read (which refused it) both times; the others were refused before.
    expect(reads).toEqual([undefined, undefined]);
  });

  it('forgets everything kept when a count or a size limit would be passed', async () => {
    const byCount = answers({ answers: 3, chars: 1_000_000 });
    for (const max of ['1', '2', '3']) byCount.answer(at, { maxresults: max }, read);
    await turn();
    // Three first pages and their three next pages were read; the limit of three forgot the oldest.
    expect(reads).toHaveLength(6);
    byCount.answer(at, { maxresults: '1' }, read);
    expect(reads).toHaveLength(7);

    reads = [];
    const size = byCount.answer(at, { maxresults: '25' }, read).length;
    const bySize = answers({ answers: 100, chars: size + 10 });
    bySize.answer(at, { maxresults: '25' }, read);
    bySize.answer(at, { maxresults: '25' }, read);
    expect(reads).toHaveLength(2);
    // Too big to keep: read every time.
    const tiny = answers({ answers: 100, chars: size - 1 });
    tiny.answer(at, { maxresults: '25' }, read);
    tiny.answer(at, { maxresults: '25' }, read);
    expect(reads).toHaveLength(4);
    await turn();
  });
});

describe('the page prepared after the turn', () => {
  it('is given up quietly when the store closed meanwhile (no uncaught error after the app closes)', async () => {
    let closed = false;
    const pages = new PageAnswers(() => {
      if (closed) throw new TypeError('The database connection is not open');
      return changes;
    });
    pages.answer(at, { maxresults: '25' }, read);
    closed = true;
    await turn();
    expect(reads).toEqual([undefined]);
  });
});
