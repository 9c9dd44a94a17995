// Role assignments and access policies of the emulator, kept in memory for the per-request check and
// written through to the store. Config-declared entries are re-applied at each start; entries made
// through the admin API persist until deleted.
// Decisions are kept until the next change of assignments or policies: a client repeats the same
// operation on the same secrets with the same token, and a decision is a function of those and of what
// is granted (the built-in roles never change). An allowance that holds for every secret of the vault (an
// access policy, or a caller with no secret-scoped role assignment) is kept once for all of them; a
// denial names the secret, and is kept per secret.
import { errors } from '../errors.js';
import { authorize, type AccessPolicy, type Caller, type Decision, type RoleAssignment } from './evaluate.js';
import type { Operation, SecretPermission } from './operations.js';
import type { AccessEventSink, AccessRepository, Origin, StoredAssignment, StoredPolicy } from './ports.js';
import { findRole } from './roles.js';
import { parseScope, type Scope } from './scopes.js';
import type { PermissionModel } from '../vault/model.js';

export interface AssignmentView extends StoredAssignment {
  parsedScope: Scope;
}

/** One request's question: may this caller perform this operation here? */
export interface AuthorizeInput {
  vault: string;
  resourceGroup?: string;
  permissionModel: PermissionModel;
  operation: Operation;
  secretName?: string;
  caller: Caller;
}

export class AccessControl {
  private assignments = new Map<string, AssignmentView>();
  private byPrincipal = new Map<string, RoleAssignment[]>();
  private policies = new Map<string, StoredPolicy>();
  /** Decisions made since the last change, by request (vault, resource group, model, operation, caller[, secret]). */
  private readonly decisions = new Map<string, Decision>();
  /** Principals (lower case) with a role assignment scoped to one secret. */
  private secretScoped = new Set<string>();

  constructor(
    private readonly repository: AccessRepository,
    /** Told of access-policy changes made here (not of the config file's, applied at start). */
    private readonly events?: AccessEventSink,
  ) {
    this.reload();
  }

  /** Re-reads everything from the store. */
  reload(): void {
    this.assignments = new Map(this.repository.listAssignments().map((a) => [a.id, view(a)]));
    this.policies = new Map(this.repository.listPolicies().map((p) => [policyKey(p.vault, p.principalId), p]));
    this.index();
  }

  applyConfigured(assignments: Omit<StoredAssignment, 'origin'>[], policies: Omit<StoredPolicy, 'origin'>[]): void {
    this.repository.replaceConfigured(
      assignments.map((a) => ({ ...a, origin: 'config' })),
      policies.map((p) => ({ ...p, origin: 'config' })),
    );
    this.reload();
  }

  authorize(input: AuthorizeInput): Decision {
    // Only the caller's object id takes part in a decision (access/evaluate.ts).
    const vaultWide = `${input.vault}\u0000${input.resourceGroup ?? ''}\u0000${input.permissionModel}\u0000${input.operation}\u0000${input.caller.oid}`;
    const kept = this.decisions.get(vaultWide);
    if (kept !== undefined) return kept;
    const perSecret = `${vaultWide}\u0000${input.secretName ?? ''}`;
    let decision = this.decisions.get(perSecret);
    if (decision === undefined) {
      if (this.decisions.size >= MAX_DECISIONS) this.decisions.clear();
      decision = Object.freeze(this.decide(input));
      const forEverySecret = decision.allowed && (input.permissionModel === 'accessPolicy' || !this.secretScoped.has(input.caller.oid.toLowerCase()));
      this.decisions.set(forEverySecret ? vaultWide : perSecret, decision);
    }
    return decision;
  }

  private decide(input: AuthorizeInput): Decision {
    const oid = input.caller.oid.toLowerCase();
    const policy: AccessPolicy | undefined = input.permissionModel === 'accessPolicy' ? this.policies.get(policyKey(input.vault, oid)) : undefined;
    return authorize({
      vault: input.vault,
      ...(input.resourceGroup !== undefined && { resourceGroup: input.resourceGroup }),
      permissionModel: input.permissionModel,
      operation: input.operation,
      secretName: input.secretName,
      caller: input.caller,
      assignments: this.byPrincipal.get(oid) ?? [],
      policy,
    });
  }

  listAssignments(): AssignmentView[] {
    return [...this.assignments.values()];
  }

  getAssignment(id: string): AssignmentView | undefined {
    return this.assignments.get(id.toLowerCase());
  }

  addAssignment(input: { id: string; principalId: string; roleId: string; scope: string }, origin: Origin = 'admin'): AssignmentView {
    const id = input.id.toLowerCase();
    const stored: StoredAssignment = { id, principalId: input.principalId.toLowerCase(), roleId: input.roleId, scope: input.scope, origin };
    const existing = this.assignments.get(id);
    if (existing) {
      if (existing.principalId === stored.principalId && existing.roleId === stored.roleId && sameScope(existing.parsedScope, view(stored).parsedScope)) {
        return existing;
      }
      throw errors.conflict(`The role assignment '${id}' already exists with a different principal, role or scope.`);
    }
    this.repository.insertAssignment(stored);
    const added = view(stored);
    this.assignments.set(id, added);
    this.index();
    return added;
  }

  removeAssignment(id: string): boolean {
    const key = id.toLowerCase();
    if (!this.assignments.has(key)) return false;
    this.repository.deleteAssignment(key);
    this.assignments.delete(key);
    this.index();
    return true;
  }

  listPolicies(): StoredPolicy[] {
    return [...this.policies.values()];
  }

  getPolicy(vault: string, principalId: string): StoredPolicy | undefined {
    return this.policies.get(policyKey(vault, principalId));
  }

  setPolicy(vault: string, principalId: string, secrets: SecretPermission[], origin: Origin = 'admin'): StoredPolicy {
    const policy: StoredPolicy = { vault: vault.toLowerCase(), principalId: principalId.toLowerCase(), secrets, origin };
    // The event is written before the policy, so that a failure to write it leaves the policy as it was.
    this.events?.accessPolicyChanged(policy.vault);
    this.repository.upsertPolicy(policy);
    this.policies.set(policyKey(vault, principalId), policy);
    this.decisions.clear();
    return policy;
  }

  removePolicy(vault: string, principalId: string): boolean {
    const key = policyKey(vault, principalId);
    if (!this.policies.has(key)) return false;
    this.events?.accessPolicyChanged(vault.toLowerCase());
    this.repository.deletePolicy(vault.toLowerCase(), principalId.toLowerCase());
    this.policies.delete(key);
    this.decisions.clear();
    return true;
  }

  /** Removes everything granted to a principal (when the principal is deleted). */
  forgetPrincipal(principalId: string): void {
    const oid = principalId.toLowerCase();
    for (const a of this.listAssignments()) if (a.principalId === oid) this.removeAssignment(a.id);
    for (const p of this.listPolicies()) if (p.principalId === oid) this.removePolicy(p.vault, p.principalId);
  }

  private index(): void {
    this.decisions.clear();
    const byPrincipal = new Map<string, RoleAssignment[]>();
    const secretScoped = new Set<string>();
    for (const a of this.assignments.values()) {
      const role = findRole(a.roleId);
      if (!role) continue;
      const list = byPrincipal.get(a.principalId) ?? [];
      list.push({ id: a.id, principalId: a.principalId, roleId: role.id, scope: a.parsedScope });
      byPrincipal.set(a.principalId, list);
      if (a.parsedScope.secret !== undefined) secretScoped.add(a.principalId);
    }
    this.byPrincipal = byPrincipal;
    this.secretScoped = secretScoped;
  }
}

/** Decisions kept at most (a client with many secrets starts the cache over). */
const MAX_DECISIONS = 10_000;

function view(a: StoredAssignment): AssignmentView {
  const parsed = parseScope(a.scope);
  return { ...a, parsedScope: 'problem' in parsed ? { vault: '\u0000unusable' } : parsed };
}

function sameScope(a: Scope, b: Scope): boolean {
  return a.vault === b.vault && a.secret === b.secret && a.resourceGroup === b.resourceGroup;
}

function policyKey(vault: string, principalId: string): string {
  return `${vault.toLowerCase()}\u0000${principalId.toLowerCase()}`;
}
