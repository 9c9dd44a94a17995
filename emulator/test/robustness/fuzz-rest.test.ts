// Property-based fuzzing of the REST surface with fast-check, against the emulator running as its own
// process over HTTPS: random methods, paths, names, versions, query strings, api-versions, headers,
// tokens and bodies. Every answer must be a well-formed Key Vault error (or, on the token endpoints, an
// OAuth error) or a valid success, never a 5xx, never a hang, and the process must stay up without
// logging an unexpected error. Set FUZZ_RUNS and FUZZ_SEED to replay or to search longer.
import fc from 'fast-check';
import { Agent } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid, type Definition } from '../support/openapi.js';
import { bearerToken, call, envelopeProblem, startChild, type Answer, type ChildEmulator } from './support.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 400);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

let emulator: ChildEmulator;
let token: string;
let agent: Agent;
beforeAll(async () => {
  emulator = await startChild();
  token = await bearerToken(emulator);
  agent = new Agent({ keepAlive: true, maxSockets: 4, ca: emulator.ca });
}, 30_000);
afterAll(async () => {
  agent?.destroy();
  await emulator?.stop();
});

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

// ---- generators -------------------------------------------------------------------------------------

const validName = fc.stringMatching(/^[0-9a-zA-Z-]{1,127}$/);
const oddName = fc.oneof(
  fc.constantFrom('..', '.', '%00', '%', '%zz', '%2F', 'a%2Fb', '-', '--', 'versions', 'restore', 'backup', 'recover', 'x'.repeat(300), 'ünïcødé', '%E2%82%AC', '\u00e9t\u00e9'),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
);
const name = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('fuzz-a', 'fuzz-b', 'Fuzz-A', 'fuzz-c') }, { weight: 2, arbitrary: validName }, { weight: 2, arbitrary: oddName });
const version = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{32}$/),
  fc.stringMatching(/^[0-9A-F]{32}$/),
  fc.constantFrom('', 'latest', '0', 'versions', '%20'),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
);
const pathShape = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(name).map(([n]) => `/secrets/${n}`) },
  { weight: 3, arbitrary: fc.tuple(name, version).map(([n, v]) => `/secrets/${n}/${v}`) },
  { weight: 2, arbitrary: fc.tuple(name).map(([n]) => `/secrets/${n}/versions`) },
  { weight: 2, arbitrary: fc.tuple(name).map(([n]) => `/secrets/${n}/backup`) },
  { weight: 2, arbitrary: fc.constant('/secrets/restore') },
  { weight: 3, arbitrary: fc.constantFrom('/secrets', '/secrets/', '/deletedsecrets', '//secrets', '/SECRETS', '/') },
  { weight: 2, arbitrary: fc.tuple(name).map(([n]) => `/deletedsecrets/${n}`) },
  { weight: 2, arbitrary: fc.tuple(name).map(([n]) => `/deletedsecrets/${n}/recover`) },
  { weight: 1, arbitrary: fc.constantFrom('/_emulator/health', '/_emulator/info', '/_emulator/clock', '/_emulator/vaults', '/_emulator/vaults/default', '/_emulator/export', '/msi/token', '/metadata/identity/oauth2/token') },
  { weight: 2, arbitrary: fc.array(fc.oneof(name, fc.constantFrom('secrets', 'deletedsecrets', 'keys', 'certificates', '_emulator')), { maxLength: 5 }).map((segments) => `/${segments.join('/')}`) },
);
const apiVersion = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('7.6', '7.5', '7.4', '7.0', '2025-07-01', '2026-04-01', '7.6-preview.1') },
  { weight: 2, arbitrary: fc.constantFrom('', '7.7', '6.0', '2016-10-01', '2099-12-31', '2025-13-01', 'latest', '7.6,7.5') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);
const queryExtras = fc.record(
  {
    maxresults: fc.oneof(fc.integer({ min: -5, max: 40 }).map(String), fc.string({ maxLength: 6 }), fc.constant('1e3')),
    $skiptoken: fc.oneof(fc.base64String({ maxLength: 60 }), fc.string({ maxLength: 30 }), fc.json().map((j) => Buffer.from(j).toString('base64'))),
    outContentType: fc.constantFrom('application/x-pem-file', 'application/x-pkcs12', 'text/plain', ''),
    extra: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: [] },
);
const query = fc.tuple(fc.option(apiVersion, { nil: undefined }), queryExtras, fc.boolean()).map(([v, extras, twice]) => {
  const params = new URLSearchParams();
  if (v !== undefined) params.append('api-version', v);
  if (twice && v !== undefined) params.append('api-version', '7.6');
  for (const [key, value] of Object.entries(extras)) params.append(key, value);
  const text = params.toString();
  return text ? `?${text}` : '';
});

const anyJson = fc.jsonValue({ maxDepth: 4 });
const loose = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
const attributes = fc.record(
  {
    enabled: fc.oneof(fc.boolean(), loose),
    nbf: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), fc.constantFrom(-1, 0, 1e300, -1e300, 253402300800, 2 ** 53), loose),
    exp: fc.oneof(fc.integer({ min: 0, max: 4_000_000_000 }), fc.constantFrom(-1, 0, 1e300, 253402300800, 2 ** 53), loose),
    created: loose,
    recoveryLevel: loose,
  },
  { requiredKeys: [] },
);
const secretBody = fc.record(
  {
    value: fc.oneof({ weight: 5, arbitrary: fc.string({ maxLength: 200 }) }, { weight: 1, arbitrary: fc.constant('v'.repeat(25_601)) }, { weight: 2, arbitrary: loose }),
    contentType: fc.oneof(fc.string({ maxLength: 30 }), loose),
    tags: fc.oneof(fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 30 }), { maxKeys: 20 }), fc.constantFrom({ __proto__: 'x' }, { constructor: 'y' }), loose),
    attributes: fc.oneof(attributes, loose),
  },
  { requiredKeys: [] },
);
const body = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 6, arbitrary: secretBody.map((b) => JSON.stringify(b)) },
  { weight: 2, arbitrary: anyJson.map((j) => JSON.stringify(j)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 200 }).map((value) => JSON.stringify({ value })) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '{"value":', '[]', 'null', '"x"', '{"value":"a","value":"b"}', '\u0000', '{"__proto__":{"value":"x"}}') },
);
const contentType = fc.option(
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/json', 'APPLICATION/JSON', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', ''),
  { nil: undefined },
);
const tamper = (t: string) => `${t.slice(0, -4)}${t.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
const authorization = fc.oneof(
  { weight: 12, arbitrary: fc.constant('valid') },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constantFrom('Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer tampered', 'PoP x', 'Bearer a.b.c', 'Bearer valid extra') },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }).map((s) => `Bearer ${s.replace(/[^\x21-\x7e]/g, 'x')}`) },
  { weight: 1, arbitrary: fc.tuple(fc.json(), fc.json()).map(([h, p]) => `Bearer ${Buffer.from(h).toString('base64url')}.${Buffer.from(p).toString('base64url')}.c2ln`) },
);
const headerValue = fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));
const extraHeaders = fc.dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), headerValue, { maxKeys: 3 });
const host = fc.option(fc.constantFrom('default.vault.localhost', 'other.vault.localhost', 'Fuzz.Vault.Azure.Net', 'x.localhost', '127.0.0.1', 'localhost.', '[::1]', 'a'.repeat(70) + '.vault.localhost'), { nil: undefined });
const method = fc.oneof({ weight: 12, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'POST', 'DELETE') }, { weight: 2, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'FOO', 'CONNECT-ISH') });

const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({ method, path: pathShape, query, body, contentType, authorization, extraHeaders, host, clientRequestId: fc.option(headerValue, { nil: undefined }) })
  .map((r) => {
    const headers: Record<string, string> = { ...r.extraHeaders };
    if (r.contentType !== undefined) headers['content-type'] = r.contentType;
    if (r.authorization === 'valid') headers.authorization = `Bearer ${token}`;
    else if (r.authorization === 'bearer tampered') headers.authorization = `Bearer ${tamper(token)}`;
    else if (r.authorization === 'Bearer valid extra') headers.authorization = `Bearer ${token} extra`;
    else if (r.authorization !== undefined) headers.authorization = r.authorization;
    if (r.host !== undefined) headers.host = `${r.host}:${emulator.port}`;
    if (r.clientRequestId !== undefined) headers['x-ms-client-request-id'] = r.clientRequestId;
    const sendsBody = r.body !== undefined && !['GET', 'HEAD'].includes(r.method);
    return { method: r.method, path: `${r.path}${r.query}`, headers, ...(sendsBody && { body: r.body }) };
  });

/** Backup blobs answered during the run, for well-formed restores. */
const backups: string[] = [];

// Well-formed operations on a handful of names, so random sequences walk the secret lifecycle (set,
// update, delete, recover, purge, backup, restore) and reach the success paths and their conflicts.
const poolName = fc.constantFrom('fuzz-a', 'fuzz-b', 'fuzz-c', 'fuzz-d', 'FUZZ-D');
const goodAttributes = fc.record(
  { enabled: fc.boolean(), nbf: fc.integer({ min: 0, max: 2_000_000_000 }), exp: fc.integer({ min: 1_000_000_000, max: 4_000_000_000 }) },
  { requiredKeys: [] },
);
const goodTags = fc.dictionary(fc.stringMatching(/^[a-z]{1,10}$/), fc.string({ maxLength: 20 }), { maxKeys: 5 });
const goodSet = fc.record({ value: fc.string({ maxLength: 100 }), contentType: fc.string({ maxLength: 20 }), tags: goodTags, attributes: goodAttributes }, { requiredKeys: ['value'] });
const goodUpdate = fc.record({ contentType: fc.string({ maxLength: 20 }), tags: goodTags, attributes: goodAttributes }, { requiredKeys: [] });
const goodApiVersion = fc.constantFrom('7.6', '7.5', '7.4', '2025-07-01', '2026-04-01');
const wellFormed: fc.Arbitrary<FuzzRequest> = fc
  .record({
    op: fc.constantFrom('set', 'set', 'get', 'get', 'update', 'delete', 'list', 'versions', 'backup', 'restore', 'deleted', 'getDeleted', 'recover', 'purge'),
    name: poolName,
    set: goodSet,
    update: goodUpdate,
    apiVersion: goodApiVersion,
    maxresults: fc.option(fc.integer({ min: 1, max: 25 }), { nil: undefined }),
    pick: fc.nat(),
  })
  .map((r) => {
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const q = `?api-version=${r.apiVersion}${r.maxresults === undefined ? '' : `&maxresults=${r.maxresults}`}`;
    const blob = backups.length > 0 ? backups[r.pick % backups.length]! : 'AAAA';
    const ops: Record<string, Omit<FuzzRequest, 'headers'>> = {
      set: { method: 'PUT', path: `/secrets/${r.name}${q}`, body: JSON.stringify(r.set) },
      get: { method: 'GET', path: `/secrets/${r.name}${q}` },
      update: { method: 'PATCH', path: `/secrets/${r.name}${q}`, body: JSON.stringify(r.update) },
      delete: { method: 'DELETE', path: `/secrets/${r.name}${q}` },
      list: { method: 'GET', path: `/secrets${q}` },
      versions: { method: 'GET', path: `/secrets/${r.name}/versions${q}` },
      backup: { method: 'POST', path: `/secrets/${r.name}/backup${q}` },
      restore: { method: 'POST', path: `/secrets/restore${q}`, body: JSON.stringify({ value: blob }) },
      deleted: { method: 'GET', path: `/deletedsecrets${q}` },
      getDeleted: { method: 'GET', path: `/deletedsecrets/${r.name}${q}` },
      recover: { method: 'POST', path: `/deletedsecrets/${r.name}/recover${q}` },
      purge: { method: 'DELETE', path: `/deletedsecrets/${r.name}${q}` },
    };
    return { ...ops[r.op]!, headers };
  });
const anyRequest = fc.oneof(wellFormed, fuzzRequest);

// ---- what a good answer looks like --------------------------------------------------------------------

/** The response definition a 2xx on this data-plane route must match, by the route the router picks. */
function successDefinition(method: string, path: string): Definition | 'empty' | undefined {
  const segments = path
    .split('?')[0]!
    .split('/')
    .filter((s) => s !== '');
  const [root, a, b] = segments.map((s, i) => (i === 1 ? s : s.toLowerCase()));
  const is = (s: string | undefined, v: string) => s?.toLowerCase() === v;
  if (root === 'secrets') {
    if (segments.length === 1) return method === 'GET' ? 'SecretListResult' : undefined;
    if (segments.length === 2 && is(a, 'restore') && method === 'POST') return 'SecretBundle';
    if (segments.length === 2) return method === 'DELETE' ? 'DeletedSecretBundle' : 'SecretBundle';
    if (segments.length === 3 && is(b, 'versions') && method === 'GET') return 'SecretListResult';
    if (segments.length === 3 && is(b, 'backup') && method === 'POST') return 'BackupSecretResult';
    if (segments.length === 3) return 'SecretBundle';
  }
  if (root === 'deletedsecrets') {
    if (segments.length === 1) return 'DeletedSecretListResult';
    if (segments.length === 2) return method === 'DELETE' ? 'empty' : 'DeletedSecretBundle';
    if (segments.length === 3) return 'SecretBundle';
  }
  return undefined;
}

const OAUTH_PATHS = /^\/(msi|metadata)\//i;

function checkAnswer(request: FuzzRequest, answer: Answer): void {
  const where = `${request.method} ${request.path} -> ${answer.status} ${answer.text.slice(0, 300)}`;
  expect(answer.status, where).toBeGreaterThanOrEqual(200);
  expect(answer.status, where).toBeLessThan(500);
  if (request.method === 'HEAD' || answer.status === 204) {
    expect(answer.text, where).toBe('');
    return;
  }
  if (answer.status >= 400) {
    const problem = envelopeProblem(answer);
    if (problem === undefined) return;
    if (OAUTH_PATHS.test(request.path)) {
      const oauth = JSON.parse(answer.text) as { error?: unknown; error_description?: unknown };
      expect(typeof oauth.error === 'string' && typeof oauth.error_description === 'string', where).toBe(true);
      return;
    }
    expect.fail(`${problem}: ${where}`);
  }
  expect(String(answer.headers['content-type']), where).toMatch(/^application\/json/);
  const parsed = JSON.parse(answer.text) as unknown;
  const definition = successDefinition(request.method, request.path);
  if (definition === 'empty') expect(answer.text, where).toBe('');
  else if (definition !== undefined && !request.path.startsWith('/_emulator')) expectValid(definition, parsed);
}

describe('fuzzing the REST surface', () => {
  it(`answers ${RUNS} random requests with a valid success or a Key Vault error, never a 5xx or a hang`, async () => {
    // A few secrets with versions, and one deleted, so random requests also reach the success paths.
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    for (const n of ['fuzz-a', 'fuzz-b', 'fuzz-c', 'fuzz-a']) {
      const res = await call(emulator, `/secrets/${n}?api-version=7.6`, { method: 'PUT', headers: auth, body: JSON.stringify({ value: `value of ${n}` }), agent });
      expect(res.status).toBe(200);
    }
    expect((await call(emulator, '/secrets/fuzz-c?api-version=7.6', { method: 'DELETE', headers: auth, agent })).status).toBe(200);

    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(anyRequest, async (request) => {
        const answer = await call(emulator, request.path, { method: request.method, headers: request.headers, ...(request.body !== undefined && { body: request.body }), agent, timeoutMs: 5000 });
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        checkAnswer(request, answer);
        if (answer.status === 200 && /\/backup\?/.test(request.path)) backups.push((JSON.parse(answer.text) as { value: string }).value);
      }),
      { numRuns: RUNS, ...(SEED !== undefined && { seed: SEED }), interruptAfterTimeLimit: 60_000 },
    );

    // The generators must reach the handlers, not only the guards in front of them.
    const count = (from: number, to: number) => [...statuses].filter(([s]) => s >= from && s < to).reduce((n, [, c]) => n + c, 0);
    console.log(`[fuzz] answers by status: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
    expect(count(200, 300)).toBeGreaterThan(RUNS * 0.05);
    expect(count(400, 401)).toBeGreaterThan(RUNS * 0.05);
    expect(count(404, 405)).toBeGreaterThan(RUNS * 0.05);
    expect(emulator.alive()).toBe(true);
    const health = await call(emulator, '/_emulator/health', { agent });
    expect(health.status).toBe(200);
    // The CLI logs at warn level: an unexpected error (even one mapped to an envelope) shows here.
    expect(emulator.output()).not.toMatch(/"level":(50|60)/);
  }, 90_000);
});
