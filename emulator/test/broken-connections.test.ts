// Fault rules that break the connection (faults/injector.ts, http/faults.ts), over a real socket: a
// reset before the operation runs, a cut after the answer's headers once it has run, and a stall that
// holds the request until the client gives up or the stall runs out. Outcomes are checked by what the
// client saw and what the store holds, never by how long anything took.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEmulator, type TestEmulator } from './support/harness.js';

let emu: TestEmulator;
let port: number;
let token: string;
const V = 'api-version=7.6';

beforeAll(async () => {
  emu = await testEmulator();
  token = await emu.token();
  await emu.app.listen({ port: 0, host: '127.0.0.1' });
  port = (emu.app.server.address() as { port: number }).port;
});
afterAll(() => emu.app.close());

interface Outcome {
  /** Status and headers, if the answer's head arrived. */
  head?: { status: number; headers: IncomingMessage['headers'] };
  body?: string;
  error?: { code?: string; message: string };
}

/** One request on a fresh connection; resolves with whatever the client saw, however it ended. */
function send(method: string, path: string, body?: unknown, options: { timeoutMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const outcome: Outcome = {};
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path: `${path}?${V}`,
        agent: false,
        headers: {
          host: 'broken.vault.azure.net',
          authorization: `Bearer ${token}`,
          ...(payload !== undefined && { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        outcome.head = { status: res.statusCode ?? 0, headers: res.headers };
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ ...outcome, body: text }));
        res.on('error', (error: Error & { code?: string }) => resolve({ ...outcome, body: text, error: { code: error.code, message: error.message } }));
        res.on('aborted', () => resolve({ ...outcome, body: text, error: { code: 'ECONNRESET', message: 'aborted' } }));
      },
    );
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (error: Error & { code?: string }) => resolve({ ...outcome, error: { code: error.code, message: error.message } }));
    req.end(payload);
  });
}

const arm = (rule: unknown) => emu.app.inject({ method: 'POST', url: '/_emulator/faults', payload: rule as object });
const versionsOf = async (name: string) => (await send('GET', `/secrets/${name}/versions`)).body!;

describe('broken connections', () => {
  it('reset: the connection is reset before the operation runs; the next request goes through', async () => {
    expect((await arm({ match: { operation: 'set', secret: 'reset-me' }, fault: 'reset', times: 1 })).statusCode).toBe(201);
    const cut = await send('PUT', '/secrets/reset-me', { value: 'v' });
    expect(cut.head).toBeUndefined();
    expect(cut.error?.code).toBe('ECONNRESET');
    expect(JSON.parse(await versionsOf('reset-me')).value).toEqual([]);
    const again = await send('PUT', '/secrets/reset-me', { value: 'v' });
    expect(again.head?.status).toBe(200);
    expect(JSON.parse(again.body!).value).toBe('v');
  });

  it('closeAfterHeaders: the operation runs, its status and headers arrive, its body never does', async () => {
    await arm({ match: { operation: 'set', secret: 'half-answered' }, fault: 'closeAfterHeaders', times: 1 });
    const cut = await send('PUT', '/secrets/half-answered', { value: 'written' });
    expect(cut.head?.status).toBe(200);
    expect(cut.head?.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(cut.head?.headers['content-length'])).toBeGreaterThan(0);
    expect(cut.body ?? '').toBe('');
    expect(cut.error?.code).toBe('ECONNRESET');
    // The write was made: a client that retries the set makes a second version.
    expect(JSON.parse(await versionsOf('half-answered')).value).toHaveLength(1);
    expect(JSON.parse((await send('GET', '/secrets/half-answered/')).body!).value).toBe('written');
  });

  it('stall: the request is held, not run, until the client gives up', async () => {
    await arm({ match: { operation: 'set', secret: 'held' }, fault: 'stall', times: 1 });
    const gaveUp = await send('PUT', '/secrets/held', { value: 'v' }, { timeoutMs: 300 });
    expect(gaveUp.head).toBeUndefined();
    expect(gaveUp.error?.code).toBe('CLIENT_TIMEOUT');
    expect(JSON.parse(await versionsOf('held')).value).toEqual([]);
  });

  it('stall with stallMs: the emulator resets the connection once the stall runs out', async () => {
    await arm({ match: { operation: 'get', secret: 'held-briefly' }, fault: 'stall', stallMs: 200, times: 1 });
    const cut = await send('GET', '/secrets/held-briefly/');
    expect(cut.head).toBeUndefined();
    expect(cut.error?.code).toBe('ECONNRESET');
  });

  it('validates the rules: no Retry-After for a connection fault, stallMs only for a stall', async () => {
    for (const [rule, message] of [
      [{ fault: 'reset', retryAfterSeconds: 1 }, "retryAfterSeconds applies to answers, not to a 'reset' fault."],
      [{ fault: 'throttled', stallMs: 10 }, "stallMs applies to 'stall' faults only."],
      [{ fault: 'stall', stallMs: 0 }, 'stallMs must be an integer from 1 to 600000.'],
      [{ fault: 'hangup' }, 'fault must be one of throttled, serviceUnavailable, internalError, reset, closeAfterHeaders, stall.'],
    ] as const) {
      const res = await arm(rule);
      expect(res.statusCode, JSON.stringify(rule)).toBe(400);
      expect(res.json()).toEqual({ error: { code: 'BadParameter', message } });
    }
    const listed = (await arm({ match: { secret: 'never' }, fault: 'stall' })).json();
    expect(listed).toMatchObject({ fault: 'stall', stallMs: 120_000, fired: 0 });
    await emu.app.inject({ method: 'DELETE', url: `/_emulator/faults/${listed.id}` });
  });

  it('closing the emulator does not wait for a held connection', async () => {
    const own = await testEmulator();
    await own.app.listen({ port: 0, host: '127.0.0.1' });
    const ownPort = (own.app.server.address() as { port: number }).port;
    await own.app.inject({ method: 'POST', url: '/_emulator/faults', payload: { fault: 'stall', stallMs: 600_000 } });
    const ownToken = await own.token();
    const held = new Promise<string | undefined>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: ownPort, path: `/secrets?${V}`, agent: false, headers: { host: 'x.vault.azure.net', authorization: `Bearer ${ownToken}` } });
      req.on('response', () => resolve('answered'));
      req.on('error', (error: Error & { code?: string }) => resolve(error.code));
      req.end();
    });
    // The request has reached the fault rule once the rule has fired.
    for (let i = 0; i < 200; i++) {
      const rules = (await own.app.inject({ method: 'GET', url: '/_emulator/faults' })).json().value as Array<{ fired: number }>;
      if (rules[0]!.fired > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    await own.app.close();
    expect(await held).toBe('ECONNRESET');
  });
});
