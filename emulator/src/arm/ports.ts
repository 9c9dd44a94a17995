// Storage the management plane needs; store/arm-repository.ts implements it with SQLite.
import type { ResourceGroupRecord, RoleAssignmentRecord, VaultRecord } from './model.js';

export interface ArmRepository {
  findResourceGroup(name: string): ResourceGroupRecord | undefined;
  listResourceGroups(): ResourceGroupRecord[];
  putResourceGroup(group: ResourceGroupRecord): void;
  removeResourceGroup(name: string): void;
  findVault(name: string): VaultRecord | undefined;
  putVault(name: string, record: VaultRecord): void;
  removeVault(name: string): void;
  findRoleAssignment(id: string): RoleAssignmentRecord | undefined;
  putRoleAssignment(id: string, record: RoleAssignmentRecord): void;
  removeRoleAssignment(id: string): void;
  /** Forgets everything (whole-emulator reset). */
  clear(): void;
}
