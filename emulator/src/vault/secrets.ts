// The Key Vault secrets domain: versions, attributes, soft-delete, recovery, purge and backup, as the
// real service behaves (spec/secrets-api.md §2, §5, §6). No HTTP here: operations take plain values
// and throw KvErrors from the catalog. With realism's consistency windows on (the Propagation port), a
// name whose last delete, recover or purge is still propagating answers as the service does meanwhile
// (docs/realistic-mode.md); with them off, every change is visible at once.
import { randomBytes } from 'node:crypto';
import { errors } from '../errors.js';
import { seconds } from './clock.js';
import type { Page, Secret, SecretAttributes, SecretHead, SecretSnapshot, SecretVersion, Vault } from './model.js';
import type { BackupSealer, Clock, Propagation, SecretEventSink, SecretRepository, Settling } from './ports.js';
import { checkContentType, checkMaxResults, checkName, checkTags, checkValue, isVersionShaped } from './validation.js';

export interface AttributesInput {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}

export interface SetSecretInput {
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes?: AttributesInput;
}

export interface UpdateSecretInput {
  contentType?: string;
  tags?: Record<string, string>;
  attributes?: AttributesInput;
}

export interface PageRequest {
  maxResults?: number;
  after?: string;
}

export interface SecretServiceOptions {
  secrets: SecretRepository;
  clock: Clock;
  sealer: BackupSealer;
  /** Region named in messages that quote the vault (`Vault: x;location=<region>`). */
  region: string;
  /** Told of new versions and changed attributes, inside their transactions (Event Grid events). */
  events?: SecretEventSink;
  /** Eventual consistency after deletes, recovers and purges (default: every change visible at once). */
  propagation?: Propagation;
}

/** Every change visible at once. */
const IMMEDIATE: Propagation = { active: false, changed: () => {}, settling: () => undefined, anySettling: () => false, generation: () => 0 };

const DAY = 86_400;

export class SecretService {
  private readonly repo: SecretRepository;
  private readonly clock: Clock;
  private readonly propagation: Propagation;

  constructor(private readonly options: SecretServiceOptions) {
    this.repo = options.secrets;
    this.clock = options.clock;
    this.propagation = options.propagation ?? IMMEDIATE;
  }

  setSecret(vault: Vault, name: string, input: SetSecretInput): Secret {
    checkName(name);
    checkValue(input.value);
    checkContentType(input.contentType);
    checkTags(input.tags);
    return this.repo.transaction(() => {
      const settling = this.settling(vault, name);
      if (settling === 'deleting' || settling === 'purging') throw errors.beingDeletedNotRecreatable(name);
      if (settling === 'recovering') throw errors.beingRecovered(name);
      const head = this.liveHead(vault, name);
      if (head?.deleted) throw errors.deletedButRecoverable(name);
      if (head?.managed) throw errors.managedSecret('set');
      const now = this.nowSeconds();
      const version = { name: head?.name ?? name, version: newVersionId(), value: input.value } as SecretVersion;
      if (input.contentType !== undefined) version.contentType = input.contentType;
      if (input.tags !== undefined) version.tags = input.tags;
      version.attributes = withAttributes({ enabled: true, created: now, updated: now }, input.attributes);
      this.repo.addVersion(vault.name, { name: version.name, managed: false }, version);
      this.options.events?.newVersion(vault.name, version);
      return { head: { name: version.name, latestVersion: version.version, managed: false }, version };
    });
  }

  /** GET /secrets/{name}/{version}; an empty version means the latest. */
  getSecret(vault: Vault, name: string, version = ''): Secret {
    const secret = this.findActive(vault, name, version);
    if (!secret.version.attributes.enabled) throw errors.secretDisabled();
    return secret;
  }

  updateSecret(vault: Vault, name: string, version: string, input: UpdateSecretInput): Secret {
    checkName(name);
    checkContentType(input.contentType);
    checkTags(input.tags);
    return this.repo.transaction(() => {
      if (this.settling(vault, name) === 'deleting') throw errors.beingDeleted();
      const head = this.liveHead(vault, name);
      if (head?.deleted) throw errors.deletedButRecoverable(name);
      const secret = this.findActive(vault, name, version);
      if (secret.head.managed) throw errors.managedSecret('update');
      const current = secret.version;
      const updated: SecretVersion = {
        ...current,
        ...(input.contentType !== undefined && { contentType: input.contentType }),
        ...(input.tags !== undefined && { tags: input.tags }),
        attributes: withAttributes({ ...current.attributes, updated: this.nowSeconds() }, input.attributes),
      };
      this.repo.updateVersion(vault.name, updated);
      this.options.events?.attributesChanged(vault.name, updated);
      return { head: secret.head, version: updated };
    });
  }

  /** Soft-deletes every version; the result is the deleted latest version. */
  deleteSecret(vault: Vault, name: string): Secret {
    checkName(name);
    const deleted = this.repo.transaction(() => {
      const secret = this.findActive(vault, name, '');
      if (secret.head.managed) throw errors.managedSecret('delete');
      const deletedDate = this.nowSeconds();
      const deleted = { deletedDate, scheduledPurgeDate: deletedDate + vault.retentionDays * DAY };
      this.repo.moveToDeleted(vault.name, secret.head.name, deleted);
      return { head: { ...secret.head, deleted }, version: secret.version };
    });
    this.propagation.changed(vault.name, name, 'deleted');
    return deleted;
  }

  getDeletedSecret(vault: Vault, name: string): Secret {
    checkName(name);
    // Not listed as deleted until the delete has propagated (the SDK's delete poller waits for this).
    if (this.settling(vault, name) === 'deleting') throw errors.deletedSecretNotFound(name);
    return this.findDeleted(vault, name);
  }

  recoverDeletedSecret(vault: Vault, name: string): Secret {
    checkName(name);
    const recovered = this.repo.transaction(() => {
      if (this.settling(vault, name) === 'deleting') throw errors.beingDeleted();
      // The service words a failed recover like a failed get (recorded traffic), not like GET /deletedsecrets.
      const secret = this.findDeleted(vault, name, errors.secretNotFound);
      this.repo.recover(vault.name, secret.head.name);
      const { deleted: _deleted, ...head } = secret.head;
      return { head, version: secret.version };
    });
    this.propagation.changed(vault.name, name, 'recovered');
    return recovered;
  }

  purgeDeletedSecret(vault: Vault, name: string): void {
    checkName(name);
    this.repo.transaction(() => {
      if (this.settling(vault, name) === 'deleting') throw errors.beingDeleted();
      const secret = this.findDeleted(vault, name);
      if (vault.purgeProtection) throw errors.purgeProtected(vault.name, this.options.region);
      this.repo.purge(vault.name, secret.head.name);
    });
    this.propagation.changed(vault.name, name, 'purged');
  }

  /**
   * Changes whenever a list of active secrets or of versions may answer differently (any write). Lists of
   * deleted secrets also depend on the time (purge dates), which this does not count.
   */
  changes(): number {
    // Both counts only grow, so their sum moves whenever either does.
    return this.propagation.active ? this.repo.changes() + this.propagation.generation() : this.repo.changes();
  }

  listSecrets(vault: Vault, page: PageRequest): Page<Secret> {
    const listed = this.repo.listSecrets(vault.name, { limit: checkMaxResults(page.maxResults), after: page.after });
    return this.withoutSettling(vault, listed, 'recovering');
  }

  listDeletedSecrets(vault: Vault, page: PageRequest): Page<Secret> {
    const listed = this.repo.listDeleted(vault.name, this.nowSeconds(), { limit: checkMaxResults(page.maxResults), after: page.after });
    return this.withoutSettling(vault, listed, 'deleting');
  }

  /** All versions of an active secret; none for a name that does not exist (as the service answers). */
  listSecretVersions(vault: Vault, name: string, page: PageRequest): Page<SecretVersion> {
    checkName(name);
    const limit = checkMaxResults(page.maxResults);
    const head = this.liveHead(vault, name);
    if (!head || head.deleted || this.settling(vault, name) === 'recovering') return { items: [] };
    return this.repo.listVersions(vault.name, head.name, { limit, after: page.after });
  }

  async backupSecret(vault: Vault, name: string): Promise<Uint8Array> {
    checkName(name);
    const secret = this.findActive(vault, name, '');
    if (secret.head.managed) throw errors.managedSecret('backup');
    const snapshot = this.repo.snapshot(vault.name, secret.head.name);
    if (!snapshot) throw errors.secretNotFound(name);
    return this.options.sealer.seal(snapshot);
  }

  /**
   * Restores every version of a backed-up secret. `idFor` names a version the way the client sees it
   * (the conflict message quotes the full id).
   */
  async restoreSecret(vault: Vault, blob: Uint8Array, idFor: (name: string, version: string) => string): Promise<Secret> {
    const snapshot = await this.options.sealer.open(blob);
    const latest = snapshot?.versions.at(-1);
    if (!snapshot || !latest) throw errors.malformedBackup();
    return this.repo.transaction(() => {
      // A name still being deleted, purged or recovered conflicts as one in use does (recorded: a restore right after a purge).
      if (this.settling(vault, snapshot.name) !== undefined) throw errors.restoreConflict(idFor(snapshot.name, latest.version));
      const head = this.liveHead(vault, snapshot.name);
      if (head?.deleted) throw errors.deletedButRecoverable(snapshot.name);
      if (head) throw errors.restoreConflict(idFor(snapshot.name, latest.version));
      const { deleted: _deleted, ...restored } = snapshot;
      this.repo.insertSnapshot(vault.name, restored);
      // A restored secret is new to the vault: its current version is announced like a new one.
      this.options.events?.newVersion(vault.name, { ...latest, name: snapshot.name });
      return {
        head: { name: snapshot.name, latestVersion: latest.version, managed: snapshot.managed, ...(snapshot.kid && { kid: snapshot.kid }) },
        version: { ...latest, name: snapshot.name },
      };
    });
  }

  /** Seeds a certificate-backed (read-only) secret, replacing any secret of that name. */
  seedManagedSecret(vault: Vault, input: SetSecretInput & { name: string; kid?: string }): Secret {
    checkName(input.name);
    checkValue(input.value);
    return this.repo.transaction(() => {
      const existing = this.repo.findHead(vault.name, input.name);
      if (existing) this.repo.purge(vault.name, existing.name);
      const now = this.nowSeconds();
      const version: SecretVersion = {
        name: input.name,
        version: newVersionId(),
        value: input.value,
        contentType: input.contentType ?? 'application/x-pkcs12',
        ...(input.tags !== undefined && { tags: input.tags }),
        attributes: withAttributes({ enabled: true, created: now, updated: now }, input.attributes),
      };
      const head = { name: input.name, managed: true, ...(input.kid !== undefined && { kid: input.kid }) };
      this.repo.addVersion(vault.name, head, version);
      this.options.events?.newVersion(vault.name, version);
      return { head: { ...head, latestVersion: version.version }, version };
    });
  }

  /**
   * One version of an active secret with its value, enabled or not (the admin API's explicit reveal):
   * no access rule applies there, and a disabled version's value is still the admin's to see.
   */
  revealVersion(vault: Vault, name: string, version: string): Secret {
    return this.findActive(vault, name, version);
  }

  /** The latest version of a secret in any state, without access rules (config seeding). */
  peekLatest(vault: Vault, name: string): (SecretVersion & { managed: boolean; deleted: boolean }) | undefined {
    const secret = this.repo.findSecret(vault.name, name);
    if (!secret || this.purgedIfExpired(vault, secret.head)) return undefined;
    return { ...secret.version, managed: secret.head.managed, deleted: secret.head.deleted !== undefined };
  }

  exportVault(vault: Vault): SecretSnapshot[] {
    return this.repo.snapshots(vault.name);
  }

  /** Replaces a vault's secrets with the given snapshots. */
  importVault(vault: Vault, snapshots: SecretSnapshot[]): void {
    this.repo.transaction(() => {
      this.repo.deleteVaultContents(vault.name);
      for (const snapshot of snapshots) {
        this.repo.insertSnapshot(vault.name, snapshot);
        const latest = snapshot.versions.at(-1);
        if (latest) this.options.events?.attributesChanged(vault.name, { ...latest, name: snapshot.name });
      }
    });
  }

  /** Purges soft-deleted secrets whose retention has run out on the emulator clock. */
  purgeExpired(): number {
    return this.repo.purgeExpired(this.nowSeconds());
  }

  private nowSeconds(): number {
    return seconds(this.clock.now());
  }

  /** The phase the name's last delete, recover or purge is in while it propagates (realism), if any. */
  private settling(vault: Vault, name: string): Settling | undefined {
    return this.propagation.active ? this.propagation.settling(vault.name, name) : undefined;
  }

  /** A page without the names that are still `phase` (the service lists them once the change has propagated). */
  private withoutSettling(vault: Vault, page: Page<Secret>, phase: Settling): Page<Secret> {
    if (!this.propagation.active || !this.propagation.anySettling(vault.name)) return page;
    // The page still continues after its last stored item, so paging is unchanged.
    return { ...page, items: page.items.filter((s) => this.propagation.settling(vault.name, s.head.name) !== phase) };
  }

  /** The secret's head, treating a deleted secret past its purge date as purged (and purging it). */
  private liveHead(vault: Vault, name: string): SecretHead | undefined {
    const head = this.repo.findHead(vault.name, name);
    return head && this.purgedIfExpired(vault, head) ? undefined : head;
  }

  /** Purges a soft-deleted secret whose scheduled purge date has come; says whether it did. */
  private purgedIfExpired(vault: Vault, head: SecretHead): boolean {
    if (!head.deleted || head.deleted.scheduledPurgeDate > this.nowSeconds()) return false;
    this.repo.purge(vault.name, head.name);
    return true;
  }

  private findActive(vault: Vault, name: string, version: string): Secret {
    checkName(name);
    // A recovered secret is not found until the recover has propagated (the SDK's recover poller waits for this).
    if (this.settling(vault, name) === 'recovering') throw errors.secretNotFound(name);
    const wanted = version === '' ? undefined : version.toLowerCase();
    const found = wanted === undefined || isVersionShaped(wanted) ? this.repo.findSecret(vault.name, name, wanted) : undefined;
    if (found && !found.head.deleted) return found;
    if (wanted === undefined || found?.head.deleted) throw errors.secretNotFound(name);
    // No such version: the message names the version only when the secret itself exists.
    const head = this.repo.findHead(vault.name, name);
    throw errors.secretNotFound(head && !head.deleted ? `${name}/${version}` : name);
  }

  private findDeleted(vault: Vault, name: string, notFound: (name: string) => Error = errors.deletedSecretNotFound): Secret {
    const secret = this.repo.findSecret(vault.name, name);
    if (!secret?.head.deleted || this.purgedIfExpired(vault, secret.head)) throw notFound(name);
    return secret;
  }
}

function withAttributes(base: SecretAttributes, input: AttributesInput | undefined): SecretAttributes {
  const next = { ...base };
  if (input?.enabled !== undefined) next.enabled = input.enabled;
  if (input?.nbf !== undefined) next.nbf = input.nbf;
  if (input?.exp !== undefined) next.exp = input.exp;
  return next;
}

/** Random bytes drawn 4 KiB at a time: a version id costs a slice, not a call into the CSPRNG. */
const entropy = { pool: Buffer.alloc(0), at: 0 };

export function newVersionId(): string {
  if (entropy.at + 16 > entropy.pool.length) {
    entropy.pool = randomBytes(4096);
    entropy.at = 0;
  }
  const id = entropy.pool.toString('hex', entropy.at, entropy.at + 16);
  entropy.at += 16;
  return id;
}
