// SQLite implementation of the secrets and vaults ports. Lists use keyset paging on indexed keys
// (never OFFSET), so a page costs the same at 100 secrets and at 100,000.
import { DEFAULT_VAULT_SETTINGS, type Page, type Secret, type SecretHead, type SecretSnapshot, type SecretVersion, type Vault, type VaultDeletion, type VaultSettings } from '../vault/model.js';
import type { ListOptions, SecretRepository, VaultRepository } from '../vault/ports.js';
import { CommitGroup } from './commit-group.js';
import type { SqliteDatabase } from './database.js';
import { ReadCache } from './read-cache.js';

interface HeadRow {
  name: string;
  latest_version: string;
  managed: number;
  kid: string | null;
  deleted_date: number | null;
  scheduled_purge_date: number | null;
}

interface VersionRow {
  version: string;
  value: string;
  content_type: string | null;
  tags: string | null;
  enabled: number;
  nbf: number | null;
  exp: number | null;
  created: number;
  updated: number;
}

type JoinedRow = HeadRow & VersionRow & { name_key: string };

const key = (name: string) => name.toLowerCase();

const HEAD_COLUMNS = 's.name, s.name_key, s.latest_version, s.managed, s.kid, s.deleted_date, s.scheduled_purge_date';
const VERSION_COLUMNS = 'v.version, v.value, v.content_type, v.tags, v.enabled, v.nbf, v.exp, v.created, v.updated';

/**
 * A page of secrets reads each secret's `listing` (store/database.ts, migration 3): the fields of its list
 * item as a JSON array, written with each new latest version (listingOf, migration 4) and by a trigger when
 * the latest version is updated. 26 rows of one column are joined into one JSON text and parsed
 * once: turning 26 rows of 15 columns into JavaScript objects one property at a time, after a join, cost
 * several times as much. List items never carry values (as on the service), so lists do not read them.
 */
type ListingTuple = [string, string, string, number, string | null, ...VersionTuple];
/** A page of versions comes back from SQLite as one JSON array of row arrays, built in C. */
const VERSION_TUPLE = 'json_array(version, content_type, json(tags), enabled, nbf, exp, created, updated)';
type VersionTuple = [string, string | null, Record<string, string> | null, number, number | null, number | null, number, number];

export class SqliteSecretRepository implements SecretRepository {
  private readonly stmt;
  /** Secrets read by name (and version), until the next write (store/read-cache.ts). */
  private readonly secrets: ReadCache<Secret>;

  /** Atomic units of work share commits with whatever else is written in the same turn (store/commit-group.ts). */
  constructor(
    db: SqliteDatabase,
    private readonly commits: CommitGroup = new CommitGroup(db),
  ) {
    this.secrets = new ReadCache(db, 1_000);
    // A group rolled back takes back writes that reads may have seen.
    commits.onFailure(() => this.changed());
    this.stmt = {
      findHead: db.prepare('SELECT name, latest_version, managed, kid, deleted_date, scheduled_purge_date FROM secrets WHERE vault = ? AND name_key = ?'),
      findLatest: db.prepare(`SELECT ${HEAD_COLUMNS}, ${VERSION_COLUMNS} FROM secrets s
        JOIN versions v ON v.vault = s.vault AND v.name_key = s.name_key AND v.version = s.latest_version
        WHERE s.vault = ? AND s.name_key = ?`),
      findWithVersion: db.prepare(`SELECT ${HEAD_COLUMNS}, ${VERSION_COLUMNS} FROM secrets s
        JOIN versions v ON v.vault = s.vault AND v.name_key = s.name_key AND v.version = ?
        WHERE s.vault = ? AND s.name_key = ?`),
      // Positional parameters: binding named ones looks each name up in an object.
      upsertHead: db.prepare(`INSERT INTO secrets (vault, name_key, name, latest_version, managed, kid, listing) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (vault, name_key) DO UPDATE SET name = excluded.name, latest_version = excluded.latest_version, managed = excluded.managed, kid = excluded.kid, listing = excluded.listing`),
      insertHeadFull: db.prepare(`INSERT INTO secrets (vault, name_key, name, latest_version, managed, kid, deleted_date, scheduled_purge_date, listing)
        VALUES (@vault, @key, @name, @latest, @managed, @kid, @deleted, @purge, @listing)`),
      insertVersion: db.prepare(`INSERT INTO versions (vault, name_key, version, value, content_type, tags, enabled, nbf, exp, created, updated)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      updateVersion: db.prepare(`UPDATE versions SET content_type = @contentType, tags = @tags, enabled = @enabled, nbf = @nbf, exp = @exp, updated = @updated
        WHERE vault = @vault AND name_key = @key AND version = @version`),
      listActive: db
        .prepare('SELECT listing FROM secrets WHERE vault = ? AND deleted_date IS NULL AND name_key > ? AND listing IS NOT NULL ORDER BY name_key LIMIT ?')
        .pluck(),
      listDeleted: db
        .prepare(
          `SELECT listing, deleted_date, scheduled_purge_date FROM secrets
            WHERE vault = ? AND deleted_date IS NOT NULL AND scheduled_purge_date > ? AND name_key > ? AND listing IS NOT NULL ORDER BY name_key LIMIT ?`,
        )
        .raw(),
      listVersions: db
        .prepare(
          `SELECT json_group_array(${VERSION_TUPLE} ORDER BY version) FROM
            (SELECT * FROM versions WHERE vault = ? AND name_key = ? AND version > ? ORDER BY version LIMIT ?)`,
        )
        .pluck(),
      allVersions: db.prepare(`SELECT ${VERSION_COLUMNS} FROM versions v WHERE v.vault = ? AND v.name_key = ? ORDER BY v.seq`),
      markDeleted: db.prepare('UPDATE secrets SET deleted_date = ?, scheduled_purge_date = ? WHERE vault = ? AND name_key = ?'),
      recover: db.prepare('UPDATE secrets SET deleted_date = NULL, scheduled_purge_date = NULL WHERE vault = ? AND name_key = ?'),
      purgeHead: db.prepare('DELETE FROM secrets WHERE vault = ? AND name_key = ?'),
      purgeVersions: db.prepare('DELETE FROM versions WHERE vault = ? AND name_key = ?'),
      expired: db.prepare('SELECT vault, name_key FROM secrets WHERE deleted_date IS NOT NULL AND scheduled_purge_date <= ?'),
      namesOfVault: db.prepare('SELECT name FROM secrets WHERE vault = ? ORDER BY name_key'),
      clearVaultHeads: db.prepare('DELETE FROM secrets WHERE vault = ?'),
      clearVaultVersions: db.prepare('DELETE FROM versions WHERE vault = ?'),
    };
  }

  findHead(vault: string, name: string): SecretHead | undefined {
    const row = this.stmt.findHead.get(vault, key(name)) as HeadRow | undefined;
    return row && toHead(row);
  }

  findSecret(vault: string, name: string, version?: string): Secret | undefined {
    const nameKey = key(name);
    const cacheKey = `${vault}/${nameKey}/${version ?? ''}`;
    const cached = this.secrets.get(cacheKey);
    if (cached) return cached;
    const row = (version === undefined ? this.stmt.findLatest.get(vault, nameKey) : this.stmt.findWithVersion.get(version, vault, nameKey)) as
      | JoinedRow
      | undefined;
    return row && this.secrets.set(cacheKey, toSecret(row));
  }

  changes(): number {
    return this.secrets.changes();
  }

  addVersion(vault: string, head: { name: string; managed: boolean; kid?: string }, version: SecretVersion): void {
    this.changed();
    const params = this.insertVersionRow(vault, version.name, version);
    this.stmt.upsertHead.run(vault, params.key, head.name, version.version, head.managed ? 1 : 0, head.kid ?? null, listingOf(head, params));
  }

  updateVersion(vault: string, version: SecretVersion): void {
    this.changed();
    this.stmt.updateVersion.run(versionParams(vault, version.name, version));
  }

  listSecrets(vault: string, options: ListOptions): Page<Secret> {
    const listings = this.stmt.listActive.all(vault, options.after ?? '', options.limit + 1) as string[];
    const rows = JSON.parse(`[${listings.join(',')}]`) as ListingTuple[];
    // A lambda, not listedSecret itself: Array.map would pass the index as its `deleted` argument.
    return pageOf(rows, options.limit, (r) => listedSecret(r), (r) => r[1]);
  }

  listDeleted(vault: string, now: number, options: ListOptions): Page<Secret> {
    const found = this.stmt.listDeleted.all(vault, now, options.after ?? '', options.limit + 1) as Array<[string, number, number]>;
    const listings = JSON.parse(`[${found.map((r) => r[0]).join(',')}]`) as ListingTuple[];
    const rows = listings.map((listing, i) => ({ listing, deletedDate: found[i]![1], scheduledPurgeDate: found[i]![2] }));
    return pageOf(
      rows,
      options.limit,
      (r) => listedSecret(r.listing, { deletedDate: r.deletedDate, scheduledPurgeDate: r.scheduledPurgeDate }),
      (r) => r.listing[1],
    );
  }

  listVersions(vault: string, name: string, options: ListOptions): Page<SecretVersion> {
    const head = this.findHead(vault, name);
    if (!head) return { items: [] };
    const rows = JSON.parse(this.stmt.listVersions.get(vault, key(name), options.after ?? '', options.limit + 1) as string) as VersionTuple[];
    return pageOf(rows, options.limit, (r) => listedVersion(head.name, r), (r) => r[0]);
  }

  moveToDeleted(vault: string, name: string, deletion: { deletedDate: number; scheduledPurgeDate: number }): void {
    this.changed();
    this.stmt.markDeleted.run(deletion.deletedDate, deletion.scheduledPurgeDate, vault, key(name));
  }

  recover(vault: string, name: string): void {
    this.changed();
    this.stmt.recover.run(vault, key(name));
  }

  purge(vault: string, name: string): void {
    this.changed();
    this.stmt.purgeVersions.run(vault, key(name));
    this.stmt.purgeHead.run(vault, key(name));
  }

  purgeExpired(now: number): number {
    return this.transaction(() => {
      const rows = this.stmt.expired.all(now) as Array<{ vault: string; name_key: string }>;
      for (const row of rows) this.purge(row.vault, row.name_key);
      return rows.length;
    });
  }

  snapshot(vault: string, name: string): SecretSnapshot | undefined {
    const head = this.findHead(vault, name);
    if (!head) return undefined;
    const rows = this.stmt.allVersions.all(vault, key(name)) as VersionRow[];
    return {
      name: head.name,
      managed: head.managed,
      ...(head.kid !== undefined && { kid: head.kid }),
      ...(head.deleted && { deleted: head.deleted }),
      versions: rows.map((r) => {
        const { name: _name, ...version } = toVersion(head.name, r);
        return version;
      }),
    };
  }

  insertSnapshot(vault: string, snapshot: SecretSnapshot): void {
    this.changed();
    const latest = snapshot.versions.at(-1);
    if (!latest) return;
    for (const version of snapshot.versions) this.insertVersionRow(vault, snapshot.name, { ...version, name: snapshot.name });
    this.stmt.insertHeadFull.run({
      vault,
      key: key(snapshot.name),
      name: snapshot.name,
      latest: latest.version,
      managed: snapshot.managed ? 1 : 0,
      kid: snapshot.kid ?? null,
      deleted: snapshot.deleted?.deletedDate ?? null,
      purge: snapshot.deleted?.scheduledPurgeDate ?? null,
      listing: listingOf(snapshot, versionParams(vault, snapshot.name, { ...latest, name: snapshot.name })),
    });
  }

  snapshots(vault: string): SecretSnapshot[] {
    const names = this.stmt.namesOfVault.all(vault) as Array<{ name: string }>;
    return names.map((n) => this.snapshot(vault, n.name)).filter((s): s is SecretSnapshot => s !== undefined);
  }

  deleteVaultContents(vault: string): void {
    this.changed();
    this.stmt.clearVaultVersions.run(vault);
    this.stmt.clearVaultHeads.run(vault);
  }

  transaction<T>(work: () => T): T {
    try {
      return this.commits.run(work);
    } catch (error) {
      // The unit was rolled back to its savepoint: forget what it wrote, and what was read of it.
      this.changed();
      throw error;
    }
  }

  /** Every write, and every rollback, clears what reads kept. */
  private changed(): void {
    this.secrets.clear();
  }

  /** Inserts a version's row; returns the row's parameters. */
  private insertVersionRow(vault: string, name: string, version: SecretVersion): VersionParams {
    const p = versionParams(vault, name, version);
    this.stmt.insertVersion.run(p.vault, p.key, p.version, version.value, p.contentType, p.tags, p.enabled, p.nbf, p.exp, p.created, p.updated);
    return p;
  }
}

export class SqliteVaultRepository implements VaultRepository {
  private readonly stmt;

  constructor(db: SqliteDatabase) {
    this.stmt = {
      find: db.prepare('SELECT * FROM vaults WHERE name = ?'),
      insert: db.prepare(`INSERT INTO vaults (name, retention_days, purge_protection, permission_model, created_at,
          public_network_access, network_acls, private_endpoint_connections, resource_group)
        VALUES (@name, @retentionDays, @purgeProtection, @permissionModel, @createdAt,
          @publicNetworkAccess, @networkAcls, @privateEndpointConnections, @resourceGroup)`),
      setDeleted: db.prepare('UPDATE vaults SET deleted_at = @deletedAt, scheduled_purge_at = @scheduledPurgeAt WHERE name = @name'),
      update: db.prepare(`UPDATE vaults SET retention_days = @retentionDays, purge_protection = @purgeProtection, permission_model = @permissionModel,
          public_network_access = @publicNetworkAccess, network_acls = @networkAcls, private_endpoint_connections = @privateEndpointConnections
        WHERE name = @name`),
      list: db.prepare('SELECT * FROM vaults ORDER BY name'),
      remove: db.prepare('DELETE FROM vaults WHERE name = ?'),
    };
  }

  find(name: string): Vault | undefined {
    const row = this.stmt.find.get(name) as VaultRow | undefined;
    return row && toVault(row);
  }

  insert(vault: Vault): void {
    this.stmt.insert.run({ name: vault.name, createdAt: vault.createdAt, resourceGroup: vault.resourceGroup ?? null, ...settingsParams(vault) });
  }

  setDeleted(name: string, deletion: VaultDeletion | undefined): void {
    this.stmt.setDeleted.run({ name, deletedAt: deletion?.deletedAt ?? null, scheduledPurgeAt: deletion?.scheduledPurgeAt ?? null });
  }

  update(name: string, settings: VaultSettings): void {
    this.stmt.update.run({ name, ...settingsParams(settings) });
  }

  list(): Vault[] {
    return (this.stmt.list.all() as VaultRow[]).map(toVault);
  }

  remove(name: string): void {
    this.stmt.remove.run(name);
  }
}

interface VaultRow {
  name: string;
  retention_days: number;
  purge_protection: number;
  permission_model: string;
  created_at: number;
  public_network_access: string | null;
  network_acls: string | null;
  private_endpoint_connections: string | null;
  resource_group: string | null;
  deleted_at: number | null;
  scheduled_purge_at: number | null;
}

/** The settings' columns; network settings equal to a new vault's are stored as NULL. */
function settingsParams(settings: VaultSettings) {
  const defaults = DEFAULT_VAULT_SETTINGS;
  const json = (value: unknown, fallback: unknown) => {
    const text = JSON.stringify(value);
    return text === JSON.stringify(fallback) ? null : text;
  };
  return {
    retentionDays: settings.retentionDays,
    purgeProtection: settings.purgeProtection ? 1 : 0,
    permissionModel: settings.permissionModel,
    publicNetworkAccess: settings.publicNetworkAccess === defaults.publicNetworkAccess ? null : settings.publicNetworkAccess,
    networkAcls: json(settings.networkAcls, defaults.networkAcls),
    privateEndpointConnections: json(settings.privateEndpointConnections, defaults.privateEndpointConnections),
  };
}

function toVault(row: VaultRow): Vault {
  const defaults = DEFAULT_VAULT_SETTINGS;
  const vault: Vault = {
    name: row.name,
    retentionDays: row.retention_days,
    purgeProtection: row.purge_protection === 1,
    permissionModel: row.permission_model === 'accessPolicy' ? 'accessPolicy' : 'rbac',
    createdAt: row.created_at,
    publicNetworkAccess: row.public_network_access === 'Disabled' ? 'Disabled' : 'Enabled',
    networkAcls: row.network_acls === null ? defaults.networkAcls : (JSON.parse(row.network_acls) as Vault['networkAcls']),
    privateEndpointConnections:
      row.private_endpoint_connections === null ? defaults.privateEndpointConnections : (JSON.parse(row.private_endpoint_connections) as Vault['privateEndpointConnections']),
  };
  if (row.resource_group !== null) vault.resourceGroup = row.resource_group;
  if (row.deleted_at !== null) vault.deleted = { deletedAt: row.deleted_at, scheduledPurgeAt: row.scheduled_purge_at ?? row.deleted_at };
  return vault;
}

/** The named parameters of a version's row: its columns, and the secret's (insertVersion adds its value). */
type VersionParams = Omit<VersionRow, 'content_type' | 'value'> & { vault: string; key: string; contentType: string | null; value?: string };

function versionParams(vault: string, name: string, version: SecretVersion): VersionParams {
  const a = version.attributes;
  return {
    vault,
    key: key(name),
    version: version.version,
    contentType: version.contentType ?? null,
    tags: version.tags === undefined ? null : JSON.stringify(version.tags),
    enabled: a.enabled ? 1 : 0,
    nbf: a.nbf ?? null,
    exp: a.exp ?? null,
    created: a.created,
    updated: a.updated,
  };
}

/**
 * A secret's `listing` (ListingTuple) as JSON text, from its head and the row of its latest version: the
 * same array as migration 3's json_array builds in SQL, which the trigger on versions still does.
 */
function listingOf(head: { name: string; managed: boolean; kid?: string }, v: VersionParams): string {
  const headPart = JSON.stringify([head.name, v.key, v.version, head.managed ? 1 : 0, head.kid ?? null, v.version, v.contentType]);
  // The numbers as JSON.stringify writes them, without a second call for five of them.
  return `${headPart.slice(0, -1)},${v.tags ?? 'null'},${v.enabled},${jsonNumber(v.nbf)},${jsonNumber(v.exp)},${jsonNumber(v.created)},${jsonNumber(v.updated)}]`;
}

function jsonNumber(value: number | null): string {
  return value !== null && Number.isFinite(value) ? String(value) : 'null';
}

// The rows below are turned into domain objects by assigning the fields that are present: a page maps 25
// of them, and conditional object spreads cost several times as much.

function toHead(row: HeadRow): SecretHead {
  const head: SecretHead = { name: row.name, latestVersion: row.latest_version, managed: row.managed === 1 };
  if (row.kid !== null) head.kid = row.kid;
  if (row.deleted_date !== null) head.deleted = { deletedDate: row.deleted_date, scheduledPurgeDate: row.scheduled_purge_date ?? row.deleted_date };
  return head;
}

function toVersion(name: string, row: VersionRow): SecretVersion {
  return versionOf(name, row.version, row.value, row.content_type, row.tags === null ? null : (JSON.parse(row.tags) as Record<string, string>), row);
}

function versionOf(
  name: string,
  id: string,
  value: string,
  contentType: string | null,
  tags: Record<string, string> | null,
  a: { enabled: number; nbf: number | null; exp: number | null; created: number; updated: number },
): SecretVersion {
  const attributes = { enabled: a.enabled === 1 } as SecretVersion['attributes'];
  if (a.nbf !== null) attributes.nbf = a.nbf;
  if (a.exp !== null) attributes.exp = a.exp;
  attributes.created = a.created;
  attributes.updated = a.updated;
  const version = { name, version: id, value } as SecretVersion;
  if (contentType !== null) version.contentType = contentType;
  if (tags !== null) version.tags = tags;
  version.attributes = attributes;
  return version;
}

function toSecret(row: JoinedRow): Secret {
  return { head: toHead(row), version: toVersion(row.name, row) };
}

/** A listed version: never its value (list items carry none). */
function listedVersion(name: string, [version, contentType, tags, enabled, nbf, exp, created, updated]: VersionTuple): SecretVersion {
  return versionOf(name, version, '', contentType, tags, { enabled, nbf, exp, created, updated });
}

function listedSecret(row: ListingTuple, deleted?: { deletedDate: number; scheduledPurgeDate: number }): Secret {
  const [name, , latestVersion, managed, kid, version, contentType, tags, enabled, nbf, exp, created, updated] = row;
  const head: SecretHead = { name, latestVersion, managed: managed === 1 };
  if (kid !== null) head.kid = kid;
  if (deleted) head.deleted = deleted;
  return { head, version: versionOf(name, version, '', contentType, tags, { enabled, nbf, exp, created, updated }) };
}

function pageOf<R, T>(rows: R[], limit: number, map: (row: R) => T, keyOf: (row: R) => string): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept.at(-1);
  const page: Page<T> = { items: kept.map(map) };
  if (more && last !== undefined) page.continueAfter = keyOf(last);
  return page;
}
