// The secrets domain with a controllable clock and a real SQLite store in memory.
import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { JweBackupSealer } from '../../src/backup/jwe-sealer.js';
import { KvError } from '../../src/errors.js';
import { openDatabase } from '../../src/store/database.js';
import { SqliteSecretRepository, SqliteVaultRepository } from '../../src/store/secret-repository.js';
import { ControllableClock } from '../../src/vault/clock.js';
import type { Vault } from '../../src/vault/model.js';
import { SecretService } from '../../src/vault/secrets.js';
import { VaultService } from '../../src/vault/vaults.js';

const T0 = Date.parse('2030-06-01T00:00:00Z');
const DAY = 86_400_000;
let clock: ControllableClock;
let secrets: SecretService;
let vaults: VaultService;
let vault: Vault;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof KvError) return `${error.code}${error.innerCode ? `/${error.innerCode}` : ''}`;
    throw error;
  }
  return 'ok';
}

beforeEach(() => {
  clock = new ControllableClock(() => T0);
  clock.freeze(T0);
  const db = openDatabase({});
  vaults = new VaultService({ vaults: new SqliteVaultRepository(db), clock, strict: false });
  secrets = new SecretService({ secrets: new SqliteSecretRepository(db), clock, sealer: new JweBackupSealer(randomBytes(32)), region: 'westus' });
  vault = vaults.create('unit', { retentionDays: 7 });
});

describe('versions', () => {
  it('each set adds a version that becomes the latest, even when disabled', () => {
    const a = secrets.setSecret(vault, 'S', { value: 'a' });
    clock.advance(1000);
    const b = secrets.setSecret(vault, 's', { value: 'b', attributes: { enabled: false } });
    expect(b.version.version).not.toBe(a.version.version);
    expect(b.version.name).toBe('S');
    expect(code(() => secrets.getSecret(vault, 's'))).toBe('Forbidden/SecretDisabled');
    expect(secrets.getSecret(vault, 's', a.version.version).version.value).toBe('a');
    expect(secrets.listSecretVersions(vault, 'S', {}).items).toHaveLength(2);
  });

  it('stamps created and updated from the clock; update bumps updated only', () => {
    const created = secrets.setSecret(vault, 'x', { value: 'v', tags: { a: '1' } });
    expect(created.version.attributes.created).toBe(T0 / 1000);
    clock.advance(60_000);
    const updated = secrets.updateSecret(vault, 'x', '', { attributes: {} });
    expect(updated.version.attributes).toMatchObject({ enabled: true, created: T0 / 1000, updated: T0 / 1000 + 60 });
    expect(updated.version.tags).toEqual({ a: '1' });
    const retagged = secrets.updateSecret(vault, 'x', '', { tags: { b: '2' }, attributes: { exp: 123 } });
    expect(retagged.version.tags).toEqual({ b: '2' });
    expect(retagged.version.attributes.exp).toBe(123);
  });

  it('a new version copies nothing from the previous one', () => {
    secrets.setSecret(vault, 'fresh', { value: 'a', contentType: 'c', tags: { t: '1' }, attributes: { exp: 99 } });
    const next = secrets.setSecret(vault, 'fresh', { value: 'b' });
    expect(next.version.contentType).toBeUndefined();
    expect(next.version.tags).toBeUndefined();
    expect(next.version.attributes.exp).toBeUndefined();
  });
});

describe('soft delete', () => {
  it('schedules the purge at deletion + retention and purges lazily once the clock passes it', () => {
    secrets.setSecret(vault, 'gone', { value: 'v' });
    const deleted = secrets.deleteSecret(vault, 'gone');
    expect(deleted.head.deleted).toEqual({ deletedDate: T0 / 1000, scheduledPurgeDate: T0 / 1000 + 7 * 86_400 });
    expect(code(() => secrets.getSecret(vault, 'gone'))).toBe('SecretNotFound');
    expect(code(() => secrets.setSecret(vault, 'GONE', { value: 'v' }))).toBe('Conflict/ObjectIsDeletedButRecoverable');
    clock.advance(7 * DAY - 1000);
    expect(secrets.listDeletedSecrets(vault, {}).items).toHaveLength(1);
    clock.advance(1000);
    expect(secrets.listDeletedSecrets(vault, {}).items).toHaveLength(0);
    expect(code(() => secrets.getDeletedSecret(vault, 'gone'))).toBe('SecretNotFound');
    expect(secrets.setSecret(vault, 'gone', { value: 'new' }).version.value).toBe('new');
  });

  it('the sweep purges expired deleted secrets in every vault', () => {
    const other = vaults.create('other', { retentionDays: 30 });
    secrets.setSecret(vault, 'a', { value: 'v' });
    secrets.setSecret(other, 'b', { value: 'v' });
    secrets.deleteSecret(vault, 'a');
    secrets.deleteSecret(other, 'b');
    clock.advance(8 * DAY);
    expect(secrets.purgeExpired()).toBe(1);
    clock.advance(30 * DAY);
    expect(secrets.purgeExpired()).toBe(1);
  });

  it('recover brings back every version; purge needs the deleted state and no purge protection', () => {
    const one = secrets.setSecret(vault, 'r', { value: '1' });
    secrets.setSecret(vault, 'r', { value: '2' });
    secrets.deleteSecret(vault, 'r');
    const recovered = secrets.recoverDeletedSecret(vault, 'r');
    expect(recovered.version.value).toBe('2');
    expect(secrets.getSecret(vault, 'r', one.version.version).version.value).toBe('1');
    expect(code(() => secrets.purgeDeletedSecret(vault, 'r'))).toBe('SecretNotFound');
    const guarded = vaults.create('guarded', { purgeProtection: true });
    secrets.setSecret(guarded, 'p', { value: 'v' });
    secrets.deleteSecret(guarded, 'p');
    expect(code(() => secrets.purgeDeletedSecret(guarded, 'p'))).toBe('Forbidden');
  });
});

describe('backup and restore', () => {
  it('round-trips all versions with their ids and attributes into another vault', async () => {
    const a = secrets.setSecret(vault, 'b', { value: '1', tags: { k: 'v' } });
    const b = secrets.setSecret(vault, 'b', { value: '2', attributes: { enabled: false } });
    const blob = await secrets.backupSecret(vault, 'b');
    const target = vaults.create('target', {});
    const restored = await secrets.restoreSecret(target, blob, (n, v) => `${n}/${v}`);
    expect(restored.version.version).toBe(b.version.version);
    expect(secrets.getSecret(target, 'b', a.version.version).version).toEqual(a.version);
    await expect(secrets.restoreSecret(vault, blob, (n, v) => `${n}/${v}`)).rejects.toMatchObject({ code: 'Conflict', message: expect.stringContaining(`'b/${b.version.version}'`) });
  });

  it('rejects blobs sealed with another key', async () => {
    secrets.setSecret(vault, 'k', { value: 'v' });
    const blob = await secrets.backupSecret(vault, 'k');
    const foreign = await new JweBackupSealer(randomBytes(32)).open(blob);
    expect(foreign).toBeUndefined();
  });
});

describe('managed secrets', () => {
  it('are read-only', async () => {
    secrets.seedManagedSecret(vault, { name: 'cert', value: 'pfx', kid: 'https://x/keys/cert/1' });
    expect(secrets.getSecret(vault, 'cert').head).toMatchObject({ managed: true, kid: 'https://x/keys/cert/1' });
    expect(code(() => secrets.setSecret(vault, 'cert', { value: 'x' }))).toBe('Forbidden/SecretManagedByKeyVault');
    expect(code(() => secrets.updateSecret(vault, 'cert', '', {}))).toBe('Forbidden/SecretManagedByKeyVault');
    expect(code(() => secrets.deleteSecret(vault, 'cert'))).toBe('Forbidden/SecretManagedByKeyVault');
    await expect(secrets.backupSecret(vault, 'cert')).rejects.toMatchObject({ innerCode: 'SecretManagedByKeyVault' });
  });
});

describe('paging', () => {
  it('pages by name with a continuation key, case-insensitively ordered', () => {
    for (const name of ['b', 'A', 'c', 'D', 'e']) secrets.setSecret(vault, name, { value: 'v' });
    const first = secrets.listSecrets(vault, { maxResults: 2 });
    expect(first.items.map((s) => s.head.name)).toEqual(['A', 'b']);
    const second = secrets.listSecrets(vault, { maxResults: 2, after: first.continueAfter! });
    expect(second.items.map((s) => s.head.name)).toEqual(['c', 'D']);
    const third = secrets.listSecrets(vault, { maxResults: 2, after: second.continueAfter! });
    expect(third.items.map((s) => s.head.name)).toEqual(['e']);
    expect(third.continueAfter).toBeUndefined();
  });
});
