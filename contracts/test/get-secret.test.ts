import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, uniqueName } from '../support/target.js';

describe('getSecret', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('reads the latest version, and any version by id', async () => {
    const name = track(uniqueName('get'));
    const first = await kv.setSecret(name, 'one');
    const second = await kv.setSecret(name, 'two');
    expect((await kv.getSecret(name)).value).toBe('two');
    const old = await kv.getSecret(name, { version: first.properties.version! });
    expect(old.value).toBe('one');
    expect(old.properties.version).toBe(first.properties.version);
    expect((await kv.getSecret(name, { version: second.properties.version! })).value).toBe('two');
  });

  it('answers 404 SecretNotFound for a missing name', async () => {
    const name = uniqueName('missing');
    const error = await kv.getSecret(name).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
    expect((error as Error).message).toBe(
      `A secret with (name/id) ${name} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182`,
    );
  });

  it('answers 404 SecretNotFound for a missing version of an existing secret', async () => {
    const name = track(uniqueName('noversion'));
    await kv.setSecret(name, 'v');
    const error = await kv.getSecret(name, { version: '0123456789abcdef0123456789abcdef' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('answers 403 SecretDisabled for a disabled latest version', async () => {
    const name = track(uniqueName('disabled'));
    await kv.setSecret(name, 'v', { enabled: false });
    const error = await kv.getSecret(name).catch((e: unknown) => e);
    expect(error).toMatchObject({ statusCode: 403, code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.' });
    expect((error as { details?: { error?: { innerError?: { code?: string } } } }).details?.error?.innerError?.code).toBe('SecretDisabled');
  });

  it('still reads expired and not-yet-valid secrets (nbf/exp are informational)', async () => {
    const name = track(uniqueName('expired'));
    const now = Date.now();
    await kv.setSecret(name, 'old', { expiresOn: new Date(now - 86_400_000), notBefore: new Date(now - 2 * 86_400_000) });
    const expired = await kv.getSecret(name);
    expect(expired.value).toBe('old');
    expect(expired.properties.expiresOn?.getTime()).toBe(Math.floor((now - 86_400_000) / 1000) * 1000);
    const future = track(uniqueName('future'));
    await kv.setSecret(future, 'later', { notBefore: new Date(now + 86_400_000) });
    expect((await kv.getSecret(future)).value).toBe('later');
  });

  it('matches names case-insensitively and keeps the creation casing', async () => {
    const name = track(uniqueName('MixedCase'));
    await kv.setSecret(name, 'v');
    const read = await kv.getSecret(name.toLowerCase());
    expect(read.value).toBe('v');
    expect(read.name).toBe(name);
  });
});
