// Storage the access layer needs; store/ implements it with SQLite. Every row records where it came
// from: 'config' rows are rewritten from the config file at each start, 'admin' rows (admin API) stay.
import type { SecretPermission } from './operations.js';

export type Origin = 'config' | 'admin';

export interface StoredAssignment {
  id: string;
  principalId: string;
  roleId: string;
  /** The scope as written (validated). */
  scope: string;
  origin: Origin;
}

export interface StoredPolicy {
  vault: string;
  principalId: string;
  secrets: SecretPermission[];
  origin: Origin;
}

export interface AccessRepository {
  listAssignments(): StoredAssignment[];
  insertAssignment(assignment: StoredAssignment): void;
  deleteAssignment(id: string): void;
  listPolicies(): StoredPolicy[];
  upsertPolicy(policy: StoredPolicy): void;
  deletePolicy(vault: string, principalId: string): void;
  /** Replaces every 'config' row with these, atomically; 'admin' rows with the same keys are replaced too. */
  replaceConfigured(assignments: StoredAssignment[], policies: StoredPolicy[]): void;
}

/** Told when a vault's access policies change through the admin API (a VaultAccessPolicyChanged event). */
export interface AccessEventSink {
  accessPolicyChanged(vault: string): void;
}
