// Strings holding an unpaired UTF-16 surrogate ("a\ud800b" in JSON). Key Vault keeps a secret as octets
// (UTF-8), which cannot represent such a string, and .NET's JSON reader refuses it; before, the emulator
// answered 200, echoed the string, and a GET returned it changed ("a\ufffd\ufffd\ufffdb"). Every JSON body
// holding one is refused with 400 BadParameter and nothing is stored; well-formed text, astral characters
// (surrogate pairs) included, round-trips exactly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigObject } from '../../src/config.js';
import { testEmulator, type TestEmulator } from '../support/harness.js';

let emu: TestEmulator;
let headers: Record<string, string>;
const V = 'api-version=7.6';

beforeAll(async () => {
  emu = await testEmulator();
  headers = { authorization: `Bearer ${await emu.token()}`, host: 'text.vault.azure.net', 'content-type': 'application/json' };
});
afterAll(() => emu.app.close());

const send = (method: 'PUT' | 'PATCH' | 'GET', url: string, raw?: string) => emu.app.inject({ method, url, headers, ...(raw !== undefined && { payload: raw }) });

describe('unpaired surrogates', () => {
  it('refuses them in value, contentType, tag names and tag values, storing nothing', async () => {
    const bodies = [
      '{"value":"a\\ud800b"}',
      '{"value":"a\\udc00b"}',
      '{"value":"\\ude00\\ud83d"}',
      '{"value":"end\\ud83d"}',
      '{"value":"v","contentType":"text/\\ud800"}',
      '{"value":"v","tags":{"k":"\\udfff"}}',
      '{"value":"v","tags":{"\\ud800":"x"}}',
    ];
    for (const [i, raw] of bodies.entries()) {
      const res = await send('PUT', `/secrets/lone-${i}?${V}`, raw);
      expect(res.statusCode, raw).toBe(400);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.json().error.code).toBe('BadParameter');
      expect(res.json().error.message).toMatch(/unpaired UTF-16 surrogate/);
      expect((await send('GET', `/secrets/lone-${i}?${V}`)).statusCode).toBe(404);
    }
  });

  it('refuses them in an update, leaving the secret as it was', async () => {
    const created = await send('PUT', `/secrets/kept?${V}`, '{"value":"v","contentType":"text/plain","tags":{"k":"v"}}');
    expect(created.statusCode).toBe(200);
    const version = created.json().id.split('/').pop();
    for (const raw of ['{"contentType":"x\\ud800"}', '{"tags":{"k":"\\udbff"}}']) {
      const res = await send('PATCH', `/secrets/kept/${version}?${V}`, raw);
      expect(res.statusCode, raw).toBe(400);
      expect(res.json().error.code).toBe('BadParameter');
    }
    const read = await send('GET', `/secrets/kept?${V}`);
    expect(read.json()).toMatchObject({ value: 'v', contentType: 'text/plain', tags: { k: 'v' } });
  });

  it('keeps well-formed text exactly, surrogate pairs included, escaped or not', async () => {
    const value = 'a\u{1F600}b\u00e9\uFFFD\u0000\uFEFFz';
    const escaped = await send('PUT', `/secrets/pairs?${V}`, '{"value":"a\\ud83d\\ude00b\\u00e9\\ufffd\\u0000\\ufeffz","tags":{"\\ud83d\\ude00":"\\ud83d\\ude00"}}');
    expect(escaped.statusCode).toBe(200);
    expect(escaped.json().value).toBe(value);
    const read = await send('GET', `/secrets/pairs?${V}`);
    expect(read.json().value).toBe(value);
    expect(read.json().tags).toEqual({ '\u{1F600}': '\u{1F600}' });
    const plain = await send('PUT', `/secrets/pairs-raw?${V}`, JSON.stringify({ value }));
    expect(plain.statusCode).toBe(200);
    expect((await send('GET', `/secrets/pairs-raw?${V}`)).json().value).toBe(value);
  });

  it("refuses them in the config file's seeded secrets, naming the field", () => {
    for (const [secret, field] of [
      [{ name: 's', value: 'a\ud800b' }, 'vaults[0].secrets[0].value'],
      [{ name: 's', value: 'v', contentType: '\udc00' }, 'vaults[0].secrets[0].contentType'],
      [{ name: 's', value: 'v', tags: { t: 'x\ud800' } }, 'vaults[0].secrets[0].tags.t'],
    ] as const) {
      const parse = () => parseConfigObject(JSON.parse(JSON.stringify({ vaults: [{ name: 'v', secrets: [secret] }] })));
      expect(parse).toThrow(ConfigError);
      expect(parse).toThrow(`'${field}' holds an unpaired UTF-16 surrogate`);
    }
    expect(() => parseConfigObject({ vaults: [{ name: 'v', secrets: [{ name: 's', value: '\u{1F600}' }] }] })).not.toThrow();
  });
});
