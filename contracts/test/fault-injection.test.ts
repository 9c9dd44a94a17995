import { afterEach, describe, expect, it } from 'vitest';
import { admin, cleanupAfterAll, client, skipReason, uniqueName } from '../support/target.js';

// Throttling and outages are armed through the emulator's admin API; Azure cannot be told to throttle.
describe.skipIf(skipReason('faults are armed through the emulator admin API'))('fault injection seen by the SDK', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);
  afterEach(() => admin('/faults', { method: 'DELETE' }));

  it('a 429 without Retry-After surfaces at once as RestError Throttled, as on Azure', async () => {
    const name = track(uniqueName('throttled'));
    await kv.setSecret(name, 'v');
    await admin('/faults', { method: 'POST', body: { match: { operation: 'get', secret: name }, fault: 'throttled', times: 1 } });
    await expect(kv.getSecret(name)).rejects.toMatchObject({ statusCode: 429, code: 'Throttled' });
    expect((await kv.getSecret(name)).value).toBe('v');
  });

  it('a 429 with Retry-After is retried by the SDK and succeeds', async () => {
    const name = track(uniqueName('retried'));
    await kv.setSecret(name, 'v');
    await admin('/faults', { method: 'POST', body: { match: { operation: 'get', secret: name }, fault: 'throttled', times: 2, retryAfterSeconds: 0 } });
    expect((await kv.getSecret(name)).value).toBe('v');
    expect(await admin<{ value: unknown[] }>('/faults')).toEqual({ value: [] });
  });
});
