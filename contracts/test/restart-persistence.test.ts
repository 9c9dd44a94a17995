import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type StartedEmulator } from '../support/global-setup.js';
import { client, dataDirSharingKeys, skipReason, uniqueName } from '../support/target.js';

// Restarting is an emulator concern: the same data directory, another port, everything still there.
describe.skipIf(skipReason('restarts an emulator process on its data directory'))('persistence across restarts', () => {
  const dataDir = skipReason('') ? '' : dataDirSharingKeys();
  let running: StartedEmulator | undefined;
  afterAll(async () => {
    await running?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('reads back every secret, version and deleted secret on another port', async () => {
    running = await startEmulator([], dataDir);
    const firstPort = running.port;
    const kv = client(`https://persist.vault.localhost:${firstPort}`);
    const written = new Map<string, Array<{ version: string; value: string; enabled: boolean; tags?: Record<string, string> }>>();
    for (let s = 0; s < 4; s++) {
      const name = uniqueName(`keep${s}`);
      const versions = [];
      for (let v = 0; v < 3; v++) {
        const secret = await kv.setSecret(name, `value-${s}-${v}`, { enabled: v !== 1, tags: { v: String(v) } });
        versions.push({ version: secret.properties.version!, value: secret.value!, enabled: v !== 1, tags: { v: String(v) } });
      }
      written.set(name, versions);
    }
    const deletedName = uniqueName('deleted');
    const deletedVersion = (await kv.setSecret(deletedName, 'soon gone')).properties.version;
    const deleted = await (await kv.beginDeleteSecret(deletedName)).pollUntilDone();
    await running.stop();

    running = await startEmulator([], dataDir);
    expect(running.port).not.toBe(firstPort);
    const again = client(`https://persist.vault.localhost:${running.port}`);
    for (const [name, versions] of written) {
      const listed = [];
      for await (const item of again.listPropertiesOfSecretVersions(name)) listed.push(item);
      expect(listed.map((i) => i.version).sort()).toEqual(versions.map((v) => v.version).sort());
      for (const version of versions) {
        if (!version.enabled) {
          await expect(again.getSecret(name, { version: version.version })).rejects.toMatchObject({ statusCode: 403 });
          continue;
        }
        const read = await again.getSecret(name, { version: version.version });
        expect(read.value).toBe(version.value);
        expect(read.properties.tags).toEqual(version.tags);
        expect(read.properties.id).toBe(`https://persist.vault.localhost:${running.port}/secrets/${name}/${version.version}`);
      }
    }
    const readDeleted = await again.getDeletedSecret(deletedName);
    expect(readDeleted.properties.version).toBe(deletedVersion);
    expect(readDeleted.scheduledPurgeDate?.getTime()).toBe(deleted.scheduledPurgeDate?.getTime());
    expect(readDeleted.recoveryId).toBe(`https://persist.vault.localhost:${running.port}/deletedsecrets/${deletedName}`);
  });
});
