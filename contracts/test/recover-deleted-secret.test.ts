import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, onEmulator, uniqueName } from '../support/target.js';

describe('beginRecoverDeletedSecret', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('restores every version with its ids, attributes and tags', async () => {
    const name = track(uniqueName('recover'));
    const first = await kv.setSecret(name, 'one', { tags: { v: '1' }, contentType: 'a' });
    const second = await kv.setSecret(name, 'two', { tags: { v: '2' }, enabled: false });
    const third = await kv.setSecret(name, 'three');
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();

    const recovered = await (await kv.beginRecoverDeletedSecret(name, { intervalInMs: 500 })).pollUntilDone();
    expect(recovered.name).toBe(name);
    expect(recovered.version).toBe(third.properties.version);

    expect((await kv.getSecret(name)).value).toBe('three');
    const one = await kv.getSecret(name, { version: first.properties.version! });
    expect(one.value).toBe('one');
    expect(one.properties.tags).toEqual({ v: '1' });
    expect(one.properties.contentType).toBe('a');
    await expect(kv.getSecret(name, { version: second.properties.version! })).rejects.toMatchObject({ statusCode: 403 });
    const versions = [];
    for await (const v of kv.listPropertiesOfSecretVersions(name)) versions.push(v.version);
    expect(versions.sort()).toEqual([first, second, third].map((s) => s.properties.version).sort());
    await expect(kv.getDeletedSecret(name)).rejects.toMatchObject({ statusCode: 404 });
  });

  it('the recover poller is done when beginRecoverDeletedSecret returns (emulator: immediately consistent)', async () => {
    const name = track(uniqueName('quickrecover'));
    await kv.setSecret(name, 'v');
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    const poller = await kv.beginRecoverDeletedSecret(name);
    if (onEmulator) expect(poller.isDone()).toBe(true);
    expect((await poller.pollUntilDone()).name).toBe(name);
  });

  it('answers 404 SecretNotFound for a name that is not deleted', async () => {
    await expect(kv.beginRecoverDeletedSecret(uniqueName('neverdeleted'))).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });
});
