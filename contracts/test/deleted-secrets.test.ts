import { describe, expect, it } from 'vitest';
import { cleanupAfterAll, client, uniqueName } from '../support/target.js';

describe('getDeletedSecret and listDeletedSecrets', () => {
  const kv = client();
  const track = cleanupAfterAll(kv);

  it('reads a deleted secret: recovery id, dates, latest version id, no value', async () => {
    const name = track(uniqueName('deleted'));
    const created = await kv.setSecret(name, 'v', { contentType: 'text/plain' });
    const deleted = await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    const read = await kv.getDeletedSecret(name);
    expect(read.name).toBe(name);
    expect(read.properties.version).toBe(created.properties.version);
    expect(read.properties.contentType).toBe('text/plain');
    expect(read.deletedOn?.getTime()).toBe(deleted.deletedOn?.getTime());
    expect(read.scheduledPurgeDate?.getTime()).toBe(deleted.scheduledPurgeDate?.getTime());
    expect(read.value).toBeUndefined();
  });

  it('answers 404 "Deleted Secret not found" for a name that is not deleted', async () => {
    const name = uniqueName('notdeleted');
    await expect(kv.getDeletedSecret(name)).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound', message: `Deleted Secret not found: ${name}` });
  });

  it('lists deleted secrets across pages', async () => {
    const prefix = uniqueName('dlist');
    const names = [0, 1, 2].map((i) => track(`${prefix}-${i}`));
    for (const name of names) {
      await kv.setSecret(name, 'v');
      await (await kv.beginDeleteSecret(name, { intervalInMs: 500 })).pollUntilDone();
    }
    const seen: string[] = [];
    for await (const page of kv.listDeletedSecrets().byPage({ maxPageSize: 1 })) {
      expect(page.length).toBeLessThanOrEqual(1);
      for (const item of page) {
        if (item.name.startsWith(prefix)) {
          seen.push(item.name);
          expect(item.recoveryId).toMatch(new RegExp(`/deletedsecrets/${item.name}$`));
          expect(item.scheduledPurgeDate).toBeInstanceOf(Date);
        }
      }
    }
    expect(seen.sort()).toEqual(names);
  });
});
