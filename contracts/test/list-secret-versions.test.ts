import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, uniqueName } from '../support/target.js';

describe('listPropertiesOfSecretVersions', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('lists every version, enabled or not, with versioned ids and no values', async () => {
    const name = track(uniqueName('versions'));
    const versions: string[] = [];
    for (let i = 0; i < 5; i++) versions.push((await kv.setSecret(name, `v${i}`, { enabled: i !== 2 })).properties.version!);
    const listed: Array<{ version?: string; enabled?: boolean; id?: string }> = [];
    for await (const page of kv.listPropertiesOfSecretVersions(name).byPage({ maxPageSize: 2 })) listed.push(...page);
    expect(listed.map((v) => v.version).sort()).toEqual([...versions].sort());
    expect(listed.find((v) => v.version === versions[2])?.enabled).toBe(false);
    for (const item of listed) {
      expect(item.id).toMatch(new RegExp(`/secrets/${name}/${item.version}$`));
      expect((item as { value?: string }).value).toBeUndefined();
    }
  });

  it('lists nothing for a name that does not exist', async () => {
    const listed = [];
    for await (const item of kv.listPropertiesOfSecretVersions(uniqueName('none'))) listed.push(item);
    expect(listed).toEqual([]);
  });
});
