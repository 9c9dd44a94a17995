import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, uniqueName } from '../support/target.js';

describe('listPropertiesOfSecrets', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('lists each secret once, latest version metadata, base ids, across pages', async () => {
    const prefix = uniqueName('list');
    const names = [0, 1, 2, 3, 4].map((i) => track(`${prefix}-${i}`));
    for (const name of names) await kv.setSecret(name, 'a');
    await kv.setSecret(names[0]!, 'b', { enabled: false, tags: { latest: 'yes' } });

    const seen = new Map<string, { id?: string; enabled?: boolean; tags?: Record<string, string>; version?: string }>();
    let pages = 0;
    for await (const page of kv.listPropertiesOfSecrets().byPage({ maxPageSize: 2 })) {
      pages += 1;
      expect(page.length).toBeLessThanOrEqual(2);
      for (const item of page) if (item.name.startsWith(prefix)) seen.set(item.name, item);
    }
    expect([...seen.keys()].sort()).toEqual(names);
    expect(pages).toBeGreaterThanOrEqual(3);
    const first = seen.get(names[0]!)!;
    expect(first.enabled).toBe(false);
    expect(first.tags).toEqual({ latest: 'yes' });
    expect(first.version).toBeUndefined();
    expect(first.id).toMatch(new RegExp(`/secrets/${names[0]}$`));
  });

  it('does not list deleted secrets', async () => {
    const name = track(uniqueName('gone'));
    await kv.setSecret(name, 'a');
    await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    const names: string[] = [];
    for await (const item of kv.listPropertiesOfSecrets()) names.push(item.name);
    expect(names).not.toContain(name);
  });
});
