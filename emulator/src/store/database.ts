// Opens the SQLite database and brings its schema up to date. WAL journaling; a write is on disk before
// the emulator acknowledges it, so a crash or power cut loses nothing that a client saw succeed: either
// SQLite syncs each commit (synchronous=FULL), or commits are grouped and the log is synced off the event
// loop before the answers go out (walSync with store/commit-group.ts, on synchronous=NORMAL).
import Database from 'better-sqlite3';
import { closeSync, fsync, mkdirSync, openSync } from 'node:fs';
import type { Sync } from './commit-group.js';
import { dirname } from 'node:path';

export type SqliteDatabase = Database.Database;

export interface OpenOptions {
  /** File path, or undefined for a private in-memory database. */
  file?: string;
  /** FULL (default) syncs every commit; NORMAL survives process crashes but not power loss. */
  synchronous?: 'FULL' | 'NORMAL';
  /** False when store/checkpointer.ts checkpoints the log instead of the commits that fill it. */
  autoCheckpoint?: boolean;
}

export const MIGRATIONS: readonly string[] = [
  // 1: vaults, secrets (one row per name), versions (one row per version)
  `
  CREATE TABLE vaults (
    name              TEXT PRIMARY KEY,
    retention_days    INTEGER NOT NULL,
    purge_protection  INTEGER NOT NULL,
    permission_model  TEXT NOT NULL,
    created_at        INTEGER NOT NULL
  );
  CREATE TABLE secrets (
    vault                 TEXT NOT NULL,
    name_key              TEXT NOT NULL,
    name                  TEXT NOT NULL,
    latest_version        TEXT NOT NULL,
    managed               INTEGER NOT NULL DEFAULT 0,
    kid                   TEXT,
    deleted_date          INTEGER,
    scheduled_purge_date  INTEGER,
    PRIMARY KEY (vault, name_key)
  ) WITHOUT ROWID;
  CREATE INDEX secrets_active ON secrets (vault, name_key) WHERE deleted_date IS NULL;
  CREATE INDEX secrets_deleted ON secrets (vault, name_key) WHERE deleted_date IS NOT NULL;
  CREATE INDEX secrets_purge ON secrets (scheduled_purge_date) WHERE deleted_date IS NOT NULL;
  CREATE TABLE versions (
    seq           INTEGER PRIMARY KEY,
    vault         TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    version       TEXT NOT NULL,
    value         TEXT NOT NULL,
    content_type  TEXT,
    tags          TEXT,
    enabled       INTEGER NOT NULL,
    nbf           INTEGER,
    exp           INTEGER,
    created       INTEGER NOT NULL,
    updated       INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX versions_by_id ON versions (vault, name_key, version);
  `,
  // 2: the directory (principals) and who may do what (role assignments, access policies)
  `
  CREATE TABLE principals (
    object_id  TEXT PRIMARY KEY,
    name_key   TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    body       TEXT NOT NULL,
    origin     TEXT NOT NULL
  );
  CREATE TABLE role_assignments (
    id            TEXT PRIMARY KEY,
    principal_id  TEXT NOT NULL,
    role_id       TEXT NOT NULL,
    scope         TEXT NOT NULL,
    origin        TEXT NOT NULL
  );
  CREATE INDEX role_assignments_by_principal ON role_assignments (principal_id);
  CREATE TABLE access_policies (
    vault         TEXT NOT NULL,
    principal_id  TEXT NOT NULL,
    secrets       TEXT NOT NULL,
    origin        TEXT NOT NULL,
    PRIMARY KEY (vault, principal_id)
  ) WITHOUT ROWID;
  `,
  // 3: each secret keeps the fields its list item needs, from itself and its latest version, as one JSON
  // array (store/secret-repository.ts LISTING), so a page of a list reads 26 rows of one column, without
  // the join. Triggers keep it in step with every write to the secret or to its latest version.
  `
  ALTER TABLE secrets ADD COLUMN listing TEXT;
  CREATE TRIGGER secrets_listing_on_insert AFTER INSERT ON secrets BEGIN
    UPDATE secrets SET listing = ${listingOf('NEW.vault', 'NEW.name_key')} WHERE vault = NEW.vault AND name_key = NEW.name_key;
  END;
  CREATE TRIGGER secrets_listing_on_update AFTER UPDATE OF name, latest_version, managed, kid ON secrets BEGIN
    UPDATE secrets SET listing = ${listingOf('NEW.vault', 'NEW.name_key')} WHERE vault = NEW.vault AND name_key = NEW.name_key;
  END;
  CREATE TRIGGER secrets_listing_on_version_update AFTER UPDATE ON versions BEGIN
    UPDATE secrets SET listing = ${listingOf('NEW.vault', 'NEW.name_key')}
      WHERE vault = NEW.vault AND name_key = NEW.name_key AND latest_version = NEW.version;
  END;
  UPDATE secrets SET listing = ${listingOf('secrets.vault', 'secrets.name_key')};
  `,
  // 4: the repository writes the listing itself when it adds a version or restores a secret (it holds
  // every field of it): the triggers on the secret re-read the row and its latest version and wrote the
  // row a second time, a third of what storing a version cost. The trigger on versions stays: an update
  // of the latest version's attributes or tags changes the listing without writing the secret.
  `
  DROP TRIGGER secrets_listing_on_insert;
  DROP TRIGGER secrets_listing_on_update;
  `,
  // 5: Event Grid events (store/event-repository.ts): subscriptions; the outbox, an event and one delivery
  // per subscription written in the transaction of the change that publishes it; and the timers of
  // time-based events, one per version and type, kept once fired so that each fires once.
  `
  CREATE TABLE event_subscriptions (
    vault       TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    body        TEXT NOT NULL,
    origin      TEXT NOT NULL,
    validated   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (vault, name_key)
  ) WITHOUT ROWID;
  CREATE TABLE events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    vault       TEXT NOT NULL,
    type        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    event_time  INTEGER NOT NULL,
    data        TEXT NOT NULL
  );
  CREATE TABLE deliveries (
    seq              INTEGER PRIMARY KEY,
    event_seq        INTEGER NOT NULL,
    vault            TEXT NOT NULL,
    subscription     TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    published_at     INTEGER NOT NULL,
    next_attempt_at  INTEGER,
    last_attempt_at  INTEGER,
    last_status      INTEGER,
    last_outcome     TEXT,
    reason           TEXT,
    finished_at      INTEGER
  );
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
  CREATE INDEX deliveries_by_subscription ON deliveries (vault, subscription, seq);
  CREATE INDEX deliveries_by_event ON deliveries (event_seq);
  CREATE TABLE event_timers (
    vault     TEXT NOT NULL,
    name_key  TEXT NOT NULL,
    version   TEXT NOT NULL,
    type      TEXT NOT NULL,
    due       INTEGER NOT NULL,
    fired     INTEGER NOT NULL,
    PRIMARY KEY (vault, name_key, version, type)
  ) WITHOUT ROWID;
  CREATE INDEX event_timers_due ON event_timers (due) WHERE fired = 0;
  `,
  // 6: each vault's network settings (network/settings.ts), as the ARM resource names them; NULL is the
  // default of a new vault (public access enabled, no firewall, no private endpoint connections).
  `
  ALTER TABLE vaults ADD COLUMN public_network_access TEXT;
  ALTER TABLE vaults ADD COLUMN network_acls TEXT;
  ALTER TABLE vaults ADD COLUMN private_endpoint_connections TEXT;
  `,
  // 7: audit records (audit/log.ts): the facts of each answered request, in the order they were written;
  // the AuditEvent record is built from them when read. The columns filters search come first; the other
  // facts share one column (store/audit-repository.ts DETAILS), and the long values that repeat from
  // request to request (user agent, caller claims, origin, URL) are kept once in audit_strings, so that a
  // row is few bindings and few bytes. No secondary index: records are written far more often than read.
  `
  CREATE TABLE audit_records (
    seq             INTEGER PRIMARY KEY,
    time            INTEGER NOT NULL,
    vault           TEXT,
    operation       TEXT NOT NULL,
    status          INTEGER NOT NULL,
    principal       TEXT,
    appid           TEXT,
    correlation_id  TEXT,
    details         TEXT NOT NULL
  );
  CREATE TABLE audit_strings (
    id    INTEGER PRIMARY KEY,
    text  TEXT NOT NULL UNIQUE
  );
  `,
  // 8: the management plane (arm/): a vault lives in a resource group and can be soft-deleted (it keeps its
  // secrets until recovered or purged); resource groups; what ARM keeps of a vault, and of a role
  // assignment, beyond what the data plane needs (location, tags, SKU, full access policy entries,
  // system data...), as JSON.
  `
  ALTER TABLE vaults ADD COLUMN resource_group TEXT;
  ALTER TABLE vaults ADD COLUMN deleted_at INTEGER;
  ALTER TABLE vaults ADD COLUMN scheduled_purge_at INTEGER;
  CREATE TABLE arm_resource_groups (
    name_key    TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    location    TEXT NOT NULL,
    tags        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE arm_vaults (
    name  TEXT PRIMARY KEY,
    body  TEXT NOT NULL
  );
  CREATE TABLE arm_role_assignments (
    id    TEXT PRIMARY KEY,
    body  TEXT NOT NULL
  );
  `,
  // 9: two indexes no query uses (lists page through the primary key, which holds the listing): every new
  // secret paid for an entry in secrets_active, every delete and recover for one in secrets_deleted.
  `
  DROP INDEX secrets_active;
  DROP INDEX secrets_deleted;
  `,
];

/**
 * The list item fields of one secret, as a JSON array: name, name_key, latest_version, managed, kid,
 * then the latest version's version, content_type, tags (JSON), enabled, nbf, exp, created, updated.
 */
function listingOf(vault: string, nameKey: string): string {
  return `(SELECT json_array(s.name, s.name_key, s.latest_version, s.managed, s.kid, v.version, v.content_type, json(v.tags), v.enabled, v.nbf, v.exp, v.created, v.updated)
      FROM secrets s JOIN versions v ON v.vault = s.vault AND v.name_key = s.name_key AND v.version = s.latest_version
      WHERE s.vault = ${vault} AND s.name_key = ${nameKey})`;
}

/**
 * Syncs the write-ahead log of the database at `file` to disk, on libuv's thread pool. Every commit made
 * before a sync starts is on disk when it calls back: in WAL mode a commit is its frames in the log.
 */
export function walSync(file: string): { sync: Sync; close(): void } {
  let fd: number | undefined;
  let inFlight = false;
  let closed = false;
  const release = () => {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  return {
    sync(done) {
      try {
        fd ??= openSync(`${file}-wal`, 'r');
      } catch (error) {
        done(error as Error);
        return;
      }
      inFlight = true;
      fsync(fd, (error) => {
        inFlight = false;
        if (closed) release();
        done(error);
      });
    },
    close() {
      closed = true;
      if (!inFlight) release();
    },
  };
}

export function openDatabase(options: OpenOptions): SqliteDatabase {
  if (options.file) mkdirSync(dirname(options.file), { recursive: true });
  const db = options.file ? new Database(options.file) : privateMemoryDatabase();
  if (options.file) db.pragma('journal_mode = WAL');
  db.pragma(`cache_size = ${options.file ? FILE_CACHE_PAGES : MEMORY_CACHE_PAGES}`);
  db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  db.pragma('busy_timeout = 5000');
  migrate(db);
  if (options.file && options.autoCheckpoint === false) db.pragma('wal_autocheckpoint = 0');
  return db;
}

/**
 * A private in-memory database behind SQLite's memdb VFS (an empty database, deserialized) rather than
 * `:memory:`. In `:memory:` the page cache is the database, so a commit that moved a page walks a hash
 * table as large as the whole database (SQLite's pcache1Truncate): sets got slower as secrets
 * accumulated. Here the pages live in the VFS's memory and the cache in front of it stays small
 * (MEMORY_CACHE_PAGES), so a commit costs the same at any size. SQLite's memdb limit applies: 1 GiB.
 */
function privateMemoryDatabase(): SqliteDatabase {
  const empty = new Database(':memory:');
  const image = empty.serialize();
  empty.close();
  return new Database(image);
}

/** Pages kept in front of an in-memory database; a miss is a copy from memory, not a read. */
const MEMORY_CACHE_PAGES = 256;

/**
 * Pages kept in memory for a database file (4 MiB): the interior pages of every index and the pages read
 * and written most. A commit that moved a page (a page split that renumbered its pages) walks SQLite's whole
 * cache table (pcache1Truncate), so this bounds a commit's cost; 16 MiB, better-sqlite3's default, made
 * sets slower as the file grew. A miss reads a page the operating system most often still has.
 */
const FILE_CACHE_PAGES = 1024;

function migrate(db: SqliteDatabase): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as { value: string } | undefined;
  const current = row ? Number(row.value) : 0;
  if (current > MIGRATIONS.length) {
    throw new Error(`The data directory was written by a newer emulator (schema ${current}); this one knows ${MIGRATIONS.length}.`);
  }
  db.transaction(() => {
    for (let i = current; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
    db.prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
      String(MIGRATIONS.length),
    );
  })();
}
