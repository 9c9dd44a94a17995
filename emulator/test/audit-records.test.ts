// Audit records and metrics at the HTTP level (http/audit.ts, http/routes/admin-logs.ts): one record per
// data-plane request with Key Vault's operation name, status, caller and access result; 401s recorded as
// "Authentication"; admin changes recorded, admin reads not; no secret value, token or client secret in
// any record; filters and paging of GET /_emulator/logs, and a 400 naming each bad filter; the metrics
// read by the Prometheus project's text parser (skipped, saying why, where it is not installed).
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigObject } from '../src/config.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectJson, testEmulator, type InjectOptions, type Reply, type TestEmulator } from './support/harness.js';
import { parsePrometheus, prometheusParserMissing } from './support/prometheus.js';

let emu: TestEmulator;
const V = 'api-version=7.6';
const HOST = 'audit.vault.azure.net';

beforeAll(async () => {
  emu = await testEmulator();
});
afterAll(() => emu.app.close());


/** A data-plane request; `id` is the client request id, `agent` the user agent. */
const call = (method: string, url: string, options: InjectOptions & { id?: string; agent?: string } = {}): Promise<Reply> =>
  injectJson(emu, method, url, { ...options, headers: { ...(options.id && { 'x-ms-client-request-id': options.id }), ...(options.agent && { 'user-agent': options.agent }) } }, HOST);

async function admin(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await emu.app.inject({
    method: method as 'GET',
    url: `/_emulator${path}`,
    ...(body !== undefined && { payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.statusCode, headers: res.headers, body: res.body && res.headers['content-type']?.toString().includes('json') ? JSON.parse(res.body) : res.body };
}

async function records(query: string): Promise<any[]> {
  const res = await admin('GET', `/logs?${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.value;
}

async function byId(id: string): Promise<any[]> {
  return records(`correlationId=${id}`);
}

describe('audit records of the data plane', () => {
  it('records a set and a get with the operation name, status, caller, object and access result', async () => {
    const token = await emu.token();
    const setId = randomUUID();
    const getId = randomUUID();
    expect((await call('PUT', `/secrets/audited?${V}`, { token, body: { value: 'the-set-value' }, id: setId, agent: 'test-agent/1.0' })).status).toBe(200);
    const got = await call('GET', `/secrets/audited/?${V}`, { token, id: getId });
    expect(got.status).toBe(200);

    const [set] = await byId(setId);
    expect(set).toMatchObject({
      resourceId: '/SUBSCRIPTIONS/00000000-0000-4000-8000-00000000E1A7/RESOURCEGROUPS/KV-EMULATOR/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/AUDIT',
      operationName: 'SecretSet',
      operationVersion: '7.6',
      category: 'AuditEvent',
      resultType: 'Success',
      resultSignature: 'OK',
      callerIpAddress: '127.0.0.1',
      correlationId: setId,
      identity: { claim: { oid: expect.any(String), appid: expect.any(String), idtyp: 'app' } },
      properties: {
        id: `http://${HOST}/secrets/audited`,
        clientInfo: 'test-agent/1.0',
        httpStatusCode: 200,
        requestUri: `http://${HOST}/secrets/audited?${V}`,
        isRbacAuthorized: true,
        appliedAssignmentId: expect.stringMatching(/^[0-9a-f]{32}$/),
      },
    });
    expect(set.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    expect(set.durationMs).toMatch(/^\d+$/);
    expect(set.resultDescription).toBeUndefined();
    // Field order as the service writes it.
    expect(Object.keys(set).slice(0, 8)).toEqual(['time', 'resourceId', 'operationName', 'operationVersion', 'category', 'resultType', 'resultSignature', 'durationMs']);

    const getRecords = await byId(getId);
    expect(getRecords).toHaveLength(1);
    expect(getRecords[0]).toMatchObject({ operationName: 'SecretGet', properties: { id: `http://${HOST}/secrets/audited`, httpStatusCode: 200 } });
  });

  it('names every secrets operation as Key Vault does', async () => {
    const token = await emu.token();
    const name = `ops-${Date.now()}`;
    const steps: Array<[string, string, unknown, string, number]> = [
      ['PUT', `/secrets/${name}?${V}`, { value: 'v' }, 'SecretSet', 200],
      ['GET', `/secrets/${name}?${V}`, undefined, 'SecretGet', 200],
      ['PATCH', `/secrets/${name}/?${V}`, { contentType: 'text/plain' }, 'SecretUpdate', 200],
      ['GET', `/secrets?${V}`, undefined, 'SecretList', 200],
      ['GET', `/secrets/${name}/versions?${V}`, undefined, 'SecretListVersions', 200],
      ['POST', `/secrets/${name}/backup?${V}`, undefined, 'SecretBackup', 200],
      ['DELETE', `/secrets/${name}?${V}`, undefined, 'SecretDelete', 200],
      ['GET', `/deletedsecrets?${V}`, undefined, 'SecretListDeleted', 200],
      ['GET', `/deletedsecrets/${name}?${V}`, undefined, 'SecretGetDeleted', 200],
      ['POST', `/deletedsecrets/${name}/recover?${V}`, undefined, 'SecretRecover', 200],
      ['DELETE', `/secrets/${name}?${V}`, undefined, 'SecretDelete', 200],
      ['DELETE', `/deletedsecrets/${name}?${V}`, undefined, 'SecretPurge', 204],
      ['POST', `/secrets/restore?${V}`, { value: 'AAAA' }, 'SecretRestore', 400],
      ['GET', `/secrets/${name}?${V}`, undefined, 'SecretGet', 404],
    ];
    for (const [method, url, body, operation, status] of steps) {
      const id = randomUUID();
      const res = await call(method, url, { token, body, id });
      expect(res.status, `${method} ${url}`).toBe(status);
      const found = await byId(id);
      expect(found.map((r) => [r.operationName, r.properties.httpStatusCode]), `${method} ${url}`).toEqual([[operation, status]]);
    }
    const [purged] = await records(`operation=SecretPurge&vault=audit&order=desc&maxresults=1`);
    expect(purged.properties.id).toBe(`http://${HOST}/deletedsecrets/${name}`);
    expect(purged.resultSignature).toBe('No Content');
    const [missing] = await records(`operation=SecretGet&status=404&order=desc&maxresults=1`);
    expect(missing.resultSignature).toBe('Not Found');
    expect(missing.resultDescription).toMatch(/^A secret with \(name\/id\) ops-\d+ was not found in this key vault\./);
  });

  it('records an unauthenticated request as Authentication, with the 401 message and no identity', async () => {
    const id = randomUUID();
    expect((await call('GET', `/secrets/anything?${V}`, { id })).status).toBe(401);
    const [record] = await byId(id);
    expect(record).toMatchObject({ operationName: 'Authentication', resultType: 'Success', resultSignature: 'Unauthorized', properties: { httpStatusCode: 401 } });
    expect(record.resultDescription).toMatch(/^AKV10000: Request is missing a Bearer/);
    expect(record.identity).toBeUndefined();
  });

  it('records an RBAC denial with isRbacAuthorized false and the denial as its description', async () => {
    const reader = await admin('PUT', '/identities/audit-nobody', { kind: 'servicePrincipal', clientSecret: 'audit-client-secret' });
    expect(reader.status).toBe(201);
    const token = (await admin('POST', '/tokens', { principal: 'audit-nobody' })).body.access_token as string;
    const id = randomUUID();
    expect((await call('GET', `/secrets/audited?${V}`, { token, id })).status).toBe(403);
    const [record] = await byId(id);
    expect(record).toMatchObject({
      operationName: 'SecretGet',
      resultSignature: 'Forbidden',
      identity: { claim: { oid: reader.body.objectId, appid: reader.body.clientId } },
      properties: { httpStatusCode: 403, isRbacAuthorized: false },
    });
    expect(record.properties.appliedAssignmentId).toBeUndefined();
    expect(record.resultDescription).toMatch(/^Caller is not authorized to perform action on resource\.\r\n/);
    // Found by the principal's name, object id or application id.
    for (const principal of ['audit-nobody', reader.body.objectId, reader.body.clientId]) {
      expect((await records(`principal=${principal}&correlationId=${id}`)).length).toBe(1);
    }
  });

  it('records access-policy decisions as isAccessPolicyMatch', async () => {
    expect((await admin('POST', '/vaults', { name: 'audit-ap', permissionModel: 'accessPolicy' })).status).toBe(201);
    const sp = (await admin('PUT', '/identities/audit-ap-reader', { kind: 'servicePrincipal', clientSecret: 'ap-secret' })).body;
    expect((await admin('PUT', '/accessPolicies/audit-ap/audit-ap-reader', { secrets: ['list'] })).status).toBe(200);
    const token = (await admin('POST', '/tokens', { principal: 'audit-ap-reader' })).body.access_token as string;
    const host = 'audit-ap.vault.azure.net';
    const allowed = randomUUID();
    const denied = randomUUID();
    expect((await call('GET', `/secrets?${V}`, { token, host, id: allowed })).status).toBe(200);
    expect((await call('GET', `/secrets/x?${V}`, { token, host, id: denied })).status).toBe(403);
    expect((await byId(allowed))[0].properties).toMatchObject({ isAccessPolicyMatch: true });
    expect((await byId(allowed))[0].properties.isRbacAuthorized).toBeUndefined();
    const [refused] = await byId(denied);
    expect(refused.properties).toMatchObject({ isAccessPolicyMatch: false, httpStatusCode: 403 });
    expect(refused.resultDescription).toContain(`'appid=${sp.clientId};oid=${sp.objectId};numgroups=0;`);
  });

  it('records unknown paths and framework-refused requests too, each once', async () => {
    const token = await emu.token();
    const id = randomUUID();
    expect((await call('GET', `/keys/nothing?${V}`, { token, id })).status).toBe(404);
    expect(await byId(id)).toMatchObject([{ operationName: 'Unknown', resultSignature: 'Not Found' }]);
    const bad = randomUUID();
    expect((await call('GET', `/secrets/a%zz?${V}`, { token, id: bad })).status).toBe(400);
    expect(await byId(bad)).toMatchObject([{ properties: { httpStatusCode: 400 } }]);
  });
});

describe('what a record never holds', () => {
  it('has no secret value, token, client secret or assertion anywhere in any record', async () => {
    const token = await emu.token();
    const value = `value-${randomUUID()}`;
    const tag = `tag-value-${randomUUID()}`;
    const clientSecret = `client-secret-${randomUUID()}`;
    await call('PUT', `/secrets/hidden?${V}`, { token, body: { value, tags: { t: tag } } });
    await call('GET', `/secrets/hidden?${V}`, { token });
    await call('GET', `/secrets/hidden?${V}&token=${token}&code=${value}`, { token });
    const backup = await call('POST', `/secrets/hidden/backup?${V}`, { token });
    await admin('PUT', '/identities/audit-sp', { kind: 'servicePrincipal', clientSecret });
    const minted = (await admin('POST', '/tokens', { principal: 'audit-sp' })).body.access_token as string;
    await call('GET', `/secrets/hidden?${V}`, { token: minted });
    const assertion = (await admin('POST', '/federatedTokens', { issuer: 'https://oidc.example', subject: 's', audience: 'api://AzureADTokenExchange' })).body.token as string;
    await emu.app.inject({ method: 'POST', url: `/adfs/oauth2/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `client_assertion=${assertion}&client_secret=${clientSecret}` });

    const everything = JSON.stringify(await records('maxresults=1000'));
    const stored = JSON.stringify(emu.db.prepare('SELECT * FROM audit_records').all());
    expect(stored.length).toBeGreaterThan(1000);
    for (const forbidden of [value, tag, token, minted, clientSecret, assertion, backup.body.value, token.split('.')[2]!]) {
      expect(everything.includes(forbidden)).toBe(false);
      expect(stored.includes(forbidden)).toBe(false);
    }
    // The query string's unknown values are replaced, the known ones kept.
    expect(everything).toContain(`/secrets/hidden?${V}&token=REDACTED&code=REDACTED`);
  });
});

describe('the admin API in the audit log', () => {
  it('records changes through the admin API, not reads', async () => {
    const before = (await records('operation=EmulatorVaultsCreate,EmulatorClockPut,EmulatorVaultsGet&maxresults=1000')).length;
    await admin('POST', '/vaults', { name: 'audit-admin' });
    await admin('PUT', '/clock', { advanceSeconds: 1 });
    await admin('GET', '/vaults');
    await admin('GET', '/clock');
    const after = await records('operation=EmulatorVaultsCreate,EmulatorClockPut,EmulatorVaultsGet&maxresults=1000');
    expect(after.length - before).toBe(2);
    const created = after.find((r) => r.operationName === 'EmulatorVaultsCreate');
    expect(created).toMatchObject({ resultSignature: 'Created', properties: { httpStatusCode: 201, requestUri: expect.stringContaining('/_emulator/vaults') } });
    const patched = await admin('PATCH', '/vaults/audit-admin', { purgeProtection: true });
    expect(patched.status).toBe(200);
    const [patch] = await records('operation=EmulatorVaultsUpdate&order=desc&maxresults=1');
    expect(patch.resourceId).toMatch(/\/VAULTS\/AUDIT-ADMIN$/);
  });
});

describe('GET /_emulator/logs', () => {
  it('filters by vault, operation, status class, time, and pages through nextLink', async () => {
    const token = await emu.token();
    const host = 'audit-pages.vault.azure.net';
    const start = Date.now();
    for (let i = 0; i < 7; i++) await call('GET', `/secrets/missing-${i}?${V}`, { token, host });
    await call('GET', `/secrets?${V}`, { token, host });
    const all = await records(`vault=audit-pages&since=${new Date(start).toISOString()}`);
    expect(all.map((r) => r.operationName)).toEqual([...Array(7).fill('SecretGet'), 'SecretList']);
    expect((await records('vault=audit-pages&status=4xx')).length).toBe(7);
    expect((await records('vault=audit-pages&status=200&operation=SecretList')).length).toBe(1);
    expect((await records(`vault=audit-pages&until=${Math.floor(start / 1000) - 1}`)).length).toBe(0);
    // Paging newest first, three at a time.
    const seen: any[] = [];
    let url: string | null = '/_emulator/logs?vault=audit-pages&order=desc&maxresults=3';
    while (url) {
      const res = await emu.app.inject({ method: 'GET', url });
      const page = JSON.parse(res.body);
      seen.push(...page.value);
      url = page.nextLink ? new URL(page.nextLink).pathname + new URL(page.nextLink).search : null;
    }
    expect(seen.map((r) => r.time)).toEqual(all.map((r) => r.time).reverse());
  });

  it('answers a clear 400 for every bad filter', async () => {
    const cases: Array<[string, RegExp]> = [
      ['status=abc', /'status' filter must be HTTP statuses \(403\) or classes \(4xx\), got 'abc'/],
      ['status=999', /'status' filter/],
      ['since=yesterday', /'since' filter must be an ISO-8601 date/],
      ['until=2020-13-45T00:00:00Z', /'until' filter/],
      ['since=2025-01-02T00:00:00Z&until=2025-01-01T00:00:00Z', /'until' filter must not be before 'since'/],
      ['vault=Bad_Vault!', /'vault' filter must name vaults/],
      ['operation=Secret%20Get', /'operation' filter must be operation names/],
      ['maxresults=0', /'maxresults' parameter must be an integer from 1 to 1000/],
      ['maxresults=5000', /'maxresults'/],
      ['order=random', /'order' parameter must be 'asc'/],
      ['$skiptoken=nonsense', /'\$skiptoken' parameter is not one this emulator issued/],
      ['vault=', /'vault' filter must be a non-empty value/],
      ['colour=blue', /Unknown query parameter 'colour'/],
    ];
    for (const [query, message] of cases) {
      const res = await admin('GET', `/logs?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.code, query).toBe('BadParameter');
      expect(res.body.error.message, query).toMatch(message);
    }
    const stream = await admin('GET', '/logs/stream?status=nope');
    expect(stream.status).toBe(400);
  });

  it('can be cleared', async () => {
    const other = await testEmulator();
    try {
      await other.app.inject({ method: 'GET', url: `/secrets?${V}` });
      const cleared = await other.app.inject({ method: 'DELETE', url: '/_emulator/logs' });
      expect(JSON.parse(cleared.body).removed).toBe(1);
      const after = await other.app.inject({ method: 'GET', url: '/_emulator/logs' });
      // The DELETE itself is the one record left: an admin change.
      expect(JSON.parse(after.body).value.map((r: any) => r.operationName)).toEqual(['EmulatorLogsDelete']);
    } finally {
      await other.app.close();
    }
  });

  it('answers 404 when the audit log is turned off', async () => {
    const off = await testEmulator({ auditLog: { enabled: false, maxRecords: 10, maxAgeDays: 1 } });
    try {
      const res = await off.app.inject({ method: 'GET', url: '/_emulator/logs' });
      expect(res.statusCode).toBe(404);
      expect(JSON.parse(res.body).error.message).toMatch(/audit log is turned off/);
      expect(off.db.prepare('SELECT count(*) FROM audit_records').pluck().get()).toBe(0);
    } finally {
      await off.app.close();
    }
  });
});

const parserMissing = prometheusParserMissing();
if (parserMissing) console.log(`skipped metrics parsing tests: ${parserMissing}`);

describe.skipIf(parserMissing !== undefined)('GET /_emulator/metrics', () => {
  const scrape = async () => {
    const res = await emu.app.inject({ method: 'GET', url: '/_emulator/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    // Azure's names as they are; the parser reports a counter's samples with the _total suffix.
    expect(res.body).toMatch(/^ServiceApiHit\{/m);
    expect(res.body).toMatch(/^ServiceApiResult\{/m);
    const families = parsePrometheus(res.body);
    const family = (name: string) => families.find((f) => f.name === name)!;
    const value = (sample: string, labels: Record<string, string>) =>
      families.flatMap((f) => f.samples).find((m) => m.name === sample && Object.entries(labels).every(([k, v]) => m.labels[k] === v))?.value;
    return { family, value };
  };

  it('is read by the Prometheus text parser, with Key Vault metric names and dimensions per vault', async () => {
    const token = await emu.token();
    const host = 'audit-metrics.vault.azure.net';
    await call('PUT', `/secrets/m?${V}`, { token, host, body: { value: 'x' } });
    for (let i = 0; i < 3; i++) await call('GET', `/secrets/m?${V}`, { token, host });
    await call('GET', `/secrets/none?${V}`, { token, host });
    await call('GET', `/secrets/m?${V}`, { host });
    const { family, value } = await scrape();
    const vault = 'audit-metrics';

    expect(family('ServiceApiHit').type).toBe('counter');
    expect(value('ServiceApiHit_total', { vault, ActivityType: 'secret', ActivityName: 'SecretGet' })).toBe(4);
    expect(value('ServiceApiHit_total', { vault, ActivityType: 'secret', ActivityName: 'SecretSet' })).toBe(1);
    expect(value('ServiceApiHit_total', { vault, ActivityType: 'vault', ActivityName: 'Authentication' })).toBe(1);
    expect(value('ServiceApiResult_total', { vault, ActivityName: 'SecretGet', StatusCode: '200', StatusCodeClass: '2xx' })).toBe(3);
    expect(value('ServiceApiResult_total', { vault, ActivityName: 'SecretGet', StatusCode: '404', StatusCodeClass: '4xx' })).toBe(1);
    expect(value('ServiceApiResult_total', { vault, ActivityName: 'Authentication', StatusCode: '401', StatusCodeClass: '4xx' })).toBe(1);
    expect(family('ServiceApiLatency').type).toBe('histogram');
    expect(value('ServiceApiLatency_count', { vault, ActivityName: 'SecretGet', StatusCode: '200' })).toBe(3);
    expect(value('ServiceApiLatency_bucket', { vault, ActivityName: 'SecretGet', StatusCode: '200', le: '+Inf' })).toBe(3);
    expect(value('ServiceApiLatency_sum', { vault, ActivityName: 'SecretGet', StatusCode: '200' })).toBeGreaterThan(0);
    // Buckets are cumulative, in order, ending with every observation.
    const buckets = family('ServiceApiLatency')
      .samples.filter((m) => m.name === 'ServiceApiLatency_bucket' && m.labels.vault === vault && m.labels.ActivityName === 'SecretGet' && m.labels.StatusCode === '200')
      .map((m) => [m.labels.le, m.value] as const);
    expect(buckets.map(([le]) => le)).toEqual(['1', '2', '5', '10', '25', '50', '100', '250', '500', '1000', '2500', '5000', '10000', '+Inf']);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]![1]).toBeGreaterThanOrEqual(buckets[i - 1]![1]);
    expect(buckets.find(([le]) => le === '10000')![1]).toBe(3);
    expect(family('Availability').type).toBe('gauge');
    expect(value('Availability', { vault, ActivityName: 'SecretGet' })).toBe(100);
    expect(value('SaturationShoebox', { vault })).toBeCloseTo((100 * 6) / 4000, 5);
    // The process's own.
    expect(value('process_resident_memory_bytes', {})).toBeGreaterThan(1_000_000);
    expect(family('nodejs_eventloop_lag_seconds').type).toBe('gauge');
  });

  it('counts throttled and failed requests as unavailable', async () => {
    const token = await emu.token();
    const host = 'audit-faults.vault.azure.net';
    expect((await admin('POST', '/faults', { match: { vault: 'audit-faults' }, fault: 'throttled', times: 1 })).status).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await call('GET', `/secrets?${V}`, { token, host })).status);
    expect(statuses).toEqual([429, 200, 200, 200]);
    const { value } = await scrape();
    expect(value('Availability', { vault: 'audit-faults', ActivityName: 'SecretList' })).toBe(75);
    expect(value('ServiceApiResult_total', { vault: 'audit-faults', StatusCode: '429', StatusCodeClass: '4xx' })).toBe(1);
  });
});

describe('the audit log settings', () => {
  it('appends every record to a JSON-lines file, as the admin API answers them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-audit-file-'));
    const file = join(dir, 'audit.jsonl');
    const other = await testEmulator({ auditLog: { enabled: true, maxRecords: 1000, maxAgeDays: 1, file } });
    try {
      const token = await other.token();
      await other.app.inject({ method: 'PUT', url: `/secrets/filed?${V}`, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, payload: '{"value":"filed-value"}' });
      await other.app.inject({ method: 'GET', url: `/secrets/filed?${V}`, headers: { authorization: `Bearer ${token}` } });
      await other.app.inject({ method: 'GET', url: `/secrets/filed?${V}` });
      const answered = JSON.parse((await other.app.inject({ method: 'GET', url: '/_emulator/logs' })).body).value;
      await other.app.close();
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      expect(lines.map((r: any) => r.operationName)).toEqual(['SecretSet', 'SecretGet', 'Authentication']);
      expect(lines).toEqual(answered);
      expect(readFileSync(file, 'utf8')).not.toContain('filed-value');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('are checked when the config file is read, naming the bad field', () => {
    expect(parseConfigObject({ auditLog: { maxRecords: 50, maxAgeDays: 0.5, file: 'a.jsonl' } }, '/base').auditLog).toEqual({
      enabled: true,
      maxRecords: 50,
      maxAgeDays: 0.5,
      file: '/base/a.jsonl',
    });
    expect(() => parseConfigObject({ auditLog: { colour: 'blue' } })).toThrow("'auditLog.colour' is not a known audit log setting.");
    expect(() => parseConfigObject({ auditLog: { maxRecords: 0 } })).toThrow("'auditLog.maxRecords' must be an integer from 1 to 10000000.");
    expect(() => parseConfigObject({ auditLog: { maxAgeDays: -1 } })).toThrow("'auditLog.maxAgeDays' must be a number of days above 0");
    expect(() => parseConfigObject({ auditLog: { enabled: 'no' } })).toThrow("'auditLog.enabled' must be true or false.");
  });
});
