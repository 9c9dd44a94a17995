// Authorization of the management plane by the same role assignments the data plane uses (docs
// role-based-access-control/overview, built-in roles): an action over a scope is allowed when an
// assignment of the caller covers the scope (it is at the scope or above it) with a role whose `actions`
// match the action and whose `notActions` do not. Data roles grant their `dataActions` only on the data
// plane; control-plane roles (Owner, Contributor, Key Vault Contributor, Reader, User Access
// Administrator) grant nothing there. Key Vault Data Access Administrator's ABAC condition limits the
// roles it may assign or remove to the Key Vault data roles. Pure: the caller's assignments and a way to
// find a vault's resource group come in, a decision goes out.
import { armErrors } from '../errors.js';
import { findRole, grantsAction } from '../access/roles.js';
import { armIds } from './ids.js';

/** The claims of the caller's token that ARM uses to name it. */
export interface ArmCaller {
  oid: string;
  appid?: string;
  azp?: string;
  idtyp?: string;
  upn?: string;
  unique_name?: string;
}

export interface AssignmentForArm {
  id: string;
  principalId: string;
  roleId: string;
  /** The scope as stored: '/', a short form, or an ARM id. */
  scope: string;
}

/** The Key Vault data roles that Key Vault Data Access Administrator may assign and remove (its condition). */
const DATA_ACCESS_ADMINISTRATOR = '8b54135c-b56d-4d72-a534-26097cfdc8d8';
const ASSIGNABLE_BY_DATA_ACCESS_ADMINISTRATOR = new Set([
  '00482a5a-887f-4fb3-b363-3b7fe8e74483',
  'a4417e6f-fecd-4de8-b567-7b0420556985',
  '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  'e147488a-f6f5-4113-8e2d-b22465e65bf6',
  '12338af0-0e69-4776-bea7-57ae8d297424',
  '21090545-7ca7-4776-b22c-e363652d74d2',
  'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  '4633458b-17de-408a-b874-0445c86b69e6',
]);

export interface ArmAuthorizationOptions {
  subscriptionId: string;
  /** Every role assignment of the emulator. */
  assignments: () => readonly AssignmentForArm[];
  /** The resource group of a vault, for scopes written in the short form (/vaults/<v>). */
  resourceGroupOfVault: (vault: string) => string;
}

/** For a role-assignment write or delete: the role being assigned or removed (conditions look at it). */
export interface ActionContext {
  roleId?: string;
}

export class ArmAuthorization {
  constructor(private readonly options: ArmAuthorizationOptions) {}

  /**
   * A scope as a lower-cased ARM path for prefix comparison ('' is the root, covering everything).
   * The emulator has one subscription: the one a scope names is taken as it. Undefined: no ARM scope.
   */
  normalize(scope: string): string | undefined {
    const path = scope.trim().replace(/\/+$/, '');
    if (path === '' || path === '/') return '';
    if (/^\/providers\/Microsoft\.Management\/managementGroups\/[^/]+$/i.test(path)) return '';
    const short = /^\/vaults\/([^/]+)(\/secrets\/[^/]+)?$/i.exec(path);
    if (short) {
      const vault = short[1]!.toLowerCase();
      return `${armIds.vault(this.options.subscriptionId, this.options.resourceGroupOfVault(vault), vault)}${short[2] ?? ''}`.toLowerCase();
    }
    const arm = /^\/subscriptions\/[^/]+(\/.*)?$/i.exec(path);
    if (arm) return `/subscriptions/${this.options.subscriptionId}${arm[1] ?? ''}`.toLowerCase();
    return undefined;
  }

  /** Whether an assignment at `assignmentScope` reaches `target` (it is at the target or above it). */
  covers(assignmentScope: string, target: string): boolean {
    const prefix = this.normalize(assignmentScope);
    const path = this.normalize(target);
    if (prefix === undefined || path === undefined) return false;
    return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
  }

  /** Whether a scope lies at or below `scope` (the other way round). */
  below(assignmentScope: string, scope: string): boolean {
    return this.covers(scope, assignmentScope);
  }

  assignmentsOf(principalId: string): AssignmentForArm[] {
    const oid = principalId.toLowerCase();
    return this.options.assignments().filter((a) => a.principalId.toLowerCase() === oid);
  }

  allows(caller: ArmCaller, action: string, scope: string, context: ActionContext = {}): boolean {
    for (const assignment of this.assignmentsOf(caller.oid)) {
      const role = findRole(assignment.roleId);
      if (!role || !grantsAction(role, action)) continue;
      if (role.id === DATA_ACCESS_ADMINISTRATOR && /^Microsoft\.Authorization\/roleAssignments\/(write|delete)$/i.test(action)) {
        if (context.roleId === undefined || !ASSIGNABLE_BY_DATA_ACCESS_ADMINISTRATOR.has(context.roleId.toLowerCase())) continue;
      }
      if (this.covers(assignment.scope, scope)) return true;
    }
    return false;
  }

  /** Throws ARM's 403 AuthorizationFailed unless the caller may perform `action` over `scope`. */
  check(caller: ArmCaller, action: string, scope: string, context: ActionContext = {}): void {
    if (this.allows(caller, action, scope, context)) return;
    throw armErrors.authorizationFailed({ client: clientOf(caller), objectId: caller.oid, action, scope });
  }

  /** Whether the caller holds any role assignment in the subscription (ARM then lists it). */
  seesSubscription(caller: ArmCaller): boolean {
    return this.assignmentsOf(caller.oid).some((a) => this.normalize(a.scope) !== undefined);
  }
}

/** How ARM names the caller in AuthorizationFailed: a user by its sign-in name, an application by its object id (observed). */
export function clientOf(caller: ArmCaller): string {
  if (caller.idtyp === 'user') return caller.upn ?? caller.unique_name ?? caller.oid;
  return caller.oid;
}
