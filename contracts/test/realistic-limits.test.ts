import type { SecretClient } from '@azure/keyvault-secrets';
import { beforeAll, describe, expect, it } from 'vitest';
import { client, privateEmulator, skipReason, uniqueName } from '../support/target.js';

// The service's request limits and latency as the SDK meets them, on an emulator of this file's own
// started with --realistic (its limits scaled down through the admin API so a few requests reach them,
// its clock frozen and moved by the tests). A real vault is not throttled on demand: emulator only.
const emulator = privateEmulator(['--realistic']);
const THROTTLED = 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached';

interface RealismState {
  limits: { perVault: { setSecret: number; other: number }; perSubscription: { other: number } };
  stats: { throttled: number; delayed: number; delayedMs: number };
}

describe.skipIf(skipReason('request limits and latency are set through the emulator admin API'))('realistic mode: request limits and latency', () => {
  const realism = (body?: unknown) =>
    emulator.admin<RealismState>('/realism', body === undefined ? {} : { method: 'PATCH', body });
  const clock = (body: unknown) => emulator.admin('/clock', { method: 'PUT', body });
  let kv: SecretClient;

  beforeAll(async () => {
    kv = client(emulator.vaultUrl('limited'));
    // 0.001 of the published limits: 1 set and 4 other requests per 10 s per vault, 20 others per subscription.
    const state = await realism({ limits: { scale: 0.001 } });
    expect(state.limits.perVault).toEqual({ setSecret: 1, other: 4 });
    expect(state.limits.perSubscription.other).toBe(20);
    await clock({ frozen: true });
  });

  it('without Retry-After (the service often sends none), the SDK surfaces the 429 at once', async () => {
    const name = uniqueName('limited');
    await kv.setSecret(name, 'v');
    await expect(kv.setSecret(name, 'again')).rejects.toMatchObject({ statusCode: 429, code: 'Throttled', message: THROTTLED });
    for (let i = 0; i < 4; i++) expect((await kv.getSecret(name)).value).toBe('v');
    const before = (await realism()).stats.throttled;
    await expect(kv.getSecret(name)).rejects.toMatchObject({ statusCode: 429, code: 'Throttled', message: THROTTLED });
    // One 429, no retry.
    expect((await realism()).stats.throttled).toBe(before + 1);
    await clock({ advanceSeconds: 10 });
    expect((await kv.getSecret(name)).value).toBe('v');
  });

  it('with Retry-After, the SDK waits as told and retries, and gets its answer', async () => {
    await realism({ limits: { retryAfter: true } });
    // A fresh window starting on a whole second, so that 9 s on the 429 says "Retry-After: 1".
    const { nowEpochSeconds } = await emulator.admin<{ nowEpochSeconds: number }>('/clock');
    await clock({ now: nowEpochSeconds + 60, frozen: true });
    const name = uniqueName('retried');
    await kv.setSecret(name, 'v');
    for (let i = 0; i < 4; i++) await kv.getSecret(name);
    await clock({ advanceSeconds: 9 });
    const before = (await realism()).stats.throttled;
    const answer = kv.getSecret(name);
    // Once the 429 is out, the window passes while the SDK waits out its Retry-After.
    for (let i = 0; i < 500 && (await realism()).stats.throttled === before; i++) await new Promise((r) => setTimeout(r, 10));
    await clock({ advanceSeconds: 1 });
    expect((await answer).value).toBe('v');
    expect((await realism()).stats.throttled).toBeGreaterThan(before);
    await realism({ limits: { retryAfter: false } });
  });

  it('the subscription limit counts the requests to every vault of the emulator', async () => {
    await clock({ advanceSeconds: 10 });
    for (const vault of ['sub1', 'sub2', 'sub3', 'sub4', 'sub5']) {
      const other = client(emulator.vaultUrl(vault));
      for (let i = 0; i < 4; i++) for await (const _ of other.listPropertiesOfSecrets()) void _;
    }
    const sixth = client(emulator.vaultUrl('sub6'));
    await expect(sixth.getSecret('anything')).rejects.toMatchObject({ statusCode: 429, code: 'Throttled' });
    await clock({ advanceSeconds: 10 });
    await expect(sixth.getSecret('anything')).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('latency holds the operations it names, as the SDK calls them', async () => {
    await clock({ advanceSeconds: 10 });
    await realism({ limits: { enabled: false }, latency: { get: { p50Ms: 5, p99Ms: 5 } } });
    const name = uniqueName('slow');
    await kv.setSecret(name, 'v');
    const before = (await realism()).stats;
    for (let i = 0; i < 3; i++) expect((await kv.getSecret(name)).value).toBe('v');
    const after = (await realism()).stats;
    expect(after.delayed - before.delayed).toBe(3);
    expect(after.delayedMs - before.delayedMs).toBe(15);
    await realism({ limits: { enabled: true }, latency: null });
  });
});
