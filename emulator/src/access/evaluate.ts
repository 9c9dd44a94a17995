// Authorization decisions for one request, as Key Vault makes them (spec §5, §7): a vault using the RBAC
// permission model allows an operation when an assignment of the caller covers the resource with a role
// granting the data action; a vault using access policies when the caller's policy on the vault holds the
// permission. RBAC vaults ignore access policies and access-policy vaults ignore role assignments.
// Pure functions over plain values; the caller turns a denial into the catalog's 403.
import type { PermissionModel } from '../vault/model.js';
import { requirementOf, type Operation, type SecretPermission } from './operations.js';
import { findRole, grants } from './roles.js';
import { covers, depthOf, type Resource, type Scope } from './scopes.js';

export interface RoleAssignment {
  /** GUID. */
  id: string;
  /** Object id of the principal. */
  principalId: string;
  roleId: string;
  scope: Scope;
}

export interface AccessPolicy {
  /** Lower-case vault name. */
  vault: string;
  principalId: string;
  secrets: readonly SecretPermission[];
}

/** The claims of the caller's token that identify it. */
export interface Caller {
  oid: string;
  appid?: string;
  azp?: string;
  iss?: string;
  xms_mirid?: string;
  xms_az_rid?: string;
}

export type Decision =
  | { allowed: true; assignmentId?: string }
  | { allowed: false; model: 'rbac'; action: string; resource: Resource }
  | { allowed: false; model: 'accessPolicy'; permission: SecretPermission };

export interface AuthorizationRequest {
  vault: string;
  /** The vault's resource group (compared with resource-group and ARM vault scopes). */
  resourceGroup?: string;
  permissionModel: PermissionModel;
  operation: Operation;
  secretName?: string;
  caller: Caller;
  /** The caller's role assignments (any scope). */
  assignments: readonly RoleAssignment[];
  /** The caller's access policy on this vault, if any. */
  policy?: AccessPolicy;
}

export function authorize(request: AuthorizationRequest): Decision {
  const requirement = requirementOf(request.operation, request.vault, request.secretName, request.resourceGroup);
  if (request.permissionModel === 'accessPolicy') {
    return request.policy?.secrets.includes(requirement.permission)
      ? { allowed: true }
      : { allowed: false, model: 'accessPolicy', permission: requirement.permission };
  }
  let best: RoleAssignment | undefined;
  for (const assignment of request.assignments) {
    if (assignment.principalId.toLowerCase() !== request.caller.oid.toLowerCase()) continue;
    if (!covers(assignment.scope, requirement.resource)) continue;
    const role = findRole(assignment.roleId);
    if (!role || !grants(role, requirement.action)) continue;
    if (!best || depthOf(assignment.scope) > depthOf(best.scope)) best = assignment;
  }
  if (best) return { allowed: true, assignmentId: best.id };
  return { allowed: false, model: 'rbac', action: requirement.action, resource: requirement.resource };
}

/** How Key Vault names the caller in a denial: `appid=…;oid=…;iss=…` (managed identities add their ids). */
export function describeCaller(caller: Caller, options: { numgroups?: boolean } = {}): string {
  const parts = [`appid=${caller.appid ?? caller.azp ?? ''}`, `oid=${caller.oid}`];
  if (options.numgroups) parts.push('numgroups=0');
  parts.push(`iss=${caller.iss ?? ''}`);
  if (!options.numgroups && caller.xms_mirid) parts.push(`xms_mirid=${caller.xms_mirid}`);
  if (!options.numgroups && caller.xms_az_rid) parts.push(`xms_az_rid=${caller.xms_az_rid}`);
  return parts.join(';');
}

/** The value of `x-ms-keyvault-rbac-assignment-id`: the assignment's GUID without hyphens, as observed. */
export function assignmentHeader(id: string): string {
  return id.replaceAll('-', '').toLowerCase();
}
