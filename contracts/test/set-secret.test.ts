import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, target, uniqueName } from '../support/target.js';

describe('setSecret', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('creates a version and returns the value, id and attributes', async () => {
    const name = track(uniqueName('set'));
    const secret = await kv.setSecret(name, 'v1', { contentType: 'text/plain', tags: { team: 'core' } });
    expect(secret.value).toBe('v1');
    expect(secret.name).toBe(name);
    expect(secret.properties.vaultUrl).toBe(target.vaultUrl);
    expect(secret.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(secret.properties.contentType).toBe('text/plain');
    expect(secret.properties.tags).toEqual({ team: 'core' });
    expect(secret.properties.enabled).toBe(true);
  });
});
