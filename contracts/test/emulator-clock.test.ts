import { afterEach, describe, expect, it } from 'vitest';
import { client, privateEmulator, skipReason, uniqueName } from '../support/target.js';

// The emulator clock moves through the admin API; this file uses an emulator of its own so moving its
// clock cannot disturb other test files.
describe.skipIf(skipReason('the clock is an emulator control (PUT /_emulator/clock)'))('emulator clock', () => {
  const emulator = privateEmulator();
  afterEach(() => emulator.admin('/clock', { method: 'PUT', body: { reset: true } }));

  it('stamps created/updated from the frozen clock', async () => {
    const at = Date.parse('2030-01-02T03:04:05Z');
    const clock = await emulator.admin<{ nowEpochSeconds: number; frozen: boolean }>('/clock', { method: 'PUT', body: { now: at, frozen: true } });
    expect(clock).toMatchObject({ nowEpochSeconds: at / 1000, frozen: true });
    const kv = client(emulator.vaultUrl('clocked'));
    const secret = await kv.setSecret(uniqueName('stamped'), 'v');
    expect(secret.properties.createdOn?.toISOString()).toBe('2030-01-02T03:04:05.000Z');
    expect(secret.properties.updatedOn?.toISOString()).toBe('2030-01-02T03:04:05.000Z');
  });

  it('purges a soft-deleted secret once the clock passes its scheduled purge date', async () => {
    await emulator.admin('/vaults', { method: 'POST', body: { name: 'retention7', softDeleteRetentionInDays: 7 } });
    const kv = client(emulator.vaultUrl('retention7'));
    const name = uniqueName('expiring');
    await kv.setSecret(name, 'v');
    const deleted = await (await kv.beginDeleteSecret(name, { intervalInMs: 100 })).pollUntilDone();
    expect(deleted.scheduledPurgeDate!.getTime() - deleted.deletedOn!.getTime()).toBe(7 * 86_400_000);

    await emulator.admin('/clock', { method: 'PUT', body: { advanceSeconds: 6 * 86_400 } });
    await expect(kv.getDeletedSecret(name)).resolves.toMatchObject({ name });

    await emulator.admin('/clock', { method: 'PUT', body: { advanceSeconds: 2 * 86_400 } });
    await expect(kv.getDeletedSecret(name)).rejects.toMatchObject({ statusCode: 404 });
    const listed: string[] = [];
    for await (const item of kv.listDeletedSecrets()) listed.push(item.name);
    expect(listed).not.toContain(name);
    // The name is free again, and moving the clock back does not bring the purged secret back.
    await emulator.admin('/clock', { method: 'PUT', body: { reset: true } });
    await expect(kv.getDeletedSecret(name)).rejects.toMatchObject({ statusCode: 404 });
    await expect(kv.setSecret(name, 'new')).resolves.toMatchObject({ value: 'new' });
  });

  it('moves backwards and reports secrets against the moved clock', async () => {
    const kv = client(emulator.vaultUrl('clocked'));
    await emulator.admin('/clock', { method: 'PUT', body: { offsetSeconds: -365 * 86_400 } });
    const secret = await kv.setSecret(uniqueName('past'), 'v');
    const ageDays = (Date.now() - secret.properties.createdOn!.getTime()) / 86_400_000;
    expect(Math.round(ageDays)).toBe(365);
  });
});
