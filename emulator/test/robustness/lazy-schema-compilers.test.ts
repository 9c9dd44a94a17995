// The app loads Fastify's schema compilers (ajv, fast-json-stringify) only when a route declares a
// schema, to keep them off the cold start. A route that does declare one must still be validated and
// serialized as usual, with validation failures in the Key Vault envelope.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from '../support/harness.js';

let emu: TestEmulator;
beforeAll(async () => {
  emu = await testEmulator();
  emu.app.post(
    '/_schema-probe',
    {
      config: { surface: 'public' },
      schema: {
        body: { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } },
        response: { 200: { type: 'object', properties: { n: { type: 'integer' } } } },
      },
    },
    async (request) => ({ ...(request.body as object), extra: 'dropped by the response schema' }),
  );
});
afterAll(() => emu.app.close());

describe('schema compilers loaded on demand', () => {
  it('validates a body against a declared schema', async () => {
    const res = await emu.app.inject({ method: 'POST', url: '/_schema-probe', payload: { n: 'not a number' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('BadParameter');
  });

  it('serializes a response through a declared schema', async () => {
    const res = await emu.app.inject({ method: 'POST', url: '/_schema-probe', payload: { n: 7 } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ n: 7 });
  });
});
