// Microsoft.Authorization on the management plane: role assignments at any scope (the access/ rows the
// data plane checks) and the built-in role definitions (docs role-assignments-rest, built-in roles).
import { BUILT_IN_ROLES, findRole } from '../access/roles.js';
import { ArmError, armErrors } from '../errors.js';
import { DEFAULT_RESOURCE_GROUP, resourceGroupOf } from '../vault/model.js';
import type { ArmAuthorization } from './authorization.js';
import { ArmContext, eq, ok, single, type ArmRequest, type ArmResult, type ArmServiceOptions } from './context.js';
import { armIds, isGuid, segmentsOf, type ArmTarget } from './ids.js';
import type { PrincipalType, RoleAssignmentRecord } from './model.js';
import { presentRoleAssignment, presentRoleDefinition, type AssignmentView } from './presenters.js';

export class RoleAssignments {
  constructor(private readonly ctx: ArmContext) {}

  private get o(): ArmServiceOptions {
    return this.ctx.o;
  }

  private get authorization(): ArmAuthorization {
    return this.ctx.authorization;
  }

  /** A scope ARM can assign roles at in this emulator; throws ARM's 4xx for one that does not exist. */
  private checkScope(scope: string): void {
    if (scope === '/') return;
    const s = segmentsOf(scope) ?? [];
    if (eq(s[0] ?? '', 'providers') && eq(s[1] ?? '', 'Microsoft.Management')) return;
    if (!eq(s[0] ?? '', 'subscriptions') || s[1] === undefined) throw armErrors.badRequest(`The scope '${scope}' is not valid for a role assignment.`);
    this.ctx.subscription(s[1]);
    if (s.length === 2) return;
    if (!eq(s[2] ?? '', 'resourceGroups') || s[3] === undefined) throw armErrors.badRequest(`The scope '${scope}' is not valid for a role assignment.`);
    this.ctx.requireGroup(s[3]);
    if (s.length === 4) return;
    if (!eq(s[4] ?? '', 'providers') || s[5] === undefined) throw armErrors.badRequest(`The scope '${scope}' is not valid for a role assignment.`);
    if (!eq(s[5], 'Microsoft.KeyVault')) throw armErrors.invalidNamespace(s[5]);
    if (!eq(s[6] ?? '', 'vaults') || s[7] === undefined || (s.length !== 8 && !(s.length === 10 && eq(s[8] ?? '', 'secrets')))) {
      throw armErrors.invalidResourceType(s.slice(6, s.length % 2 === 0 ? -1 : undefined).join('/'), 'Microsoft.KeyVault', '');
    }
    this.ctx.requireVault(s[3], s[7]);
  }

  /** An assignment's scope in ARM form (the admin API and config file also take short forms). */
  private armScopeOf(scope: string): string {
    const short = /^\/vaults\/([^/]+)(\/secrets\/([^/]+))?\/?$/i.exec(scope.trim());
    if (!short) return scope.trim() === '' ? '/' : scope.trim();
    const vault = short[1]!.toLowerCase();
    const found = this.o.vaults.findAny(vault);
    const id = armIds.vault(this.o.subscriptionId, found ? resourceGroupOf(found) : DEFAULT_RESOURCE_GROUP, vault);
    return short[3] === undefined ? id : `${id}/secrets/${short[3]}`;
  }

  private principalTypeOf(principalId: string): PrincipalType | undefined {
    const principal = this.o.directory.find(principalId);
    if (!principal) return undefined;
    return principal.kind === 'user' ? 'User' : 'ServicePrincipal';
  }

  private assignmentView(assignment: { id: string; principalId: string; roleId: string; scope: string }): AssignmentView {
    const stored = this.o.repository.findRoleAssignment(assignment.id);
    const record: RoleAssignmentRecord =
      stored && stored.principalId === assignment.principalId && stored.roleId === assignment.roleId
        ? stored
        : {
            principalId: assignment.principalId,
            roleId: assignment.roleId,
            principalType: this.principalTypeOf(assignment.principalId) ?? 'ServicePrincipal',
            createdOn: 0,
            updatedOn: 0,
            createdBy: 'kv-emulator',
            updatedBy: 'kv-emulator',
          };
    return { id: assignment.id, principalId: assignment.principalId, roleId: assignment.roleId, scope: this.armScopeOf(assignment.scope), record };
  }

  private sameScope(a: string, b: string): boolean {
    const na = this.authorization.normalize(a);
    return na !== undefined && na === this.authorization.normalize(b);
  }

  roleAssignment(request: ArmRequest, method: string, target: Extract<ArmTarget, { kind: 'roleAssignment' }>): ArmResult {
    this.ctx.version(request, 'authorization');
    const scope = target.scope;
    const id = armIds.roleAssignment(scope, target.name);
    const existing = this.o.access.getAssignment(target.name);
    const here = existing && this.sameScope(existing.scope, scope) ? existing : undefined;
    switch (method) {
      case 'GET': {
        this.checkScopeSubscription(scope);
        this.ctx.check(request, 'Microsoft.Authorization/roleAssignments/read', id);
        if (!here) throw armErrors.roleAssignmentNotFound(target.name);
        return ok(presentRoleAssignment(this.o.subscriptionId, this.assignmentView(here)));
      }
      case 'DELETE': {
        this.checkScopeSubscription(scope);
        this.ctx.check(request, 'Microsoft.Authorization/roleAssignments/delete', id, here ? { roleId: here.roleId } : {});
        if (!here) return { status: 204 };
        const view = this.assignmentView(here);
        this.o.atomically(() => {
          this.o.access.removeAssignment(here.id);
          this.o.repository.removeRoleAssignment(here.id);
        });
        return ok(presentRoleAssignment(this.o.subscriptionId, view));
      }
      case 'PUT':
        return this.putRoleAssignment(request, target, id, existing);
      default:
        throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
  }

  private checkScopeSubscription(scope: string): void {
    const s = segmentsOf(scope) ?? [];
    if (eq(s[0] ?? '', 'subscriptions') && s[1] !== undefined) this.ctx.subscription(s[1]);
  }

  private putRoleAssignment(
    request: ArmRequest,
    target: Extract<ArmTarget, { kind: 'roleAssignment' }>,
    id: string,
    existing: { id: string; principalId: string; roleId: string; scope: string } | undefined,
  ): ArmResult {
    const scope = target.scope;
    const body = request.body as { properties?: Record<string, unknown> } | undefined;
    const properties = body && typeof body === 'object' ? body.properties : undefined;
    if (!properties || typeof properties !== 'object') throw armErrors.invalidRequestContent("Required property 'properties' not found in JSON. Path ''");
    const roleDefinitionId = properties.roleDefinitionId;
    if (typeof roleDefinitionId !== 'string') throw armErrors.invalidRequestContent("Required property 'roleDefinitionId' not found in JSON. Path 'properties'");
    const role = findRole(roleDefinitionId);
    this.checkScopeSubscription(scope);
    this.ctx.check(request, 'Microsoft.Authorization/roleAssignments/write', id, role ? { roleId: role.id } : {});
    if (!isGuid(target.name)) throw armErrors.invalidRoleAssignmentId(target.name);
    if (!role) {
      const guid = /([0-9a-f-]{36})$/i.exec(roleDefinitionId)?.[1];
      if (!guid) throw armErrors.invalidRoleDefinitionId(roleDefinitionId);
      throw armErrors.roleDefinitionDoesNotExist(guid, 400);
    }
    const principalId = properties.principalId;
    if (!isGuid(principalId)) throw armErrors.invalidPrincipalId(String(principalId));
    const actualType = this.principalTypeOf(principalId);
    if (!actualType) throw armErrors.principalNotFound(principalId, this.o.tenantId);
    const principalType = properties.principalType;
    if (principalType !== undefined && principalType !== null) {
      if (typeof principalType !== 'string') throw armErrors.invalidRequestContent("Error converting value to type 'PrincipalType'. Path 'properties.principalType'");
      if (principalType.toLowerCase() !== actualType.toLowerCase()) throw armErrors.unmatchedPrincipalType(principalId, actualType, principalType);
    }
    this.checkScope(scope);
    const oid = principalId.toLowerCase();
    if (existing) {
      if (existing.principalId === oid && existing.roleId === role.id && this.sameScope(existing.scope, scope)) {
        return ok(presentRoleAssignment(this.o.subscriptionId, this.assignmentView(existing)));
      }
      throw armErrors.roleAssignmentUpdateNotPermitted();
    }
    const duplicate = this.o.access.listAssignments().find((a) => a.principalId === oid && a.roleId === role.id && this.sameScope(a.scope, scope));
    if (duplicate) throw armErrors.roleAssignmentExists();
    const now = this.ctx.now();
    const record: RoleAssignmentRecord = {
      principalId: oid,
      roleId: role.id,
      principalType: actualType,
      ...(typeof properties.description === 'string' && { description: properties.description }),
      ...(typeof properties.condition === 'string' && { condition: properties.condition }),
      ...(typeof properties.conditionVersion === 'string' && { conditionVersion: properties.conditionVersion }),
      createdOn: now,
      updatedOn: now,
      createdBy: request.caller.oid,
      updatedBy: request.caller.oid,
    };
    const assignment = this.o.atomically(() => {
      const added = this.o.access.addAssignment({ id: target.name, principalId: oid, roleId: role.id, scope: scope === '/' ? '/' : scope });
      this.o.repository.putRoleAssignment(added.id, record);
      return added;
    });
    return ok(presentRoleAssignment(this.o.subscriptionId, this.assignmentView(assignment)), 201);
  }

  /**
   * GET {scope}/providers/Microsoft.Authorization/roleAssignments: without a filter, the assignments at,
   * above and below the scope; `atScope()` at or above it; `principalId eq '{id}'` / `assignedTo('{id}')`
   * one principal's (docs role-assignments-list-rest). Assignments the caller may not read are left out.
   */
  listRoleAssignments(request: ArmRequest, scope: string): ArmResult {
    this.checkScopeSubscription(scope);
    this.ctx.version(request, 'authorization');
    const filter = single(request.query.$filter);
    let atScope = false;
    let principal: string | undefined;
    if (filter !== undefined && filter.trim() !== '') {
      for (const clause of filter.split(/\s+and\s+/i)) {
        const c = clause.trim();
        if (/^atScope\(\)$/i.test(c)) atScope = true;
        else {
          const match = /^principalId\s+eq\s+'([^']+)'$/i.exec(c) ?? /^assignedTo\('([^']+)'\)$/i.exec(c);
          if (!match) throw armErrors.invalidFilter(filter);
          principal = match[1]!.toLowerCase();
        }
      }
    }
    const value = this.o.access
      .listAssignments()
      .filter((a) => principal === undefined || a.principalId === principal)
      .filter((a) => this.authorization.covers(a.scope, scope) || (!atScope && this.authorization.below(a.scope, scope)))
      .map((a) => this.assignmentView(a))
      .filter((v) => this.authorization.allows(request.caller, 'Microsoft.Authorization/roleAssignments/read', armIds.roleAssignment(v.scope, v.id)))
      .map((v) => presentRoleAssignment(this.o.subscriptionId, v));
    return ok({ value });
  }

  /** Built-in role definitions are the tenant's: any signed-in caller reads them, at any scope. */
  listRoleDefinitions(request: ArmRequest, scope: string): ArmResult {
    this.checkScopeSubscription(scope);
    this.ctx.version(request, 'authorization');
    const filter = single(request.query.$filter);
    let roles = BUILT_IN_ROLES;
    if (filter !== undefined && filter.trim() !== '') {
      const name = /^\s*roleName\s+eq\s+'([^']*)'\s*$/i.exec(filter);
      const type = /^\s*type\s+eq\s+'([^']*)'\s*$/i.exec(filter);
      if (name) roles = roles.filter((r) => eq(r.name, name[1]!));
      else if (type) roles = eq(type[1]!, 'BuiltInRole') ? roles : [];
      else throw armErrors.invalidFilter(filter);
    }
    const subscriptionId = scope === '/' || !/^\/subscriptions\//i.test(scope) ? undefined : this.o.subscriptionId;
    return ok({ value: roles.map((r) => presentRoleDefinition(subscriptionId, r)) });
  }

  getRoleDefinition(request: ArmRequest, scope: string, id: string): ArmResult {
    this.checkScopeSubscription(scope);
    this.ctx.version(request, 'authorization');
    const role = isGuid(id) ? findRole(id) : undefined;
    if (!role) throw armErrors.roleDefinitionDoesNotExist(id);
    const subscriptionId = scope === '/' || !/^\/subscriptions\//i.test(scope) ? undefined : this.o.subscriptionId;
    return ok(presentRoleDefinition(subscriptionId, role));
  }
}
