import { afterEach, describe, expect, it } from 'vitest';
import { admin, cleanupAfterAll, client, skipReason, uniqueName } from '../support/target.js';

// Broken connections are fault rules armed through the emulator's admin API; a real vault cannot be told
// to reset a connection. Rules match one secret each, so other files sharing the emulator are not hit.
describe.skipIf(skipReason('connection faults are armed through the emulator admin API'))('broken connections seen by the SDK', () => {
  // Short retry delays keep the SDK's retries quick; the policy is the SDK's own.
  const kv = client(undefined, { retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 50 } });
  const track = cleanupAfterAll(kv);
  const rules = async () => (await admin<{ value: Array<{ match: { secret?: string }; fired: number }> }>('/faults')).value;
  afterEach(async () => {
    for (const rule of (await admin<{ value: Array<{ id: string; match: { secret?: string } }> }>('/faults')).value) {
      if (rule.match.secret?.startsWith('conn-')) await admin(`/faults/${rule.id}`, { method: 'DELETE' });
    }
  });

  it('a connection reset before the answer is retried by the SDK, which then succeeds', async () => {
    const name = track(uniqueName('conn-reset'));
    await kv.setSecret(name, 'v');
    await admin('/faults', { method: 'POST', body: { match: { operation: 'get', secret: name }, fault: 'reset', times: 2 } });
    expect((await kv.getSecret(name)).value).toBe('v');
    // Both resets were met (the rule counted down and went away).
    expect((await rules()).filter((r) => r.match.secret === name)).toEqual([]);
  });

  it('a connection cut after the headers of a set: the SDK reports an unreadable answer, yet the secret was written', async () => {
    const name = track(uniqueName('conn-cut'));
    await admin('/faults', { method: 'POST', body: { match: { operation: 'set', secret: name }, fault: 'closeAfterHeaders', times: 1 } });
    // The SDK retries failed connections, not an answer whose body broke off: it surfaces the error.
    const error = await kv.setSecret(name, 'v').catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'RestError', code: 'PARSE_ERROR', message: 'Error reading response as text: aborted' });
    // The operation ran before the connection was cut: an application that retries makes a second version.
    expect((await kv.getSecret(name)).value).toBe('v');
    await kv.setSecret(name, 'v');
    const versions: string[] = [];
    for await (const version of kv.listPropertiesOfSecretVersions(name)) versions.push(version.version!);
    expect(versions).toHaveLength(2);
  });

  it('a stalled answer: the SDK gives up at the timeout it was given, and nothing was written', async () => {
    const name = track(uniqueName('conn-stall'));
    await admin('/faults', { method: 'POST', body: { match: { operation: 'set', secret: name }, fault: 'stall', times: 1 } });
    const error = await kv.setSecret(name, 'v', { abortSignal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
    await expect(kv.getSecret(name)).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('a stall the emulator ends (stallMs) resets the connection, and the SDK retries', async () => {
    const name = track(uniqueName('conn-stall-ends'));
    await kv.setSecret(name, 'v');
    await admin('/faults', { method: 'POST', body: { match: { operation: 'get', secret: name }, fault: 'stall', stallMs: 100, times: 1 } });
    expect((await kv.getSecret(name)).value).toBe('v');
  });
});
