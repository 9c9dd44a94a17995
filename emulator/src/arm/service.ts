// The management plane: a subset of Azure Resource Manager with the Key Vault, Resources and
// Authorization providers behind it, over the emulator's one state. A vault made here is the vault the
// data plane serves (vault/ VaultService); access policies and role assignments made here are the ones the
// data plane checks (access/ AccessControl); a change made here changes the data plane's behaviour at
// once. Each operation runs in ARM's order: subscription, api-version, authorization (403
// AuthorizationFailed), then the provider's existence and validation checks, then the change.
// Framework-free: a request is plain values, an answer is a status, a body and headers.
import { ArmError, armErrors } from '../errors.js';
import { DEFAULT_RESOURCE_GROUP, resourceGroupOf } from '../vault/model.js';
import type { ArmAuthorization } from './authorization.js';
import { ArmContext, eq, ok, single, type ArmRequest, type ArmResult, type ArmServiceOptions } from './context.js';
import { armIds, parseTarget, type ArmTarget } from './ids.js';
import { isKnownLocation, LOCATIONS, normalizeLocation } from './locations.js';
import type { ResourceGroupRecord } from './model.js';
import { presentResourceGroup, presentSubscription, presentTenant } from './presenters.js';
import { RoleAssignments } from './role-assignments.js';
import { readTags } from './vault-resource.js';
import { VaultResources } from './vaults.js';

const RESOURCE_GROUP_NAME = /^[-\w._()]{1,90}$/u;

export type { ArmCallerClaims, ArmRequest, ArmResult, ArmServiceOptions } from './context.js';

export class ArmService {
  readonly authorization: ArmAuthorization;
  private readonly ctx: ArmContext;
  private readonly vaults: VaultResources;
  private readonly roles: RoleAssignments;

  constructor(options: ArmServiceOptions) {
    this.ctx = new ArmContext(options);
    this.authorization = this.ctx.authorization;
    this.vaults = new VaultResources(this.ctx);
    this.roles = new RoleAssignments(this.ctx);
  }

  private get o(): ArmServiceOptions {
    return this.ctx.o;
  }

  get subscriptionId(): string {
    return this.o.subscriptionId;
  }

  /** Answers one management-plane request (errors are thrown as ArmErrors). */
  handle(request: ArmRequest): ArmResult {
    this.vaults.purgeExpiredVaults();
    const target = parseTarget(request.path);
    const method = request.method.toUpperCase();
    switch (target.kind) {
      case 'subscriptions':
        return this.only(method, ['GET'], () => this.listSubscriptions(request));
      case 'tenants':
        return this.only(method, ['GET'], () => {
          this.ctx.version(request, 'resources');
          return ok({ value: [presentTenant(this.o.tenantId)] });
        });
      case 'subscription':
        return this.only(method, ['GET'], () => this.getSubscription(request, target.subscriptionId));
      case 'resourceGroups':
        return this.only(method, ['GET'], () => this.listResourceGroups(request, target.subscriptionId));
      case 'resourceGroup':
        return this.resourceGroup(request, method, target);
      case 'resources':
        return this.only(method, ['GET'], () => this.vaults.listResources(request, target.subscriptionId, target.resourceGroup));
      case 'vaults':
        return this.only(method, ['GET'], () => this.vaults.listVaults(request, target.subscriptionId, target.resourceGroup));
      case 'vault':
        return this.vaults.vault(request, method, target);
      case 'accessPolicies':
        return this.only(method, ['PUT'], () => this.vaults.updateAccessPolicies(request, target));
      case 'checkNameAvailability':
        return this.only(method, ['POST'], () => this.vaults.checkNameAvailability(request, target.subscriptionId));
      case 'deletedVaults':
        return this.only(method, ['GET'], () => this.vaults.listDeletedVaults(request, target.subscriptionId));
      case 'deletedVault':
        return this.only(method, ['GET'], () => this.vaults.getDeletedVault(request, target));
      case 'purgeDeletedVault':
        return this.only(method, ['POST'], () => this.vaults.purgeDeletedVault(request, target));
      case 'operation':
        return this.only(method, ['GET'], () => this.vaults.operation(request, target));
      case 'roleAssignments':
        return this.only(method, ['GET'], () => this.roles.listRoleAssignments(request, target.scope));
      case 'roleAssignment':
        return this.roles.roleAssignment(request, method, target);
      case 'roleDefinitions':
        return this.only(method, ['GET'], () => this.roles.listRoleDefinitions(request, target.scope));
      case 'roleDefinition':
        return this.only(method, ['GET'], () => this.roles.getRoleDefinition(request, target.scope, target.id));
      case 'emptyList':
        // Managed HSM is not served: its collections are empty (what `az keyvault list-deleted` also reads).
        return this.only(method, ['GET'], () => {
          this.ctx.subscription(target.subscriptionId);
          this.ctx.version(request, 'keyVault', { type: target.type });
          return ok({ value: [] });
        });
      case 'unsupported':
        return this.unsupported(request, target);
      case 'unknown':
        throw armErrors.notFound(`The requested path ${request.path} is not a resource the management plane serves.`);
    }
  }

  private only(method: string, allowed: string[], run: () => ArmResult): ArmResult {
    if (method === 'HEAD' && allowed.includes('GET')) return { ...run(), body: undefined };
    if (!allowed.includes(method)) {
      throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
    return run();
  }

  private unsupported(request: ArmRequest, target: Extract<ArmTarget, { kind: 'unsupported' }>): ArmResult {
    if (target.subscriptionId !== undefined) this.ctx.subscription(target.subscriptionId);
    const version = single(request.query['api-version']) ?? '';
    if (eq(target.namespace, 'Microsoft.KeyVault') || eq(target.namespace, 'Microsoft.Authorization')) {
      throw armErrors.invalidResourceType(target.type ?? '', target.namespace, version);
    }
    throw armErrors.invalidNamespace(target.namespace);
  }

  private listSubscriptions(request: ArmRequest): ArmResult {
    this.ctx.version(request, 'resources');
    const visible = this.authorization.seesSubscription(request.caller);
    const value = visible ? [presentSubscription({ subscriptionId: this.o.subscriptionId, tenantId: this.o.tenantId })] : [];
    return ok({ value, count: { type: 'Total', value: value.length } });
  }

  private getSubscription(request: ArmRequest, subscriptionId: string): ArmResult {
    this.ctx.subscription(subscriptionId);
    this.ctx.version(request, 'resources');
    if (!this.authorization.seesSubscription(request.caller)) throw armErrors.subscriptionNotFound(subscriptionId);
    return ok(presentSubscription({ subscriptionId: this.o.subscriptionId, tenantId: this.o.tenantId }));
  }

  private resourceGroup(request: ArmRequest, method: string, target: Extract<ArmTarget, { kind: 'resourceGroup' }>): ArmResult {
    this.ctx.subscription(target.subscriptionId);
    this.ctx.version(request, 'resources');
    const scope = armIds.resourceGroup(target.subscriptionId, target.resourceGroup);
    const name = target.resourceGroup;
    switch (method) {
      case 'GET':
      case 'HEAD': {
        this.ctx.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/read', scope);
        const group = this.ctx.findGroup(name);
        if (method === 'HEAD') return { status: group ? 204 : 404 };
        if (!group) throw armErrors.resourceGroupNotFound(name);
        return ok(presentResourceGroup(this.o.subscriptionId, group));
      }
      case 'PUT': {
        this.ctx.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/write', scope);
        if (!RESOURCE_GROUP_NAME.test(name) || name.endsWith('.')) throw armErrors.invalidResourceGroupName(name);
        const body = (request.body ?? {}) as Record<string, unknown>;
        if (typeof body !== 'object' || Array.isArray(body)) throw armErrors.invalidRequestContent("Error converting value to type 'ResourceGroup'. Path ''");
        const location = typeof body.location === 'string' ? body.location : undefined;
        if (location === undefined || location.trim() === '') throw armErrors.locationRequired();
        const normalized = normalizeLocation(location);
        if (!isKnownLocation(normalized)) throw armErrors.resourceGroupLocationNotAvailable(location, LOCATIONS);
        const tags = readTags(body.tags) ?? {};
        const existing = this.o.repository.findResourceGroup(name) ?? (eq(name, DEFAULT_RESOURCE_GROUP) ? this.ctx.findGroup(name) : undefined);
        if (existing && existing.location !== normalized) throw armErrors.resourceGroupLocationConflict(existing.name, existing.location, location);
        const group: ResourceGroupRecord = existing ? { ...existing, tags } : { name, location: normalized, tags, createdAt: this.ctx.now() };
        this.o.repository.putResourceGroup(group);
        return ok(presentResourceGroup(this.o.subscriptionId, group), existing ? 200 : 201);
      }
      case 'PATCH': {
        this.ctx.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/write', scope);
        const group = this.ctx.requireGroup(name);
        const body = (request.body ?? {}) as Record<string, unknown>;
        const tags = readTags(body.tags);
        const next = tags === undefined ? group : { ...group, tags };
        this.o.repository.putResourceGroup(next);
        return ok(presentResourceGroup(this.o.subscriptionId, next));
      }
      case 'DELETE': {
        this.ctx.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/delete', scope);
        const group = this.ctx.findGroup(name);
        if (!group) throw armErrors.resourceGroupNotFound(name);
        // The group the emulator puts vaults made outside ARM in carries a CanNotDelete lock.
        if (eq(name, DEFAULT_RESOURCE_GROUP)) throw armErrors.scopeLocked(scope.replace('/resourceGroups/', '/resourcegroups/'), scope);
        this.o.atomically(() => {
          for (const vault of this.o.vaults.list()) if (eq(resourceGroupOf(vault), name)) this.vaults.softDeleteVault(vault);
          this.ctx.forgetAssignmentsAt(scope);
          this.o.repository.removeResourceGroup(name);
        });
        return ok();
      }
      default:
        throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
  }

  private listResourceGroups(request: ArmRequest, subscriptionId: string): ArmResult {
    this.ctx.subscription(subscriptionId);
    this.ctx.version(request, 'resources');
    const value = this.ctx.allGroups()
      .filter((g) => this.authorization.allows(request.caller, 'Microsoft.Resources/subscriptions/resourceGroups/read', armIds.resourceGroup(subscriptionId, g.name)))
      .map((g) => presentResourceGroup(this.o.subscriptionId, g));
    return ok({ value });
  }

  /** Purges the soft-deleted vaults whose retention has run out on the emulator clock. */
  purgeExpiredVaults(): number {
    return this.vaults.purgeExpiredVaults();
  }

  /** Forgets what ARM keeps, for a whole-emulator reset (vaults, assignments and policies are reset by their owners). */
  reset(): void {
    this.o.repository.clear();
  }
}
