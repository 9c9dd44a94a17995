// Pages of lists as the wire sends them ({value, nextLink}), and the serialized answers of the lists that
// depend on the store alone (active secrets, a secret's versions), kept until anything they were built
// from may have changed.
//
// Reading a page from SQLite is one indexed range; presenting its 25 items and serializing them cost about
// as much again. Clients ask for the same pages again and again, unchanged in between (a configuration
// provider lists at every refresh, a dashboard polls), and a client that pages follows nextLink. So an
// answer is kept, and once a page is answered the next one is prepared (setImmediate: after the I/O that
// is already waiting) and kept too: paging through 100,000 secrets finds each page ready, as paging through
// 100 does.
//
// An answer is kept with the store's change count (SecretService.changes: every write, every rollback,
// another process's commit); everything else it was built from is in its key: the origin the client called
// (ids, nextLink), the vault and its retention settings (recoveryLevel, recoverableDays), the api-version,
// the path, and maxresults and $skiptoken as sent. Only answers are kept, never errors: a request whose
// key is not kept is parsed and checked in full. Lists of deleted secrets depend on the clock as well
// (purge dates), so they are built every time (pageBody). Memory is bounded by a count and a size.
import { errors } from '../errors.js';
import type { Vault } from '../vault/model.js';
import type { PageRequest } from '../vault/secrets.js';
import { nextLink, parseSkipToken, skipToken } from './ids.js';
import { parseMaxResults } from './wire.js';

type Query = Record<string, unknown>;

/** Where a list is read: what its answer's ids and nextLink are built from. */
export interface ListAt {
  origin: string;
  vault: Vault;
  apiVersion: string;
  /** The list's path as requested, e.g. `/secrets` or `/secrets/{name}/versions`. */
  path: string;
}

/** Reads one page and presents its items. */
export type ReadPage = (page: PageRequest) => { items: unknown[]; continueAfter?: string };

export interface PageAnswerLimits {
  answers: number;
  /** Characters of answers kept, in all. */
  chars: number;
}

const DEFAULT_LIMITS: PageAnswerLimits = { answers: 256, chars: 4 * 1024 * 1024 };

/** maxresults and $skiptoken of a list request, checked. */
export function pageRequest(query: Query): { maxResults: number | undefined; after: string | undefined } {
  const maxResults = parseMaxResults(query.maxresults);
  const token = query.$skiptoken;
  let after: string | undefined;
  if (token !== undefined && token !== '') {
    after = parseSkipToken(String(token));
    if (after === undefined) throw errors.badParameter('The $skiptoken parameter is invalid.');
  }
  return { maxResults, after };
}

/** A page's answer body, read now. */
export function pageBody(at: ListAt, query: Query, read: ReadPage): string {
  const { maxResults, after } = pageRequest(query);
  return bodyOf(at, maxResults, read({ maxResults, after }));
}

function bodyOf(at: ListAt, maxResults: number | undefined, page: ReturnType<ReadPage>): string {
  const link = page.continueAfter === undefined ? null : nextLink(at.origin, at.path, at.apiVersion, page.continueAfter, maxResults);
  return JSON.stringify({ value: page.items, nextLink: link });
}

interface Kept {
  body: string;
  /** The page that follows, as its nextLink asks for it. */
  next?: { key: string; maxResults: number | undefined; after: string };
}

export class PageAnswers {
  private readonly kept = new Map<string, Kept>();
  private chars = 0;
  private seenChanges: number;
  /** Next pages whose preparation is scheduled. */
  private readonly preparing = new Set<string>();

  constructor(
    /** The store's change count (SecretService.changes). */
    private readonly changes: () => number,
    private readonly limits: PageAnswerLimits = DEFAULT_LIMITS,
  ) {
    this.seenChanges = changes();
  }

  /** The page's answer body: kept, or read now and kept. */
  answer(at: ListAt, query: Query, read: ReadPage): string {
    const key = keyOf(at, query.maxresults, query.$skiptoken);
    let answer = this.find(key);
    if (answer === undefined) {
      const { maxResults, after } = pageRequest(query);
      answer = this.build(at, maxResults, after, read);
      this.keep(key, answer);
    }
    this.prepareNext(at, answer, read);
    return answer.body;
  }

  private build(at: ListAt, maxResults: number | undefined, after: string | undefined, read: ReadPage): Kept {
    const page = read({ maxResults, after });
    const body = bodyOf(at, maxResults, page);
    const continueAfter = page.continueAfter;
    if (continueAfter === undefined) return { body };
    const nextMax = maxResults === undefined ? undefined : String(maxResults);
    return { body, next: { key: keyOf(at, nextMax, skipToken(continueAfter)), maxResults, after: continueAfter } };
  }

  /** Prepares the page after `answer` once the I/O already waiting is served, unless it is kept or on its way. */
  private prepareNext(at: ListAt, answer: Kept, read: ReadPage): void {
    const next = answer.next;
    // `find` has just brought the kept answers up to date with the store.
    if (next === undefined || this.kept.has(next.key) || this.preparing.has(next.key)) return;
    this.preparing.add(next.key);
    setImmediate(() => {
      this.preparing.delete(next.key);
      try {
        if (this.find(next.key) !== undefined) return;
        this.keep(next.key, this.build(at, next.maxResults, next.after, read));
      } catch {
        // Nothing to prepare (or the store closed meanwhile): the client is told why when it asks for the page.
      }
    });
  }

  private find(key: string): Kept | undefined {
    const changes = this.changes();
    if (changes !== this.seenChanges) {
      this.seenChanges = changes;
      this.forget();
      return undefined;
    }
    return this.kept.get(key);
  }

  private keep(key: string, answer: Kept): void {
    const size = answer.body.length;
    if (size > this.limits.chars) return;
    const replaced = this.kept.get(key);
    if (replaced !== undefined) this.chars -= replaced.body.length;
    if (this.kept.size >= this.limits.answers || this.chars + size > this.limits.chars) this.forget();
    this.kept.set(key, answer);
    this.chars += size;
  }

  private forget(): void {
    this.kept.clear();
    this.chars = 0;
  }
}

/** Everything an answer is built from, besides the store. maxresults and $skiptoken as sent. */
function keyOf(at: ListAt, maxResults: unknown, skipToken: unknown): string {
  const { origin, vault, apiVersion, path } = at;
  return JSON.stringify([origin, vault.name, vault.retentionDays, vault.purgeProtection, apiVersion, path, maxResults ?? null, skipToken ?? null]);
}
