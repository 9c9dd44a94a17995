// Ports the secrets domain needs; store/ implements them with SQLite, tests with memory.
import type { Page, Secret, SecretHead, SecretSnapshot, SecretVersion, Vault, VaultDeletion, VaultSettings } from './model.js';

export interface Clock {
  /** Milliseconds since the epoch, as the emulator currently sees it. */
  now(): number;
}

export interface ListOptions {
  limit: number;
  /** Continue strictly after this key (lower-case name, or version id). */
  after?: string;
}

export interface SecretRepository {
  findHead(vault: string, name: string): SecretHead | undefined;
  /** The secret (in any state) with its latest version, or the given one; one lookup for the hot read path. */
  findSecret(vault: string, name: string, version?: string): Secret | undefined;
  /** Adds a version and makes it the latest; creates the secret if it does not exist. */
  addVersion(vault: string, head: { name: string; managed: boolean; kid?: string }, version: SecretVersion): void;
  updateVersion(vault: string, version: SecretVersion): void;
  /** Active secrets with their latest version, ordered by lower-case name. */
  listSecrets(vault: string, options: ListOptions): Page<Secret>;
  /** Soft-deleted secrets whose purge date is after `now`, ordered by lower-case name. */
  listDeleted(vault: string, now: number, options: ListOptions): Page<Secret>;
  listVersions(vault: string, name: string, options: ListOptions): Page<SecretVersion>;
  moveToDeleted(vault: string, name: string, deletion: { deletedDate: number; scheduledPurgeDate: number }): void;
  recover(vault: string, name: string): void;
  purge(vault: string, name: string): void;
  /** Purges every soft-deleted secret whose scheduled purge date is at or before `now`; returns how many. */
  purgeExpired(now: number): number;
  snapshot(vault: string, name: string): SecretSnapshot | undefined;
  /** Writes a whole secret (restore, import). The name must be free. */
  insertSnapshot(vault: string, snapshot: SecretSnapshot): void;
  /** Every secret of a vault, for export. */
  snapshots(vault: string): SecretSnapshot[];
  deleteVaultContents(vault: string): void;
  /**
   * A number that changes whenever any read may answer differently: every write, every rollback, and a
   * commit by another process to the same store. Answers kept while it stays the same are current.
   */
  changes(): number;
  /** Runs `work` atomically. */
  transaction<T>(work: () => T): T;
}

export interface VaultRepository {
  /** The vault of that name, soft-deleted or not. */
  find(name: string): Vault | undefined;
  insert(vault: Vault): void;
  update(name: string, settings: VaultSettings): void;
  /** Marks the vault soft-deleted, or (undefined) active again. */
  setDeleted(name: string, deletion: VaultDeletion | undefined): void;
  /** Every vault, soft-deleted ones included. */
  list(): Vault[];
  remove(name: string): void;
}

/** Seals and opens backup blobs; the format is the sealer's business. */
export interface BackupSealer {
  seal(snapshot: SecretSnapshot): Promise<Uint8Array>;
  /** Returns undefined for anything that is not an intact blob of this installation. */
  open(blob: Uint8Array): Promise<SecretSnapshot | undefined>;
}

/**
 * Told of changes that publish Key Vault events (events/service.ts implements it). Called inside the
 * change's own transaction, so an event is written exactly when its change is.
 */
export interface SecretEventSink {
  /** A version became its secret's current one (set, seeding, restore). */
  newVersion(vault: string, version: SecretVersion): void;
  /** A version's attributes changed (its expiry may have), or it was loaded by an import. */
  attributesChanged(vault: string, version: SecretVersion): void;
}

/** Told when a vault's permission model changes (a VaultAccessPolicyChanged event), and when a vault is removed. */
export interface VaultEventSink {
  permissionModelChanged(vault: string): void;
  /** The vault is gone: so are its event subscriptions. */
  vaultRemoved(vault: string): void;
}

/** A change the real service acknowledges before every reader sees it (spec §6.4: eventually consistent). */
export type PropagatingChange = 'deleted' | 'recovered' | 'purged';

/** What is still under way for a name: the phase its last change is in until it has propagated. */
export type Settling = 'deleting' | 'recovering' | 'purging';

/**
 * Eventual consistency (realism/consistency.ts implements it on the emulator clock): which names are
 * still settling after a delete, a recover or a purge, so the domain answers as the service does
 * meanwhile (404 on the reads that would show the change, 409 on writes that conflict with it).
 */
export interface Propagation {
  /** False while every window is 0: the domain then asks nothing else. */
  readonly active: boolean;
  /** Records a change the store has just made. */
  changed(vault: string, name: string, change: PropagatingChange): void;
  /** The phase a name is in, if its last change is still propagating. */
  settling(vault: string, name: string): Settling | undefined;
  /** Whether any name of the vault may be settling (lists filter only then). */
  anySettling(vault: string): boolean;
  /** A number that moves whenever a change starts or finishes propagating (answers kept outside the store). */
  generation(): number;
}
