// Every error path of the secrets API at the HTTP level: status, Key Vault envelope, exact messages
// where the real service's are known, and that every body validates against the OpenAPI document.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValid } from './support/openapi.js';
import { testEmulator, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
let token: string;
const V = 'api-version=2025-07-01';

beforeAll(async () => {
  emu = await testEmulator();
  token = await emu.token();
});
afterAll(() => emu.app.close());

interface CallOptions {
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  host?: string;
  auth?: boolean;
}

async function call(method: string, url: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { host: options.host ?? 'errors.vault.azure.net', ...options.headers };
  if (options.auth !== false) headers.authorization = `Bearer ${token}`;
  let payload: string | undefined;
  if (options.raw !== undefined) payload = options.raw;
  else if (options.body !== undefined) payload = JSON.stringify(options.body);
  if (payload !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await emu.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined && { payload }) });
  const text = res.body;
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
}

function expectError(res: { status: number; body?: Record<string, any>; headers: Record<string, unknown> }, status: number, code: string, message?: string | RegExp, inner?: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  expectValid('KeyVaultError', res.body);
  expect(res.body!.error.code).toBe(code);
  if (typeof message === 'string') expect(res.body!.error.message).toBe(message);
  else if (message) expect(res.body!.error.message).toMatch(message);
  if (inner) expect(res.body!.error.innererror).toEqual({ code: inner });
  else expect(res.body!.error.innererror).toBeUndefined();
}

const notFound = (name: string) =>
  `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`;

describe('authentication', () => {
  it('401 with the challenge when no token is sent, on any path and before validation', async () => {
    for (const [method, url] of [
      ['PUT', `/secrets/a?${V}`],
      ['GET', '/secrets/a/?api-version=9.9'],
      ['GET', '/no/such/path'],
      ['POST', `/secrets/restore?${V}`],
    ] as const) {
      const res = await call(method, url, { auth: false, headers: { 'content-type': 'application/json', 'content-length': '0' } });
      expectError(res, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.');
      // A real vault name gets the real vault's challenge: the public cloud's authority (vault/clouds.ts).
      expect(res.headers['www-authenticate']).toBe(`Bearer authorization="https://login.microsoftonline.com/${emu.config.tenantId}", resource="https://vault.azure.net"`);
    }
  });

  it('advertises a resource the SDK accepts for *.vault.localhost and *.localhost hosts', async () => {
    const a = await call('GET', `/secrets?${V}`, { auth: false, host: 'mine.vault.localhost:8443' });
    expect(a.headers['www-authenticate']).toContain('resource="https://vault.localhost"');
    const b = await call('GET', `/secrets?${V}`, { auth: false, host: 'mine.localhost:8443' });
    expect(b.headers['www-authenticate']).toContain('resource="https://localhost"');
  });

  it('401 for a malformed or foreign token', async () => {
    const res = await call('GET', `/secrets?${V}`, { auth: false, headers: { authorization: 'Bearer not-a-jwt' } });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer authorization=/);
    const basic = await call('GET', `/secrets?${V}`, { auth: false, headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expectError(basic, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer, PoP, or MTLS_POP token.');
  });
});

describe('api-version', () => {
  it('accepts every published version and later date-shaped ones', async () => {
    for (const version of ['7.0', '7.2', '7.5', '7.6-preview.2', '7.6', '2025-07-01', '2026-03-01-preview', '2026-04-01', '2031-12-31']) {
      const res = await call('GET', `/secrets?api-version=${version}`);
      expect(res.status, version).toBe(200);
    }
  });

  it('refuses unknown, malformed and missing versions with 400 BadParameter', async () => {
    expectError(
      await call('GET', '/secrets?api-version=7.9'),
      400,
      'BadParameter',
      'The specified version (7.9) is not recognized. Consider using the latest supported version (2026-04-01).',
    );
    expectError(await call('GET', '/secrets?api-version=2016-13-01'), 400, 'BadParameter', /The specified version \(2016-13-01\) is not recognized/);
    expectError(await call('GET', '/secrets?api-version=latest'), 400, 'BadParameter', /not recognized/);
    expectError(await call('GET', '/secrets'), 400, 'BadParameter', 'The api-version query parameter (?api-version=) is required for all requests.');
  });

  it('reads the percent-encoded api%2Dversion key the SDK sends', async () => {
    expect((await call('GET', '/secrets?api%2Dversion=7.6')).status).toBe(200);
  });
});

describe('names, values and properties', () => {
  it('400 for invalid names', async () => {
    for (const name of ['my_secret', 'a.b', 'x'.repeat(128), 'sp%20ace']) {
      const res = await call('PUT', `/secrets/${name}?${V}`, { body: { value: 'v' } });
      expectError(res, 400, 'BadParameter', `The request URI contains an invalid name: ${decodeURIComponent(name)}`);
    }
    expectError(await call('GET', `/secrets/bad_name?${V}`), 400, 'BadParameter', 'The request URI contains an invalid name: bad_name');
  });

  it('accepts a 127-character name and an empty value', async () => {
    const name = 'n'.repeat(127);
    const res = await call('PUT', `/secrets/${name}?${V}`, { body: { value: '' } });
    expect(res.status).toBe(200);
    expectValid('SecretBundle', res.body);
    expect(res.body!.value).toBe('');
  });

  it('405 for PUT /secrets/ (empty name), as the real service answers', async () => {
    expectError(await call('PUT', `/secrets/?${V}`, { body: { value: 'v' } }), 405, 'MethodNotAllowed', 'HTTP PUT not allowed');
    expectError(await call('DELETE', `/secrets?${V}`), 405, 'MethodNotAllowed', 'HTTP DELETE not allowed');
  });

  it('400 for a value over 25,600 characters', async () => {
    expect((await call('PUT', `/secrets/big?${V}`, { body: { value: 'x'.repeat(25_600) } })).status).toBe(200);
    expectError(
      await call('PUT', `/secrets/big?${V}`, { body: { value: 'x'.repeat(25_601) } }),
      400,
      'BadParameter',
      'Secret is beyond the maximum permitted length of 25600 characters.',
    );
  });

  it('400 for contentType over 255 characters and for tag limits', async () => {
    expectError(await call('PUT', `/secrets/ct?${V}`, { body: { value: 'v', contentType: 'c'.repeat(256) } }), 400, 'BadParameter');
    const tags16 = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, 'v']));
    expectError(await call('PUT', `/secrets/tags?${V}`, { body: { value: 'v', tags: tags16 } }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/tags?${V}`, { body: { value: 'v', tags: { k: 'v'.repeat(513) } } }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/tags?${V}`, { body: { value: 'v', tags: { k: 1 } } }), 400, 'BadParameter');
    const tags15 = Object.fromEntries(Array.from({ length: 15 }, (_, i) => [`t${i}`, 'v'.repeat(512)]));
    expect((await call('PUT', `/secrets/tags?${V}`, { body: { value: 'v', tags: tags15 } })).status).toBe(200);
  });

  it('400 for malformed JSON, wrong shapes and wrong types', async () => {
    expectError(await call('PUT', `/secrets/j?${V}`, { raw: '{"value":' }), 400, 'BadParameter', 'The request body is not valid JSON.');
    expectError(await call('PUT', `/secrets/j?${V}`, { raw: '[1,2]' }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/j?${V}`, { raw: '"text"' }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/j?${V}`, { body: {} }), 400, 'BadParameter', 'Property value is required.');
    expectError(await call('PUT', `/secrets/j?${V}`, { body: { value: 5 } }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/j?${V}`, { body: { value: 'v', attributes: { enabled: 'yes' } } }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/j?${V}`, { body: { value: 'v', attributes: { exp: 'tomorrow' } } }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/j?${V}`, { body: { value: 'v', attributes: [] } }), 400, 'BadParameter');
    expectError(await call('PUT', `/secrets/j?${V}`, { headers: { 'content-type': 'application/json' }, raw: '' }), 400, 'BadParameter');
    expectError(await call('PATCH', `/secrets/j?${V}`, { raw: '{bad' }), 400, 'BadParameter');
  });

  it('415 in the envelope for a body that is not JSON', async () => {
    expectError(await call('PUT', `/secrets/x?${V}`, { raw: 'value=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UnsupportedMediaType');
  });

  it('413 in the envelope for a body over the limit', async () => {
    expectError(await call('PUT', `/secrets/x?${V}`, { raw: JSON.stringify({ value: 'x'.repeat(2 * 1024 * 1024) }) }), 413, 'RequestEntityTooLarge');
  });

  it('ignores read-only attributes in input', async () => {
    const res = await call('PUT', `/secrets/ro?${V}`, { body: { value: 'v', attributes: { created: 1, updated: 2, recoveryLevel: 'Purgeable', recoverableDays: 1 } } });
    expect(res.status).toBe(200);
    expect(res.body!.attributes.created).toBeGreaterThan(1_700_000_000);
    expect(res.body!.attributes.recoveryLevel).toBe('Recoverable+Purgeable');
    expect(res.body!.attributes.recoverableDays).toBe(90);
  });
});

describe('object state', () => {
  it('404 SecretNotFound for missing secrets and versions, on every operation', async () => {
    expectError(await call('GET', `/secrets/nothing/?${V}`), 404, 'SecretNotFound', notFound('nothing'));
    expectError(await call('GET', `/secrets/nothing?${V}`), 404, 'SecretNotFound', notFound('nothing'));
    expectError(await call('PATCH', `/secrets/nothing/?${V}`, { body: {} }), 404, 'SecretNotFound', notFound('nothing'));
    expectError(await call('DELETE', `/secrets/nothing?${V}`), 404, 'SecretNotFound', notFound('nothing'));
    expectError(await call('POST', `/secrets/nothing/backup?${V}`), 404, 'SecretNotFound', notFound('nothing'));
    expectError(await call('GET', `/deletedsecrets/nothing?${V}`), 404, 'SecretNotFound', 'Deleted Secret not found: nothing');
    expectError(await call('DELETE', `/deletedsecrets/nothing?${V}`), 404, 'SecretNotFound', 'Deleted Secret not found: nothing');
    expectError(await call('POST', `/deletedsecrets/nothing/recover?${V}`), 404, 'SecretNotFound', notFound('nothing'));
    await call('PUT', `/secrets/present?${V}`, { body: { value: 'v' } });
    expectError(await call('GET', `/secrets/present/0123456789abcdef0123456789abcdef?${V}`), 404, 'SecretNotFound', notFound('present/0123456789abcdef0123456789abcdef'));
    expectError(await call('GET', `/secrets/present/not-a-version?${V}`), 404, 'SecretNotFound', notFound('present/not-a-version'));
  });

  it('403 SecretDisabled for a disabled version, 200 for expired or not-yet-valid ones', async () => {
    const put = await call('PUT', `/secrets/off?${V}`, { body: { value: 'v', attributes: { enabled: false } } });
    expectError(await call('GET', `/secrets/off/?${V}`), 403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    const version = String(put.body!.id).split('/').pop();
    expectError(await call('GET', `/secrets/off/${version}?${V}`), 403, 'Forbidden', undefined, 'SecretDisabled');
    const past = Math.floor(Date.now() / 1000) - 3600;
    await call('PUT', `/secrets/old?${V}`, { body: { value: 'v', attributes: { exp: past, nbf: past - 10 } } });
    const old = await call('GET', `/secrets/old/?${V}`);
    expect(old.status).toBe(200);
    expect(old.body!.attributes).toMatchObject({ exp: past, nbf: past - 10 });
  });

  it('409 ObjectIsDeletedButRecoverable for set, update and restore over a soft-deleted name', async () => {
    await call('PUT', `/secrets/limbo?${V}`, { body: { value: 'v' } });
    const backup = await call('POST', `/secrets/limbo/backup?${V}`);
    expectValid('BackupSecretResult', backup.body);
    const deleted = await call('DELETE', `/secrets/limbo?${V}`);
    expectValid('DeletedSecretBundle', deleted.body);
    const message =
      'Secret limbo is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.';
    expectError(await call('PUT', `/secrets/limbo?${V}`, { body: { value: 'v' } }), 409, 'Conflict', message, 'ObjectIsDeletedButRecoverable');
    expectError(await call('PATCH', `/secrets/limbo/?${V}`, { body: { tags: {} } }), 409, 'Conflict', message, 'ObjectIsDeletedButRecoverable');
    expectError(await call('POST', `/secrets/restore?${V}`, { body: backup.body }), 409, 'Conflict', message, 'ObjectIsDeletedButRecoverable');
    expectError(await call('GET', `/secrets/limbo/?${V}`), 404, 'SecretNotFound');
    expectError(await call('DELETE', `/secrets/limbo?${V}`), 404, 'SecretNotFound');
    expectError(await call('POST', `/secrets/limbo/backup?${V}`), 404, 'SecretNotFound');
  });

  it('409 Conflict with the real message when restoring over an existing name', async () => {
    const put = await call('PUT', `/secrets/twice?${V}`, { body: { value: 'v' } });
    const backup = await call('POST', `/secrets/twice/backup?${V}`);
    expectError(await call('POST', `/secrets/restore?${V}`, { body: backup.body }), 409, 'Conflict', new RegExp(`^There was a conflict restoring the secret '${put.body!.id}'\\.`));
  });

  it('400 for corrupt, foreign, empty and non-base64 backup blobs', async () => {
    const corrupt = 'Backup blob contains invalid or corrupt version.';
    expectError(await call('POST', `/secrets/restore?${V}`, { body: { value: Buffer.alloc(4728).toString('base64url') } }), 400, 'Malformed backup blob', corrupt);
    expectError(await call('POST', `/secrets/restore?${V}`, { body: { value: '%%%' } }), 400, 'Malformed backup blob', corrupt);
    const prefix = Buffer.concat([Buffer.from([0x29]), Buffer.from('AzureKeyVaultSecretBackupV1.microsoft.com'), Buffer.from('eyJhbGciOiJkaXIifQ..x.y.z')]);
    expectError(await call('POST', `/secrets/restore?${V}`, { body: { value: prefix.toString('base64url') } }), 400, 'Malformed backup blob', corrupt);
    const put = await call('PUT', `/secrets/tamper?${V}`, { body: { value: 'v' } });
    expect(put.status).toBe(200);
    const blob = Buffer.from(String((await call('POST', `/secrets/tamper/backup?${V}`)).body!.value), 'base64url');
    blob[blob.length - 5] = blob[blob.length - 5]! ^ 1;
    expectError(await call('POST', `/secrets/restore?${V}`, { body: { value: blob.toString('base64url') } }), 400, 'Malformed backup blob', corrupt);
    expectError(await call('POST', `/secrets/restore?${V}`, { body: {} }), 400, 'BadParameter');
  });

  it('403 under purge protection, with the vault named', async () => {
    emu.vaults.create('guarded', { purgeProtection: true });
    const host = 'guarded.vault.azure.net';
    await call('PUT', `/secrets/kept?${V}`, { body: { value: 'v' }, host });
    const deleted = await call('DELETE', `/secrets/kept?${V}`, { host });
    expect(deleted.body!.attributes.recoveryLevel).toBe('Recoverable');
    expectError(
      await call('DELETE', `/deletedsecrets/kept?${V}`, { host }),
      403,
      'Forbidden',
      'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed. Vault: guarded;location=westus',
    );
  });

  it('400 for outContentType on a secret that is not a certificate', async () => {
    await call('PUT', `/secrets/notcert?${V}`, { body: { value: 'v' } });
    expectError(
      await call('GET', `/secrets/notcert/?${V}&outContentType=application%2Fx-pem-file`),
      400,
      'BadParameter',
      "The 'Unsupported' to 'PEM' transformation is not supported. Only PFX to PEM transformation is supported.",
    );
    expectError(
      await call('GET', `/secrets/notcert/?${V}&outContentType=application%2Fx-pkcs12`),
      400,
      'BadParameter',
      "The 'Unsupported' to 'PFX' transformation is not supported. Only PFX to PEM transformation is supported.",
    );
  });
});

describe('paging parameters', () => {
  it('400 for maxresults outside 1..25 or not a number', async () => {
    for (const bad of ['0', '26', '-1', 'abc', '1.5']) {
      expectError(await call('GET', `/secrets?${V}&maxresults=${bad}`), 400, 'BadParameter', /maxresults/);
      expectError(await call('GET', `/deletedsecrets?${V}&maxresults=${bad}`), 400, 'BadParameter', /maxresults/);
      expectError(await call('GET', `/secrets/x/versions?${V}&maxresults=${bad}`), 400, 'BadParameter', /maxresults/);
    }
  });

  it('400 for a $skiptoken that is not one of ours', async () => {
    expectError(await call('GET', `/secrets?${V}&$skiptoken=garbage`), 400, 'BadParameter', /skiptoken/);
  });

  it('pages with nextLink on the caller origin, repeating api-version and maxresults, null at the end', async () => {
    const host = 'pages.vault.azure.net:8443';
    for (let i = 0; i < 5; i++) await call('PUT', `/secrets/p${i}?${V}`, { body: { value: 'v' }, host });
    const names: string[] = [];
    let url: string | null = `/secrets?${V}&maxresults=2`;
    let pages = 0;
    while (url) {
      const res: { body?: Record<string, any> } = await call('GET', url, { host });
      expectValid('SecretListResult', res.body);
      names.push(...res.body!.value.map((item: { id: string }) => item.id.split('/').pop()));
      const next = res.body!.nextLink as string | null;
      if (next) {
        expect(next).toMatch(/^http:\/\/pages\.vault\.azure\.net:8443\/secrets\?api-version=2025-07-01&\$skiptoken=[^&]+&maxresults=2$/);
        url = next.replace('http://pages.vault.azure.net:8443', '');
      } else {
        expect(res.body!.nextLink).toBeNull();
        url = null;
      }
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(names).toEqual(['p0', 'p1', 'p2', 'p3', 'p4']);
  });
});

describe('routing and vault selection', () => {
  it('404 in the envelope for unknown paths', async () => {
    expectError(await call('GET', `/keys?${V}`), 404, 'NotFound');
  });

  it('selects vaults by host and keeps them apart', async () => {
    await call('PUT', `/secrets/where?${V}`, { body: { value: 'a' }, host: 'one.vault.azure.net' });
    await call('PUT', `/secrets/where?${V}`, { body: { value: 'b' }, host: 'two.vault.localhost:1234' });
    expect((await call('GET', `/secrets/where/?${V}`, { host: 'ONE.vault.azure.net' })).body!.value).toBe('a');
    expect((await call('GET', `/secrets/where/?${V}`, { host: 'two.localhost' })).body!.value).toBe('b');
    const viaLocalhost = await call('GET', `/secrets/where/?${V}`, { host: 'localhost:8443' });
    expectError(viaLocalhost, 404, 'SecretNotFound');
  });

  it('echoes x-ms-client-request-id and sets the Key Vault response headers', async () => {
    const res = await call('GET', `/secrets?${V}`, { headers: { 'x-ms-client-request-id': 'abc-123' } });
    expect(res.headers['x-ms-client-request-id']).toBe('abc-123');
    expect(res.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['x-ms-keyvault-region']).toBe('westus');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('answers 204 with no content type for purge', async () => {
    await call('PUT', `/secrets/bye?${V}`, { body: { value: 'v' } });
    await call('DELETE', `/secrets/bye?${V}`);
    const res = await emu.app.inject({ method: 'DELETE', url: `/deletedsecrets/bye?${V}`, headers: { host: 'errors.vault.azure.net', authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers['content-type']).toBeUndefined();
  });
});

describe('strict vaults', () => {
  it('refuses unknown vault names with a clear 404 when strict', async () => {
    const strict = await testEmulator({ strictVaults: true });
    try {
      const res = await strict.app.inject({ method: 'GET', url: `/secrets?${V}`, headers: { host: 'unknown.vault.azure.net', authorization: `Bearer ${await strict.token()}` } });
      expect(res.statusCode).toBe(404);
      expect(res.json().error.message).toMatch(/The vault 'unknown' does not exist in this emulator/);
      const known = await strict.app.inject({ method: 'GET', url: `/secrets?${V}`, headers: { host: 'localhost', authorization: `Bearer ${await strict.token()}` } });
      expect(known.statusCode).toBe(200);
    } finally {
      await strict.app.close();
    }
  });
});
