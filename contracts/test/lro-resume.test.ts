import type { SecretClient } from '@azure/keyvault-secrets';
import { beforeAll, describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, onEmulator, privateEmulator, target, uniqueName } from '../support/target.js';

// Ports of the Azure SDK's own "can resume from a stopped poller" tests for delete and recover
// (azure-sdk-for-js sdk/keyvault/keyvault-secrets/test/public/lro.delete.spec.ts and lro.recover.spec.ts),
// written for this suite. They need the service's delay: a poller stopped before it completes must find
// the operation still under way. On the emulator that is realistic mode (an emulator of this file's own,
// --realistic, its clock frozen); the test moves the clock past the window instead of waiting for it.
const emulator = privateEmulator(['--realistic']);
/** The SDK's tests poll at the default interval live; a short one keeps this quick on either target. */
const pollerOptions = { intervalInMs: 100 };

describe('long-running operations resume from a stopped poller', () => {
  let kv: SecretClient;
  const track = onEmulator ? (name: string) => name : cleanupAfterAll(client());
  const propagate = async () => {
    if (onEmulator) await emulator.admin('/clock', { method: 'PUT', body: { advanceSeconds: 2 } });
  };

  beforeAll(async () => {
    kv = client(onEmulator ? emulator.vaultUrl('lro') : target.vaultUrl);
    if (onEmulator) await emulator.admin('/clock', { method: 'PUT', body: { frozen: true } });
  });

  it('delete: can resume from a stopped poller', async () => {
    const name = track(uniqueName('lroDelete-resume'));
    await kv.setSecret(name, 'value');
    const poller = await kv.beginDeleteSecret(name, pollerOptions);
    expect(poller.getOperationState().isStarted).toBe(true);

    const stopped = poller.pollUntilDone().catch((e: unknown) => e);
    poller.stopPolling();
    expect(poller.isStopped()).toBe(true);
    expect(poller.getOperationState().isCompleted).toBeFalsy();
    expect(await stopped).toMatchObject({ name: 'PollerStoppedError', message: 'This poller is already stopped' });

    const serialized = poller.toString();
    const resumePoller = await kv.beginDeleteSecret(name, { resumeFrom: serialized, ...pollerOptions });
    expect(resumePoller.getOperationState().isStarted).toBe(true);
    const done = resumePoller.pollUntilDone();
    await propagate();
    const deletedSecret = await done;
    expect(deletedSecret.name).toBe(name);
    expect(resumePoller.getOperationState().isCompleted).toBe(true);
  });

  it('recover: can resume from a stopped poller', async () => {
    const name = track(uniqueName('lroRecover-resume'));
    await kv.setSecret(name, 'value');
    const deletePoller = await kv.beginDeleteSecret(name, pollerOptions);
    const deleted = deletePoller.pollUntilDone();
    await propagate();
    await deleted;

    const poller = await kv.beginRecoverDeletedSecret(name, pollerOptions);
    expect(poller.getOperationState().isStarted).toBe(true);
    const stopped = poller.pollUntilDone().catch((e: unknown) => e);
    await poller.poll(); // as the SDK's test does: the poller has looked once more
    poller.stopPolling();
    expect(poller.isStopped()).toBe(true);
    expect(poller.getOperationState().isCompleted).toBeFalsy();
    expect(await stopped).toMatchObject({ name: 'PollerStoppedError', message: 'This poller is already stopped' });

    const serialized = poller.toString();
    const resumePoller = await kv.beginRecoverDeletedSecret(name, { resumeFrom: serialized, ...pollerOptions });
    expect(resumePoller.getOperationState().isStarted).toBe(true);
    const done = resumePoller.pollUntilDone();
    await propagate();
    const secretProperties = await done;
    expect(secretProperties.name).toBe(name);
    expect(resumePoller.getOperationState().isCompleted).toBe(true);
  });
});
