import type { SecretClient } from '@azure/keyvault-secrets';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, onEmulator, privateEmulator, skipReason, target, uniqueName } from '../support/target.js';

// Eventual consistency as the SDK meets it, the same tests on both targets: on Azure the changes propagate
// on their own (within seconds); on the emulator, one of this file's own started with --realistic, with its
// clock frozen, they propagate when the test moves the clock past their window (2 s), so no test sleeps.
// Where Azure's outcome depends on how fast it propagated, the test accepts either answer there and
// expects the emulator's one exactly.
const emulator = privateEmulator(['--realistic']);
const WINDOW_SECONDS = 2;

describe('realistic mode: deletes, recovers and purges propagate', () => {
  let kv: SecretClient;
  // The private emulator keeps nothing; a real vault is cleaned up.
  const track = onEmulator ? (name: string) => name : cleanupAfterAll(client());
  /** Emulator: moves the clock past the windows. Azure: nothing (its changes propagate by themselves). */
  const propagate = async () => {
    if (onEmulator) await emulator.admin('/clock', { method: 'PUT', body: { advanceSeconds: WINDOW_SECONDS } });
  };
  const innerCode = (error: unknown) => (error as { details?: { error?: { innerError?: { code?: string } } } }).details?.error?.innerError?.code;

  beforeAll(async () => {
    kv = client(onEmulator ? emulator.vaultUrl('realistic') : target.vaultUrl);
    if (onEmulator) await emulator.admin('/clock', { method: 'PUT', body: { frozen: true } });
  });

  it('beginDeleteSecret().pollUntilDone() completes once the delete has propagated', async () => {
    const name = track(uniqueName('rc-delete'));
    await kv.setSecret(name, 'v');
    const poller = await kv.beginDeleteSecret(name, { intervalInMs: 100 });
    // The poller's first look at the deleted secret found nothing yet.
    if (onEmulator) expect(poller.isDone()).toBe(false);
    const done = poller.pollUntilDone();
    await propagate();
    const deleted = await done;
    expect(deleted.name).toBe(name);
    expect(deleted.recoveryId).toMatch(new RegExp(`/deletedsecrets/${name}$`));
    expect((await kv.getDeletedSecret(name)).name).toBe(name);
  });

  it('a set right after a delete, without waiting, gets the 409 the service gives', async () => {
    const name = track(uniqueName('rc-reuse'));
    await kv.setSecret(name, 'v');
    await kv.beginDeleteSecret(name, { intervalInMs: 100 });
    const error = await kv.setSecret(name, 'again').catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 409, code: 'Conflict' });
    if (onEmulator) {
      expect(error).toMatchObject({ message: `Secret ${name} is currently being deleted and cannot be re-created; retry later.` });
      expect(innerCode(error)).toBe('ObjectIsBeingDeleted');
    } else {
      // Azure: still being deleted, or already deleted (then the name is held by the deleted secret).
      expect(['ObjectIsBeingDeleted', 'ObjectIsDeletedButRecoverable']).toContain(innerCode(error));
    }
    await propagate();
    // Once the delete has propagated, the deleted secret holds the name.
    const later = await kv.setSecret(name, 'again').catch((e: unknown) => e);
    expect(innerCode(later)).toBe('ObjectIsDeletedButRecoverable');
  });

  it('a purge right after a delete is refused while the delete is still in progress; a restore right after a purge, until it has propagated', async () => {
    const name = track(uniqueName('rc-purge'));
    await kv.setSecret(name, 'v');
    const backup = await kv.backupSecret(name);
    const poller = await kv.beginDeleteSecret(name, { intervalInMs: 100 });
    const early = await kv.purgeDeletedSecret(name).then(
      () => 'purged',
      (e: unknown) => e,
    );
    if (onEmulator || early !== 'purged') {
      expect(early).toMatchObject({ statusCode: 409, code: 'Conflict', message: 'Secret is currently being deleted.' });
      expect(innerCode(early)).toBe('ObjectIsBeingDeleted');
      const done = poller.pollUntilDone();
      await propagate();
      await done;
      await kv.purgeDeletedSecret(name);
    }
    const restore = await kv.restoreSecretBackup(backup!).catch((e: unknown) => e);
    if (onEmulator) {
      expect(restore).toMatchObject({ statusCode: 409, code: 'Conflict' });
      expect((restore as Error).message).toMatch(/^There was a conflict restoring the secret '.*\/secrets\/[^/]+\/[0-9a-f]{32}'\./);
      await propagate();
      expect((await kv.restoreSecretBackup(backup!)).name).toBe(name);
    } else if (restore instanceof Error) {
      expect(restore).toMatchObject({ statusCode: 409 });
    }
  });

  it('a recovered secret is not found until the recover has propagated; beginRecoverDeletedSecret().pollUntilDone() waits for it', async () => {
    const name = track(uniqueName('rc-recover'));
    await kv.setSecret(name, 'v');
    const deleting = (await kv.beginDeleteSecret(name, { intervalInMs: 100 })).pollUntilDone();
    await propagate();
    await deleting;
    const poller = await kv.beginRecoverDeletedSecret(name, { intervalInMs: 100 });
    if (onEmulator) {
      expect(poller.isDone()).toBe(false);
      await expect(kv.getSecret(name)).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
      const set = await kv.setSecret(name, 'new').catch((e: unknown) => e);
      expect(set).toMatchObject({ statusCode: 409, code: 'Conflict', message: `Secret ${name} is currently being recovered and cannot be re-created; retry later.` });
      expect(innerCode(set)).toBe('ObjectIsBeingRecovered');
    }
    const done = poller.pollUntilDone();
    await propagate();
    expect((await done).name).toBe(name);
    expect((await kv.getSecret(name)).value).toBe('v');
  });

  it.skipIf(skipReason('lists are checked at a point inside the window, which only the emulator clock can hold'))('lists show the view of the reads: deleted secrets appear once the delete has propagated', async () => {
    const name = uniqueName('rc-list');
    await kv.setSecret(name, 'v');
    await kv.beginDeleteSecret(name, { intervalInMs: 100 });
    const listed = async () => {
      const names: string[] = [];
      for await (const deleted of kv.listDeletedSecrets()) names.push(deleted.name);
      return names;
    };
    expect(await listed()).not.toContain(name);
    await propagate();
    expect(await listed()).toContain(name);
  });
});
