// Vaults of the emulator: selected by the Host header, created on first use unless strict. Settings
// mirror the Key Vault resource properties that shape secret behaviour (soft-delete retention,
// purge protection, permission model); see spec §3 and §6.4. A vault lives in a resource group and can
// be soft-deleted through the management plane: it then keeps its secrets but answers no data-plane
// request, its name stays taken, and it comes back whole when recovered.
import { errors } from '../errors.js';
import { DEFAULT_VAULT_SETTINGS, type Vault, type VaultDeletion, type VaultSettings } from './model.js';
import type { Clock, VaultEventSink, VaultRepository } from './ports.js';

const VAULT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface VaultServiceOptions {
  vaults: VaultRepository;
  clock: Clock;
  /** Refuse unknown vault names instead of creating them. */
  strict: boolean;
  defaults?: Partial<VaultSettings>;
  /** Told when a vault's permission model changes (VaultAccessPolicyChanged). */
  events?: VaultEventSink;
}

export class VaultService {
  private readonly defaults: VaultSettings;
  /** Vaults are read on every request and change rarely: keep them in memory. */
  private readonly cache = new Map<string, Vault>();

  constructor(private readonly options: VaultServiceOptions) {
    this.defaults = { ...DEFAULT_VAULT_SETTINGS, ...options.defaults };
    checkSettings(this.defaults);
  }

  /** The vault a request addresses; creates it on first use unless strict. A soft-deleted vault answers nothing. */
  resolve(name: string): Vault {
    const key = name.toLowerCase();
    const known = this.findAny(key);
    if (known?.deleted) throw errors.vaultDeleted(key);
    if (known) return known;
    if (this.options.strict || !VAULT_NAME.test(key)) throw errors.vaultNotFound(key);
    return this.create(key, {});
  }

  /** The active vault of that name (a soft-deleted one is not found). */
  find(name: string): Vault | undefined {
    const vault = this.findAny(name);
    return vault?.deleted ? undefined : vault;
  }

  /** The vault of that name, active or soft-deleted. */
  findAny(name: string): Vault | undefined {
    const key = name.toLowerCase();
    let vault = this.cache.get(key);
    if (!vault) {
      vault = this.options.vaults.find(key);
      if (vault) this.cache.set(key, vault);
    }
    return vault;
  }

  /** Active vaults. */
  list(): Vault[] {
    return this.options.vaults.list().filter((v) => !v.deleted);
  }

  /** Soft-deleted vaults. */
  listDeleted(): Vault[] {
    return this.options.vaults.list().filter((v) => v.deleted);
  }

  /** Every vault, soft-deleted ones included (whole-emulator reset). */
  listAll(): Vault[] {
    return this.options.vaults.list();
  }

  create(name: string, settings: Partial<VaultSettings>, placement: { resourceGroup?: string } = {}): Vault {
    const key = name.toLowerCase();
    if (!VAULT_NAME.test(key)) throw errors.badParameter(`Invalid vault name '${name}': use 1-63 letters, digits and hyphens.`);
    if (this.findAny(key)) throw errors.vaultExists(key);
    const vault: Vault = { name: key, createdAt: this.options.clock.now(), ...this.defaults, ...definedOnly(settings) };
    if (placement.resourceGroup !== undefined) vault.resourceGroup = placement.resourceGroup;
    checkSettings(vault);
    this.options.vaults.insert(vault);
    this.cache.set(key, vault);
    return vault;
  }

  /** Soft-deletes a vault: it keeps everything and answers nothing until recovered or purged. */
  softDelete(name: string, deletion: VaultDeletion): Vault {
    const current = this.find(name);
    if (!current) throw errors.vaultNotFound(name.toLowerCase());
    this.options.vaults.setDeleted(current.name, deletion);
    const next: Vault = { ...current, deleted: deletion };
    this.cache.set(next.name, next);
    return next;
  }

  /** Brings a soft-deleted vault back, with everything it held. */
  recover(name: string): Vault {
    const current = this.findAny(name);
    if (!current?.deleted) throw errors.vaultNotFound(name.toLowerCase());
    this.options.vaults.setDeleted(current.name, undefined);
    const { deleted: _deleted, ...next } = current;
    this.cache.set(next.name, next);
    return next;
  }

  /** Creates the vault or, if it exists, applies the settings to it. */
  ensure(name: string, settings: Partial<VaultSettings>): Vault {
    return this.find(name) ? this.update(name, settings) : this.create(name, settings);
  }

  update(name: string, settings: Partial<VaultSettings>): Vault {
    const current = this.find(name);
    if (!current) throw errors.vaultNotFound(name.toLowerCase());
    if (current.purgeProtection && settings.purgeProtection === false) throw errors.purgeProtectionPermanent();
    const next: Vault = { ...current, ...definedOnly(settings) };
    checkSettings(next);
    // Written before the vault, so that a failure to write the event leaves the vault as it was.
    if (next.permissionModel !== current.permissionModel) this.options.events?.permissionModelChanged(next.name);
    this.options.vaults.update(next.name, next);
    this.cache.set(next.name, next);
    return next;
  }

  remove(name: string): void {
    this.options.events?.vaultRemoved(name.toLowerCase());
    this.options.vaults.remove(name.toLowerCase());
    this.cache.delete(name.toLowerCase());
  }

  /** Forget cached rows (after a reset or import rewrote the store). */
  invalidate(): void {
    this.cache.clear();
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function checkSettings(settings: VaultSettings): void {
  const { retentionDays, purgeProtection, permissionModel } = settings;
  if (!Number.isInteger(retentionDays) || retentionDays < 7 || retentionDays > 90) {
    throw errors.badParameter(`softDeleteRetentionInDays must be an integer between 7 and 90, got ${String(retentionDays)}.`);
  }
  if (typeof purgeProtection !== 'boolean') throw errors.badParameter('purgeProtection must be a boolean.');
  if (permissionModel !== 'rbac' && permissionModel !== 'accessPolicy') {
    throw errors.badParameter(`permissionModel must be 'rbac' or 'accessPolicy', got ${String(permissionModel)}.`);
  }
}
