import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, onEmulator, uniqueName } from '../support/target.js';

describe('beginDeleteSecret', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('soft-deletes all versions and returns the deleted secret with its recovery id', async () => {
    const name = track(uniqueName('delete'));
    await kv.setSecret(name, 'one');
    const latest = await kv.setSecret(name, 'two');
    const poller = await kv.beginDeleteSecret(name, { intervalInMs: 500 });
    const deleted = await poller.pollUntilDone();
    expect(deleted.name).toBe(name);
    expect(deleted.properties.version).toBe(latest.properties.version);
    expect(deleted.recoveryId).toMatch(new RegExp(`/deletedsecrets/${name}$`));
    expect(deleted.deletedOn).toBeInstanceOf(Date);
    const days = (deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime()) / 86_400_000;
    expect(days).toBe(deleted.properties.recoverableDays);
    expect(deleted.value).toBeUndefined();
    await expect(kv.getSecret(name)).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
    const readBack = await kv.getDeletedSecret(name);
    expect(readBack.recoveryId).toBe(deleted.recoveryId);
  });

  it('the delete poller is done when beginDeleteSecret returns, with no poll interval to wait (emulator: immediately consistent)', async () => {
    const name = track(uniqueName('quick'));
    await kv.setSecret(name, 'v');
    const poller = await kv.beginDeleteSecret(name);
    // Azure is eventually consistent: its first poll may still see 404, so only the emulator promises this.
    if (onEmulator) expect(poller.isDone()).toBe(true);
    expect((await poller.pollUntilDone()).name).toBe(name);
  });

  it('answers 404 SecretNotFound for a missing secret', async () => {
    await expect(kv.beginDeleteSecret(uniqueName('absent'))).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('refuses to reuse a soft-deleted name with 409 ObjectIsDeletedButRecoverable', async () => {
    const name = track(uniqueName('reuse'));
    await kv.setSecret(name, 'v');
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    const error = await kv.setSecret(name, 'again').catch((e: unknown) => e);
    expect(error).toMatchObject({
      statusCode: 409,
      code: 'Conflict',
      message: `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
    });
    expect((error as { details?: { error?: { innerError?: { code?: string } } } }).details?.error?.innerError?.code).toBe('ObjectIsDeletedButRecoverable');
  });
});
