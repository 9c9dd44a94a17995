// Whole-emulator state operations for the admin API: export to JSON, import from it, reset.
// Export carries values: it is an admin operation, never exposed on the data plane.
import { errors } from '../errors.js';
import type { SecretSnapshot, VaultDeletion, VaultSettings } from './model.js';
import type { SecretService } from './secrets.js';
import { checkSettings, type VaultService } from './vaults.js';

export interface ExportedVault extends VaultSettings {
  name: string;
  /** Absent: the default group (vaults made outside the management plane). */
  resourceGroup?: string;
  /** Present for a vault soft-deleted through the management plane. */
  deleted?: VaultDeletion;
  secrets: SecretSnapshot[];
}

export interface ExportedState {
  format: 'kv-emulator-state';
  version: 1;
  exportedAt: string;
  vaults: ExportedVault[];
}

export class StateService {
  constructor(
    private readonly options: {
      vaults: VaultService;
      secrets: SecretService;
      now: () => number;
      /** Runs work in one store transaction. */
      atomically: <T>(work: () => T) => T;
      /**
       * Validates the settings an export carries beyond the ones this module checks (network settings),
       * throwing on the first bad field (`path` is the vault's, as `vaults[0].`); returns them canonical.
       */
      parseSettings?: (vault: Record<string, unknown>, path: string) => Partial<VaultSettings>;
    },
  ) {}

  exportState(): ExportedState {
    const { vaults, secrets } = this.options;
    return {
      format: 'kv-emulator-state',
      version: 1,
      exportedAt: new Date(this.options.now()).toISOString(),
      vaults: vaults.listAll().map((vault) => ({
        name: vault.name,
        retentionDays: vault.retentionDays,
        purgeProtection: vault.purgeProtection,
        permissionModel: vault.permissionModel,
        publicNetworkAccess: vault.publicNetworkAccess,
        networkAcls: vault.networkAcls,
        privateEndpointConnections: vault.privateEndpointConnections,
        ...(vault.resourceGroup !== undefined && { resourceGroup: vault.resourceGroup }),
        ...(vault.deleted !== undefined && { deleted: vault.deleted }),
        secrets: secrets.exportVault(vault),
      })),
    };
  }

  /** Replaces every vault and secret with the exported state. */
  importState(state: unknown): { vaults: number; secrets: number } {
    const parsed = parseState(state);
    const extra = parsed.vaults.map((vault, i) => this.options.parseSettings?.(vault as unknown as Record<string, unknown>, `vaults[${i}].`) ?? {});
    try {
      return this.options.atomically(() => {
        this.reset();
        let count = 0;
        for (const [i, exported] of parsed.vaults.entries()) {
          const vault = this.options.vaults.create(
            exported.name,
            {
              ...extra[i],
              retentionDays: exported.retentionDays,
              purgeProtection: exported.purgeProtection,
              permissionModel: exported.permissionModel,
            },
            exported.resourceGroup === undefined ? {} : { resourceGroup: exported.resourceGroup },
          );
          this.options.secrets.importVault(vault, exported.secrets);
          if (exported.deleted) this.options.vaults.softDelete(vault.name, exported.deleted);
          count += exported.secrets.length;
        }
        return { vaults: parsed.vaults.length, secrets: count };
      });
    } finally {
      this.options.vaults.invalidate();
    }
  }

  /** Deletes every vault and secret. */
  reset(): void {
    const { vaults, secrets } = this.options;
    try {
      this.options.atomically(() => {
        for (const vault of vaults.listAll()) {
          secrets.importVault(vault, []);
          vaults.remove(vault.name);
        }
      });
    } finally {
      vaults.invalidate();
    }
  }
}

function parseState(state: unknown): ExportedState {
  const s = state as Partial<ExportedState> | null;
  if (!s || s.format !== 'kv-emulator-state' || s.version !== 1 || !Array.isArray(s.vaults)) {
    throw errors.badParameter("The body is not an exported state (expected format 'kv-emulator-state', version 1).");
  }
  for (const [i, vault] of s.vaults.entries()) {
    if (!vault || typeof vault.name !== 'string' || !Array.isArray(vault.secrets)) throw errors.badParameter(`vaults[${i}] is malformed.`);
    if (vault.resourceGroup !== undefined && (typeof vault.resourceGroup !== 'string' || !/^[-\w._()]{1,90}$/u.test(vault.resourceGroup))) {
      throw errors.badParameter(`vaults[${i}].resourceGroup is malformed.`);
    }
    const deleted = vault.deleted as Partial<VaultDeletion> | undefined;
    if (deleted !== undefined && (!deleted || !Number.isInteger(deleted.deletedAt) || !Number.isInteger(deleted.scheduledPurgeAt))) {
      throw errors.badParameter(`vaults[${i}].deleted is malformed.`);
    }
    checkSettings(vault);
    for (const [j, secret] of vault.secrets.entries()) {
      const ok =
        secret &&
        typeof secret.name === 'string' &&
        /^[0-9a-zA-Z-]{1,127}$/.test(secret.name) &&
        Array.isArray(secret.versions) &&
        secret.versions.length > 0 &&
        secret.versions.every((v) => v && typeof v.version === 'string' && /^[0-9a-f]{32}$/.test(v.version) && typeof v.value === 'string' && v.attributes && typeof v.attributes.enabled === 'boolean' && Number.isInteger(v.attributes.created) && Number.isInteger(v.attributes.updated));
      if (!ok) throw errors.badParameter(`vaults[${i}].secrets[${j}] is malformed.`);
      if (typeof secret.managed !== 'boolean') secret.managed = false;
    }
  }
  return s as ExportedState;
}
