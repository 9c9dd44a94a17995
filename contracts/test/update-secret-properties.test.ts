import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, uniqueName } from '../support/target.js';

describe('updateSecretProperties', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('changes only what is given and returns no value', async () => {
    const name = track(uniqueName('update'));
    const created = await kv.setSecret(name, 'v', { contentType: 'text/plain', tags: { a: '1' } });
    const version = created.properties.version!;
    const expiresOn = new Date(Math.floor(Date.now() / 1000 + 3600) * 1000);
    const updated = await kv.updateSecretProperties(name, version, { expiresOn, tags: { b: '2' } });
    expect(updated.version).toBe(version);
    expect(updated.expiresOn?.getTime()).toBe(expiresOn.getTime());
    expect(updated.tags).toEqual({ b: '2' });
    expect(updated.contentType).toBe('text/plain');
    expect(updated.enabled).toBe(true);
    expect(updated.createdOn?.getTime()).toBe(created.properties.createdOn?.getTime());
    expect((updated as unknown as { value?: string }).value).toBeUndefined();
    const read = await kv.getSecret(name);
    expect(read.value).toBe('v');
    expect(read.properties.tags).toEqual({ b: '2' });
  });

  it('can disable and re-enable a version, and update a disabled one', async () => {
    const name = track(uniqueName('toggle'));
    const { properties } = await kv.setSecret(name, 'v');
    await kv.updateSecretProperties(name, properties.version!, { enabled: false });
    await expect(kv.getSecret(name)).rejects.toMatchObject({ statusCode: 403 });
    const again = await kv.updateSecretProperties(name, properties.version!, { enabled: true, contentType: 'x' });
    expect(again.enabled).toBe(true);
    expect((await kv.getSecret(name)).properties.contentType).toBe('x');
  });

  it('updates an older version without touching the latest', async () => {
    const name = track(uniqueName('older'));
    const first = await kv.setSecret(name, 'one');
    await kv.setSecret(name, 'two');
    await kv.updateSecretProperties(name, first.properties.version!, { enabled: false });
    expect((await kv.getSecret(name)).value).toBe('two');
    await expect(kv.getSecret(name, { version: first.properties.version! })).rejects.toMatchObject({ statusCode: 403 });
  });

  it('answers 404 for a missing secret', async () => {
    await expect(kv.updateSecretProperties(uniqueName('nothing'), '', { enabled: false })).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });
});
