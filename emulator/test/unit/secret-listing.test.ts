// Lists read each secret's stored `listing` (store/database.ts, migrations 3 and 4), written by the
// repository with each new latest version and by a trigger on updates of the latest version: after
// every kind of write, a list item must say exactly what a get of the secret says (but the value), and a
// data directory written before the listing existed must list the same after the upgrade.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JweBackupSealer } from '../../src/backup/jwe-sealer.js';
import { MIGRATIONS, openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { SqliteSecretRepository, SqliteVaultRepository } from '../../src/store/secret-repository.js';
import { ControllableClock } from '../../src/vault/clock.js';
import type { Secret, Vault } from '../../src/vault/model.js';
import { SecretService } from '../../src/vault/secrets.js';
import { VaultService } from '../../src/vault/vaults.js';

const T0 = Date.parse('2030-06-01T00:00:00Z');
let clock: ControllableClock;
let db: SqliteDatabase;
let secrets: SecretService;
let vault: Vault;

function services(database: SqliteDatabase): { secrets: SecretService; vaults: VaultService } {
  return {
    vaults: new VaultService({ vaults: new SqliteVaultRepository(database), clock, strict: false }),
    secrets: new SecretService({ secrets: new SqliteSecretRepository(database), clock, sealer: new JweBackupSealer(randomBytes(32)), region: 'westus' }),
  };
}

/** What a list item shows of a secret: everything but the value. */
const shown = ({ head, version }: Secret) => ({
  name: head.name,
  managed: head.managed,
  kid: head.kid,
  deleted: head.deleted,
  version: { ...version, value: undefined },
});

/** Every active secret as listed, page by page, and as a get of its latest version shows it (a disabled one cannot be got). */
function listedAndGot(service: SecretService, target: Vault) {
  const listed: Secret[] = [];
  let after: string | undefined;
  do {
    const page = service.listSecrets(target, { maxResults: 2, ...(after !== undefined && { after }) });
    listed.push(...page.items);
    after = page.continueAfter;
  } while (after !== undefined);
  return {
    listed: listed.map(shown),
    got: listed.map((s) => (s.version.attributes.enabled ? shown(service.getSecret(target, s.head.name)) : undefined)),
  };
}

/** Every stored listing is the array SQL builds from the secret and its latest version (migration 3's json_array). */
function expectListingsAsBuiltInSql(database: SqliteDatabase) {
  const rows = database
    .prepare(
      `SELECT s.listing AS stored, json_array(s.name, s.name_key, s.latest_version, s.managed, s.kid, v.version, v.content_type, json(v.tags), v.enabled, v.nbf, v.exp, v.created, v.updated) AS built
        FROM secrets s JOIN versions v ON v.vault = s.vault AND v.name_key = s.name_key AND v.version = s.latest_version`,
    )
    .all() as Array<{ stored: string; built: string }>;
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) expect(JSON.parse(row.stored)).toEqual(JSON.parse(row.built));
}

beforeEach(() => {
  clock = new ControllableClock(() => T0);
  clock.freeze(T0);
  db = openDatabase({});
  const built = services(db);
  secrets = built.secrets;
  vault = built.vaults.create('listing', { retentionDays: 7 });
});

afterEach(() => db.close());

describe('the stored listing of a secret', () => {
  it('follows sets, updates of the latest version, deletes, recovers, restores and purges', async () => {
    secrets.setSecret(vault, 'Alpha', { value: 'a1', contentType: 'text/plain', tags: { env: 'dev' } });
    const old = secrets.setSecret(vault, 'beta', { value: 'b1' });
    clock.advance(1000);
    secrets.setSecret(vault, 'BETA', { value: 'b2', attributes: { exp: T0 / 1000 + 3600 } });
    secrets.setSecret(vault, 'gamma', { value: 'g1' });
    secrets.setSecret(vault, 'delta', { value: 'd1' });
    let { listed, got } = listedAndGot(secrets, vault);
    expect(listed.map((s) => s.name)).toEqual(['Alpha', 'beta', 'delta', 'gamma']);
    expect(listed).toEqual(got);
    expectListingsAsBuiltInSql(db);

    // An update of the latest version shows; an update of an older one does not change the item.
    clock.advance(1000);
    secrets.updateSecret(vault, 'alpha', '', { tags: { env: 'prod' }, contentType: 'application/json', attributes: { enabled: false, nbf: 1 } });
    secrets.updateSecret(vault, 'beta', old.version.version, { tags: { old: 'yes' } });
    ({ listed, got } = listedAndGot(secrets, vault));
    expect(listed[0]!.version.tags).toEqual({ env: 'prod' });
    expect(listed[0]!.version.attributes.enabled).toBe(false);
    expect(listed[1]!.version.tags).toBeUndefined();
    // A disabled secret cannot be got: compare the others, and the disabled one field by field.
    expect(listed.slice(1)).toEqual(got.slice(1));
    expect(listed[0]!.version).toMatchObject({ contentType: 'application/json', attributes: { enabled: false, nbf: 1, updated: T0 / 1000 + 2 } });
    expectListingsAsBuiltInSql(db);

    // Deleted secrets leave the list and show in the deleted list with their deletion dates; recovered ones come back.
    secrets.deleteSecret(vault, 'gamma');
    secrets.deleteSecret(vault, 'delta');
    expect(secrets.listSecrets(vault, {}).items.map((s) => s.head.name)).toEqual(['Alpha', 'beta']);
    const deleted = secrets.listDeletedSecrets(vault, {}).items;
    expect(deleted.map((s) => [s.head.name, s.head.deleted])).toEqual([
      ['delta', { deletedDate: T0 / 1000 + 2, scheduledPurgeDate: T0 / 1000 + 2 + 7 * 86_400 }],
      ['gamma', { deletedDate: T0 / 1000 + 2, scheduledPurgeDate: T0 / 1000 + 2 + 7 * 86_400 }],
    ]);
    expect(deleted.map(shown)).toEqual(deleted.map((s) => shown(secrets.getDeletedSecret(vault, s.head.name))));
    secrets.recoverDeletedSecret(vault, 'gamma');
    secrets.purgeDeletedSecret(vault, 'delta');
    expect(secrets.listDeletedSecrets(vault, {}).items).toEqual([]);

    // A restored secret lists like the one backed up.
    const blob = await secrets.backupSecret(vault, 'beta');
    const before = shown(secrets.listSecrets(vault, {}).items.find((s) => s.head.name === 'beta')!);
    secrets.deleteSecret(vault, 'beta');
    secrets.purgeDeletedSecret(vault, 'beta');
    await secrets.restoreSecret(vault, blob, () => 'unused');
    ({ listed, got } = listedAndGot(secrets, vault));
    expect(listed.find((s) => s.name === 'beta')).toEqual(before);
    expect(listed.map((s) => s.name)).toEqual(['Alpha', 'beta', 'gamma']);
    expect(listed.slice(1)).toEqual(got.slice(1));
    expectListingsAsBuiltInSql(db);

    // A certificate-backed secret lists as managed, with its key id, and keeps doing so when replaced.
    secrets.seedManagedSecret(vault, { name: 'Cert', value: 'pfx', kid: 'https://listing.vault.azure.net/keys/Cert/1' });
    secrets.seedManagedSecret(vault, { name: 'cert', value: 'pfx2', kid: 'https://listing.vault.azure.net/keys/cert/2', tags: { t: '1' } });
    ({ listed, got } = listedAndGot(secrets, vault));
    const cert = listed.find((s) => s.name === 'cert');
    expect(cert).toMatchObject({ managed: true, kid: 'https://listing.vault.azure.net/keys/cert/2', version: { tags: { t: '1' } } });
    expect(listed.slice(1)).toEqual(got.slice(1));
    expectListingsAsBuiltInSql(db);

    // A vault imported from its export lists the same, its deleted secrets included.
    secrets.deleteSecret(vault, 'gamma');
    const exported = secrets.exportVault(vault);
    const listedBefore = listedAndGot(secrets, vault).listed;
    const deletedBefore = secrets.listDeletedSecrets(vault, {}).items.map(shown);
    secrets.importVault(vault, exported);
    expect(listedAndGot(secrets, vault).listed).toEqual(listedBefore);
    expect(secrets.listDeletedSecrets(vault, {}).items.map(shown)).toEqual(deletedBefore);
    expect(deletedBefore.map((s) => s.name)).toEqual(['gamma']);
    expectListingsAsBuiltInSql(db);
  });

  it('is built for secrets stored before it existed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-listing-'));
    try {
      const file = join(dir, 'emulator.db');
      // A data directory at schema 2, as the previous release wrote it.
      const old = new Database(file);
      old.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
      old.exec(MIGRATIONS[0]!);
      old.exec(MIGRATIONS[1]!);
      old.exec("INSERT INTO meta (key, value) VALUES ('schema_version', '2')");
      old.exec(`INSERT INTO vaults VALUES ('listing', 7, 0, 'rbac', 0);
        INSERT INTO secrets (vault, name_key, name, latest_version, managed, kid) VALUES ('listing', 'one', 'One', 'v2', 0, NULL), ('listing', 'two', 'two', 'w1', 1, 'https://kid');
        INSERT INTO versions (vault, name_key, version, value, content_type, tags, enabled, nbf, exp, created, updated) VALUES
          ('listing', 'one', 'v1', 'old', NULL, NULL, 1, NULL, NULL, 10, 10),
          ('listing', 'one', 'v2', 'new', 'text/plain', '{"a":"b"}', 1, 5, 99, 20, 30),
          ('listing', 'two', 'w1', 'x', NULL, NULL, 0, NULL, NULL, 40, 40);`);
      old.close();

      const upgraded = openDatabase({ file });
      try {
        const repo = new SqliteSecretRepository(upgraded);
        const page = repo.listSecrets('listing', { limit: 25 });
        expect(page.items.map(({ head, version }) => ({ head, version }))).toEqual([
          {
            head: { name: 'One', latestVersion: 'v2', managed: false },
            version: { name: 'One', version: 'v2', value: '', contentType: 'text/plain', tags: { a: 'b' }, attributes: { enabled: true, nbf: 5, exp: 99, created: 20, updated: 30 } },
          },
          {
            head: { name: 'two', latestVersion: 'w1', managed: true, kid: 'https://kid' },
            version: { name: 'two', version: 'w1', value: '', attributes: { enabled: false, created: 40, updated: 40 } },
          },
        ]);
        expect(upgraded.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe(String(MIGRATIONS.length));
        // Lists page through the primary key; the partial indexes no query used are gone (migration 9).
        expect(upgraded.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'secrets' AND sql IS NOT NULL").pluck().all()).toEqual(['secrets_purge']);
      } finally {
        upgraded.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
