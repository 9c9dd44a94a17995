// The management plane: a subset of Azure Resource Manager with the Key Vault, Resources and
// Authorization providers behind it, over the emulator's one state. A vault made here is the vault the
// data plane serves (vault/ VaultService); access policies and role assignments made here are the ones the
// data plane checks (access/ AccessControl); a change made here changes the data plane's behaviour at
// once. Each operation runs in ARM's order: subscription, api-version, authorization (403
// AuthorizationFailed), then the provider's existence and validation checks, then the change.
// Framework-free: a request is plain values, an answer is a status, a body and headers.
import { randomUUID } from 'node:crypto';
import { parsePermissions } from '../access/config.js';
import type { SecretPermission } from '../access/operations.js';
import { BUILT_IN_ROLES, findRole } from '../access/roles.js';
import type { AccessControl } from '../access/service.js';
import { ArmError, armErrors } from '../errors.js';
import type { Directory } from '../identity/principals.js';
import { DEFAULT_RESOURCE_GROUP, resourceGroupOf, type Vault } from '../vault/model.js';
import type { Clock } from '../vault/ports.js';
import type { SecretService } from '../vault/secrets.js';
import type { VaultService } from '../vault/vaults.js';
import { checkArmApiVersion, rbacByDefault, type Namespace } from './api-versions.js';
import { ArmAuthorization, type ArmCaller } from './authorization.js';
import { armIds, isGuid, parseTarget, segmentsOf, type ArmTarget } from './ids.js';
import { isKnownLocation, LOCATIONS, normalizeLocation } from './locations.js';
import type { AccessPolicyEntry, PrincipalType, ResourceGroupRecord, RoleAssignmentRecord, SystemData, VaultRecord } from './model.js';
import type { ArmRepository } from './ports.js';
import {
  presentAccessPolicy,
  presentDeletedVault,
  presentGenericResource,
  presentResourceGroup,
  presentRoleAssignment,
  presentRoleDefinition,
  presentSubscription,
  presentTenant,
  presentVault,
  type AssignmentView,
} from './presenters.js';
import {
  ADFS_TENANT,
  readAccessPolicies,
  readTags,
  readVaultPatch,
  readVaultPut,
  samePolicyHolder,
  secretPermissionsOf,
  unionPermissions,
  withoutPermissions,
  type VaultRequest,
} from './vault-resource.js';

export interface ArmServiceOptions {
  vaults: VaultService;
  secrets: SecretService;
  access: AccessControl;
  directory: Directory;
  repository: ArmRepository;
  clock: Clock;
  tenantId: string;
  subscriptionId: string;
  /** Where vaults made outside ARM are said to be (the emulator's region). */
  region: string;
  /** Runs work in one store transaction. */
  atomically: <T>(work: () => T) => T;
}

/** The claims of the caller that name it, as the token carries them. */
export type ArmCallerClaims = ArmCaller & { xms_mirid?: string };

export interface ArmRequest {
  method: string;
  /** The path as sent, without the query. */
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  caller: ArmCallerClaims;
  /** scheme://host[:port] the client called. */
  origin: string;
}

export interface ArmResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const DAY_MS = 86_400_000;
const RESOURCE_GROUP_NAME = /^[-\w._()]{1,90}$/u;
const ARM_VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;
const ok = (body?: unknown, status = 200): ArmResult => (body === undefined ? { status } : { status, body });
const single = (value: unknown): string | undefined => (Array.isArray(value) ? (value[0] as string | undefined) : typeof value === 'string' ? value : undefined);
const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class ArmService {
  readonly authorization: ArmAuthorization;
  private readonly o: ArmServiceOptions;

  constructor(options: ArmServiceOptions) {
    this.o = options;
    this.authorization = new ArmAuthorization({
      subscriptionId: options.subscriptionId,
      assignments: () => options.access.listAssignments(),
      resourceGroupOfVault: (vault) => {
        const found = options.vaults.findAny(vault);
        return found ? resourceGroupOf(found) : DEFAULT_RESOURCE_GROUP;
      },
    });
  }

  get subscriptionId(): string {
    return this.o.subscriptionId;
  }

  /** Answers one management-plane request (errors are thrown as ArmErrors). */
  handle(request: ArmRequest): ArmResult {
    this.purgeExpiredVaults();
    const target = parseTarget(request.path);
    const method = request.method.toUpperCase();
    switch (target.kind) {
      case 'subscriptions':
        return this.only(method, ['GET'], () => this.listSubscriptions(request));
      case 'tenants':
        return this.only(method, ['GET'], () => {
          this.version(request, 'resources');
          return ok({ value: [presentTenant(this.o.tenantId)] });
        });
      case 'subscription':
        return this.only(method, ['GET'], () => this.getSubscription(request, target.subscriptionId));
      case 'resourceGroups':
        return this.only(method, ['GET'], () => this.listResourceGroups(request, target.subscriptionId));
      case 'resourceGroup':
        return this.resourceGroup(request, method, target);
      case 'resources':
        return this.only(method, ['GET'], () => this.listResources(request, target.subscriptionId, target.resourceGroup));
      case 'vaults':
        return this.only(method, ['GET'], () => this.listVaults(request, target.subscriptionId, target.resourceGroup));
      case 'vault':
        return this.vault(request, method, target);
      case 'accessPolicies':
        return this.only(method, ['PUT'], () => this.updateAccessPolicies(request, target));
      case 'checkNameAvailability':
        return this.only(method, ['POST'], () => this.checkNameAvailability(request, target.subscriptionId));
      case 'deletedVaults':
        return this.only(method, ['GET'], () => this.listDeletedVaults(request, target.subscriptionId));
      case 'deletedVault':
        return this.only(method, ['GET'], () => this.getDeletedVault(request, target));
      case 'purgeDeletedVault':
        return this.only(method, ['POST'], () => this.purgeDeletedVault(request, target));
      case 'operation':
        return this.only(method, ['GET'], () => this.operation(request, target));
      case 'roleAssignments':
        return this.only(method, ['GET'], () => this.listRoleAssignments(request, target.scope));
      case 'roleAssignment':
        return this.roleAssignment(request, method, target);
      case 'roleDefinitions':
        return this.only(method, ['GET'], () => this.listRoleDefinitions(request, target.scope));
      case 'roleDefinition':
        return this.only(method, ['GET'], () => this.getRoleDefinition(request, target.scope, target.id));
      case 'emptyList':
        // Managed HSM is not served: its collections are empty (what `az keyvault list-deleted` also reads).
        return this.only(method, ['GET'], () => {
          this.subscription(target.subscriptionId);
          this.version(request, 'keyVault', { type: target.type });
          return ok({ value: [] });
        });
      case 'unsupported':
        return this.unsupported(request, target);
      case 'unknown':
        throw armErrors.notFound(`The requested path ${request.path} is not a resource the management plane serves.`);
    }
  }

  // ---- common checks, in ARM's order -------------------------------------------------------------

  private only(method: string, allowed: string[], run: () => ArmResult): ArmResult {
    if (method === 'HEAD' && allowed.includes('GET')) return { ...run(), body: undefined };
    if (!allowed.includes(method)) {
      throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
    return run();
  }

  private subscription(id: string): void {
    if (!eq(id, this.o.subscriptionId)) throw armErrors.subscriptionNotFound(id);
  }

  private version(request: ArmRequest, namespace: Namespace, context: { type?: string; location?: string } = {}): string {
    return checkArmApiVersion(request.query['api-version'], namespace, { ...context, locations: LOCATIONS });
  }

  private check(request: ArmRequest, action: string, scope: string, context: { roleId?: string } = {}): void {
    this.authorization.check(request.caller, action, scope, context);
  }

  private unsupported(request: ArmRequest, target: Extract<ArmTarget, { kind: 'unsupported' }>): ArmResult {
    if (target.subscriptionId !== undefined) this.subscription(target.subscriptionId);
    const version = single(request.query['api-version']) ?? '';
    if (eq(target.namespace, 'Microsoft.KeyVault') || eq(target.namespace, 'Microsoft.Authorization')) {
      throw armErrors.invalidResourceType(target.type ?? '', target.namespace, version);
    }
    throw armErrors.invalidNamespace(target.namespace);
  }

  private now(): number {
    return this.o.clock.now();
  }

  private systemData(caller: ArmCallerClaims, previous?: SystemData): SystemData {
    const type = caller.idtyp === 'user' ? 'User' : caller.xms_mirid ? 'ManagedIdentity' : 'Application';
    const by = caller.idtyp === 'user' ? (caller.upn ?? caller.unique_name ?? caller.oid) : (caller.appid ?? caller.azp ?? caller.oid);
    const at = this.now();
    return previous
      ? { ...previous, lastModifiedBy: by, lastModifiedByType: type, lastModifiedAt: at }
      : { createdBy: by, createdByType: type, createdAt: at, lastModifiedBy: by, lastModifiedByType: type, lastModifiedAt: at };
  }

  // ---- subscriptions ------------------------------------------------------------------------------

  private listSubscriptions(request: ArmRequest): ArmResult {
    this.version(request, 'resources');
    const visible = this.authorization.seesSubscription(request.caller);
    const value = visible ? [presentSubscription({ subscriptionId: this.o.subscriptionId, tenantId: this.o.tenantId })] : [];
    return ok({ value, count: { type: 'Total', value: value.length } });
  }

  private getSubscription(request: ArmRequest, subscriptionId: string): ArmResult {
    this.subscription(subscriptionId);
    this.version(request, 'resources');
    if (!this.authorization.seesSubscription(request.caller)) throw armErrors.subscriptionNotFound(subscriptionId);
    return ok(presentSubscription({ subscriptionId: this.o.subscriptionId, tenantId: this.o.tenantId }));
  }

  // ---- resource groups ----------------------------------------------------------------------------

  /** The resource group, including the default one, which exists while the emulator does. */
  private findGroup(name: string): ResourceGroupRecord | undefined {
    const found = this.o.repository.findResourceGroup(name);
    if (found) return found;
    if (eq(name, DEFAULT_RESOURCE_GROUP)) return { name: DEFAULT_RESOURCE_GROUP, location: normalizeLocation(this.o.region), tags: {}, createdAt: 0 };
    return undefined;
  }

  private requireGroup(name: string): ResourceGroupRecord {
    const group = this.findGroup(name);
    if (!group) throw armErrors.resourceGroupNotFound(name);
    return group;
  }

  private allGroups(): ResourceGroupRecord[] {
    const groups = this.o.repository.listResourceGroups();
    if (!groups.some((g) => eq(g.name, DEFAULT_RESOURCE_GROUP))) groups.unshift(this.findGroup(DEFAULT_RESOURCE_GROUP)!);
    return groups;
  }

  private resourceGroup(request: ArmRequest, method: string, target: Extract<ArmTarget, { kind: 'resourceGroup' }>): ArmResult {
    this.subscription(target.subscriptionId);
    this.version(request, 'resources');
    const scope = armIds.resourceGroup(target.subscriptionId, target.resourceGroup);
    const name = target.resourceGroup;
    switch (method) {
      case 'GET':
      case 'HEAD': {
        this.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/read', scope);
        const group = this.findGroup(name);
        if (method === 'HEAD') return { status: group ? 204 : 404 };
        if (!group) throw armErrors.resourceGroupNotFound(name);
        return ok(presentResourceGroup(this.o.subscriptionId, group));
      }
      case 'PUT': {
        this.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/write', scope);
        if (!RESOURCE_GROUP_NAME.test(name) || name.endsWith('.')) throw armErrors.invalidResourceGroupName(name);
        const body = (request.body ?? {}) as Record<string, unknown>;
        if (typeof body !== 'object' || Array.isArray(body)) throw armErrors.invalidRequestContent("Error converting value to type 'ResourceGroup'. Path ''");
        const location = typeof body.location === 'string' ? body.location : undefined;
        if (location === undefined || location.trim() === '') throw armErrors.locationRequired();
        const normalized = normalizeLocation(location);
        if (!isKnownLocation(normalized)) throw armErrors.resourceGroupLocationNotAvailable(location, LOCATIONS);
        const tags = readTags(body.tags) ?? {};
        const existing = this.o.repository.findResourceGroup(name) ?? (eq(name, DEFAULT_RESOURCE_GROUP) ? this.findGroup(name) : undefined);
        if (existing && existing.location !== normalized) throw armErrors.resourceGroupLocationConflict(existing.name, existing.location, location);
        const group: ResourceGroupRecord = existing ? { ...existing, tags } : { name, location: normalized, tags, createdAt: this.now() };
        this.o.repository.putResourceGroup(group);
        return ok(presentResourceGroup(this.o.subscriptionId, group), existing ? 200 : 201);
      }
      case 'PATCH': {
        this.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/write', scope);
        const group = this.requireGroup(name);
        const body = (request.body ?? {}) as Record<string, unknown>;
        const tags = readTags(body.tags);
        const next = tags === undefined ? group : { ...group, tags };
        this.o.repository.putResourceGroup(next);
        return ok(presentResourceGroup(this.o.subscriptionId, next));
      }
      case 'DELETE': {
        this.check(request, 'Microsoft.Resources/subscriptions/resourceGroups/delete', scope);
        const group = this.findGroup(name);
        if (!group) throw armErrors.resourceGroupNotFound(name);
        // The group the emulator puts vaults made outside ARM in carries a CanNotDelete lock.
        if (eq(name, DEFAULT_RESOURCE_GROUP)) throw armErrors.scopeLocked(scope.replace('/resourceGroups/', '/resourcegroups/'), scope);
        this.o.atomically(() => {
          for (const vault of this.o.vaults.list()) if (eq(resourceGroupOf(vault), name)) this.softDeleteVault(vault);
          this.forgetAssignmentsAt(scope);
          this.o.repository.removeResourceGroup(name);
        });
        return ok();
      }
      default:
        throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
  }

  private listResourceGroups(request: ArmRequest, subscriptionId: string): ArmResult {
    this.subscription(subscriptionId);
    this.version(request, 'resources');
    const value = this.allGroups()
      .filter((g) => this.authorization.allows(request.caller, 'Microsoft.Resources/subscriptions/resourceGroups/read', armIds.resourceGroup(subscriptionId, g.name)))
      .map((g) => presentResourceGroup(this.o.subscriptionId, g));
    return ok({ value });
  }

  private listResources(request: ArmRequest, subscriptionId: string, resourceGroup?: string): ArmResult {
    this.subscription(subscriptionId);
    this.version(request, 'resources');
    if (resourceGroup !== undefined) this.requireGroup(resourceGroup);
    const filter = single(request.query.$filter);
    if (filter !== undefined && !/^\s*resourceType\s+eq\s+'Microsoft\.KeyVault\/vaults'\s*$/i.test(filter)) {
      if (!/^\s*resourceType\s+eq\s+'[^']*'\s*$/i.test(filter)) throw armErrors.invalidFilter(filter);
      return ok({ value: [] });
    }
    const value = this.visibleVaults(request, resourceGroup).map((v) => presentGenericResource(this.o.subscriptionId, v, this.recordOf(v)));
    return ok({ value: this.top(request, value) });
  }

  private top<T>(request: ArmRequest, items: T[]): T[] {
    const top = Number(single(request.query.$top));
    return Number.isInteger(top) && top > 0 ? items.slice(0, top) : items;
  }

  // ---- vaults -------------------------------------------------------------------------------------

  /** What ARM keeps of a vault, or what it shows for a vault made outside ARM. */
  private recordOf(vault: Vault): VaultRecord {
    const record = this.o.repository.findVault(vault.name);
    if (record && record.vaultCreatedAt === vault.createdAt) return record;
    const system: SystemData = {
      createdBy: 'kv-emulator',
      createdByType: 'Application',
      createdAt: vault.createdAt,
      lastModifiedBy: 'kv-emulator',
      lastModifiedByType: 'Application',
      lastModifiedAt: vault.createdAt,
    };
    return {
      vaultCreatedAt: vault.createdAt,
      location: normalizeLocation(this.o.region),
      tags: {},
      tenantId: this.o.tenantId,
      sku: 'standard',
      enabledForDeployment: false,
      enabledForDiskEncryption: false,
      enabledForTemplateDeployment: false,
      accessPolicies: [],
      systemData: system,
    };
  }

  /** The vault's access policies as ARM shows them: the data plane's entries, with what ARM kept of each. */
  private accessPoliciesOf(vault: Vault, record: VaultRecord): AccessPolicyEntry[] {
    const policies = this.o.access.listPolicies().filter((p) => p.vault === vault.name);
    const shown: AccessPolicyEntry[] = [];
    for (const entry of record.accessPolicies) {
      const policy = policies.find((p) => p.principalId === entry.objectId.toLowerCase());
      if (!policy) continue;
      const secrets = sameSecretPermissions(secretPermissionsOf(entry), policy.secrets) ? entry.permissions.secrets : policy.secrets;
      shown.push({ ...entry, permissions: { ...entry.permissions, ...(secrets !== undefined && { secrets }) } });
    }
    for (const policy of policies) {
      if (shown.some((e) => e.objectId.toLowerCase() === policy.principalId)) continue;
      shown.push({ tenantId: this.o.tenantId, objectId: policy.principalId, permissions: { secrets: [...policy.secrets] } });
    }
    return shown;
  }

  private vaultUri(origin: string, name: string): string {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return `https://${name}.vault.localhost/`;
    }
    // Through the HTTPS proxy the client calls Azure's own host names; on the emulator's origin, *.vault.localhost.
    if (url.hostname.endsWith('.azure.com')) return `https://${name}.vault.azure.net/`;
    return `https://${name}.vault.localhost${url.port ? `:${url.port}` : ''}/`;
  }

  private presentVaultFor(request: ArmRequest, vault: Vault) {
    const record = this.recordOf(vault);
    return presentVault(this.o.subscriptionId, { vault, record, accessPolicies: this.accessPoliciesOf(vault, record), vaultUri: this.vaultUri(request.origin, vault.name) });
  }

  private visibleVaults(request: ArmRequest, resourceGroup?: string): Vault[] {
    return this.o.vaults
      .list()
      .filter((v) => resourceGroup === undefined || eq(resourceGroupOf(v), resourceGroup))
      .filter((v) => this.authorization.allows(request.caller, 'Microsoft.KeyVault/vaults/read', armIds.vault(this.o.subscriptionId, resourceGroupOf(v), v.name)));
  }

  private listVaults(request: ArmRequest, subscriptionId: string, resourceGroup?: string): ArmResult {
    this.subscription(subscriptionId);
    this.version(request, 'keyVault');
    if (resourceGroup !== undefined) this.requireGroup(resourceGroup);
    return ok({ value: this.top(request, this.visibleVaults(request, resourceGroup)).map((v) => this.presentVaultFor(request, v)) });
  }

  /** The active vault `name` in `resourceGroup`, or ARM's 404. */
  private requireVault(resourceGroup: string, name: string): Vault {
    this.requireGroup(resourceGroup);
    const vault = this.o.vaults.find(name);
    if (!vault || !eq(resourceGroupOf(vault), resourceGroup)) throw armErrors.resourceNotFound('Microsoft.KeyVault/vaults', name, resourceGroup);
    return vault;
  }

  private vault(request: ArmRequest, method: string, target: Extract<ArmTarget, { kind: 'vault' }>): ArmResult {
    this.subscription(target.subscriptionId);
    const scope = armIds.vault(target.subscriptionId, target.resourceGroup, target.vault);
    switch (method) {
      case 'GET':
      case 'HEAD': {
        this.version(request, 'keyVault');
        this.check(request, 'Microsoft.KeyVault/vaults/read', scope);
        const vault = this.requireVault(target.resourceGroup, target.vault);
        return method === 'HEAD' ? { status: 200 } : ok(this.presentVaultFor(request, vault));
      }
      case 'PUT':
        return this.putVault(request, target, scope);
      case 'PATCH': {
        this.version(request, 'keyVault');
        this.check(request, 'Microsoft.KeyVault/vaults/write', scope);
        const vault = this.requireVault(target.resourceGroup, target.vault);
        const change = readVaultPatch(request.body);
        return ok(this.presentVaultFor(request, this.applyVault(request, vault, change)));
      }
      case 'DELETE': {
        this.version(request, 'keyVault');
        this.check(request, 'Microsoft.KeyVault/vaults/delete', scope);
        this.requireGroup(target.resourceGroup);
        const vault = this.o.vaults.find(target.vault);
        if (!vault || !eq(resourceGroupOf(vault), target.resourceGroup)) return { status: 204 };
        this.o.atomically(() => this.softDeleteVault(vault));
        return ok();
      }
      default:
        throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
  }

  private putVault(request: ArmRequest, target: Extract<ArmTarget, { kind: 'vault' }>, scope: string): ArmResult {
    const apiVersion = this.version(request, 'keyVault');
    this.check(request, 'Microsoft.KeyVault/vaults/write', scope);
    this.requireGroup(target.resourceGroup);
    const input = readVaultPut(request.body);
    const name = target.vault;
    const existing = this.o.vaults.findAny(name);

    if (input.createMode === 'recover') {
      if (!existing?.deleted) throw armErrors.noDeletedVaultToRecover();
      if (!eq(resourceGroupOf(existing), target.resourceGroup)) {
        throw armErrors.badRequest(`The deleted vault '${existing.name}' can only be recovered into its original resource group '${resourceGroupOf(existing)}'.`);
      }
      const recovered = this.o.atomically(() => this.o.vaults.recover(existing.name));
      return ok(this.presentVaultFor(request, recovered));
    }
    if (existing?.deleted) throw armErrors.deletedVaultNameTaken();
    if (existing && !eq(resourceGroupOf(existing), target.resourceGroup)) throw armErrors.vaultAlreadyExists(name);
    if (existing) {
      const record = this.recordOf(existing);
      if (input.location !== undefined && input.location !== record.location) {
        throw armErrors.resourceLocationConflict(existing.name, record.location, resourceGroupOf(existing), input.location);
      }
      return ok(this.presentVaultFor(request, this.applyVault(request, existing, input)));
    }

    if (!ARM_VAULT_NAME.test(name) || name.includes('--')) throw armErrors.vaultNameNotValid(name);
    if (!isKnownLocation(input.location!)) throw armErrors.locationNotAvailable(input.location!, 'Microsoft.KeyVault/vaults', LOCATIONS);
    this.checkTenant(input);
    const policies = input.accessPolicies ?? [];
    const created = this.o.atomically(() => {
      const vault = this.o.vaults.create(
        name,
        {
          ...(input.softDeleteRetentionInDays !== undefined && { retentionDays: input.softDeleteRetentionInDays }),
          purgeProtection: input.enablePurgeProtection === true,
          permissionModel: (input.enableRbacAuthorization ?? rbacByDefault(apiVersion)) ? 'rbac' : 'accessPolicy',
        },
        { resourceGroup: target.resourceGroup },
      );
      const record: VaultRecord = {
        vaultCreatedAt: vault.createdAt,
        location: input.location!,
        tags: input.tags ?? {},
        tenantId: input.tenantId ?? this.o.tenantId,
        sku: input.sku ?? 'standard',
        enabledForDeployment: input.enabledForDeployment ?? false,
        enabledForDiskEncryption: input.enabledForDiskEncryption ?? false,
        enabledForTemplateDeployment: input.enabledForTemplateDeployment ?? false,
        accessPolicies: policies,
        systemData: this.systemData(request.caller),
      };
      this.writePolicies(vault, record, policies);
      return vault;
    });
    return ok(this.presentVaultFor(request, created));
  }

  /** Checks the tenants a request names, reading 'adfs' as the emulator's own tenant (vault-resource.ts ADFS_TENANT). */
  private checkTenant(input: VaultRequest): void {
    const own = (tenant: string) => (tenant === ADFS_TENANT ? this.o.tenantId : tenant);
    if (input.tenantId !== undefined) input.tenantId = own(input.tenantId);
    for (const entry of input.accessPolicies ?? []) entry.tenantId = own(entry.tenantId);
    if (input.tenantId !== undefined && input.tenantId !== this.o.tenantId) {
      throw armErrors.badRequest(`The tenant '${input.tenantId}' is not the tenant of subscription '${this.o.subscriptionId}' ('${this.o.tenantId}'): a vault trusts its subscription's tenant.`);
    }
    for (const entry of input.accessPolicies ?? []) {
      if (entry.tenantId !== this.o.tenantId) throw armErrors.badRequest(`The access policy of '${entry.objectId}' names tenant '${entry.tenantId}'; all identities must use the vault's tenant '${this.o.tenantId}'.`);
    }
  }

  /** Applies a PUT (to an existing vault) or a PATCH: Key Vault's rules for what may change first. */
  private applyVault(request: ArmRequest, vault: Vault, input: VaultRequest): Vault {
    if (input.softDeleteRetentionInDays !== undefined && input.softDeleteRetentionInDays !== vault.retentionDays) throw armErrors.retentionFixed();
    this.checkTenant(input);
    const record = this.recordOf(vault);
    return this.o.atomically(() => {
      const next = this.o.vaults.update(vault.name, {
        ...(input.enablePurgeProtection === true && { purgeProtection: true }),
        ...(input.enableRbacAuthorization !== undefined && { permissionModel: input.enableRbacAuthorization ? 'rbac' : 'accessPolicy' }),
      });
      const nextRecord: VaultRecord = {
        ...record,
        ...(input.tags !== undefined && { tags: input.tags }),
        ...(input.sku !== undefined && { sku: input.sku }),
        ...(input.enabledForDeployment !== undefined && { enabledForDeployment: input.enabledForDeployment }),
        ...(input.enabledForDiskEncryption !== undefined && { enabledForDiskEncryption: input.enabledForDiskEncryption }),
        ...(input.enabledForTemplateDeployment !== undefined && { enabledForTemplateDeployment: input.enabledForTemplateDeployment }),
        systemData: this.systemData(request.caller, record.systemData),
      };
      if (input.accessPolicies !== undefined) this.writePolicies(next, nextRecord, input.accessPolicies);
      else this.o.repository.putVault(next.name, { ...nextRecord, accessPolicies: this.accessPoliciesOf(next, record) });
      return next;
    });
  }

  /** Makes `entries` the vault's access policies: ARM's record and the data plane's rows. */
  private writePolicies(vault: Vault, record: VaultRecord, entries: AccessPolicyEntry[]): void {
    const fail = (path: string, problem: string): never => {
      throw armErrors.badRequest(`Invalid value found at ${path}: ${problem}`);
    };
    const wanted = new Map<string, SecretPermission[]>();
    for (const entry of entries) {
      const permissions = parsePermissions(secretPermissionsOf(entry), 'accessPolicies', fail);
      const known = wanted.get(entry.objectId) ?? [];
      wanted.set(entry.objectId, [...new Set([...known, ...permissions])]);
    }
    for (const policy of this.o.access.listPolicies()) {
      if (policy.vault === vault.name && !wanted.has(policy.principalId)) this.o.access.removePolicy(vault.name, policy.principalId);
    }
    for (const [objectId, secrets] of wanted) this.o.access.setPolicy(vault.name, objectId, secrets);
    this.o.repository.putVault(vault.name, { ...record, vaultCreatedAt: vault.createdAt, accessPolicies: entries });
  }

  /** Soft-deletes a vault with everything in it, as Azure does; role assignments on it are removed (docs soft-delete-overview). */
  private softDeleteVault(vault: Vault): void {
    const now = this.now();
    this.o.vaults.softDelete(vault.name, { deletedAt: now, scheduledPurgeAt: now + vault.retentionDays * DAY_MS });
    this.forgetAssignmentsAt(armIds.vault(this.o.subscriptionId, resourceGroupOf(vault), vault.name));
  }

  /** Removes the role assignments at `scope` and below it. */
  private forgetAssignmentsAt(scope: string): void {
    for (const assignment of this.o.access.listAssignments()) {
      if (this.authorization.below(assignment.scope, scope)) {
        this.o.access.removeAssignment(assignment.id);
        this.o.repository.removeRoleAssignment(assignment.id);
      }
    }
  }

  private updateAccessPolicies(request: ArmRequest, target: Extract<ArmTarget, { kind: 'accessPolicies' }>): ArmResult {
    this.subscription(target.subscriptionId);
    this.version(request, 'keyVault');
    const vaultId = armIds.vault(target.subscriptionId, target.resourceGroup, target.vault);
    this.check(request, 'Microsoft.KeyVault/vaults/accessPolicies/write', `${vaultId}/accessPolicies/${target.operationKind}`);
    const kind = target.operationKind.toLowerCase();
    if (kind !== 'add' && kind !== 'replace' && kind !== 'remove') {
      throw armErrors.badRequest(`The access policy update kind '${target.operationKind}' is not valid. Valid values are 'add', 'replace' and 'remove'.`);
    }
    const vault = this.requireVault(target.resourceGroup, target.vault);
    const body = request.body as { properties?: { accessPolicies?: unknown } } | undefined;
    if (!body || typeof body !== 'object' || !body.properties || body.properties.accessPolicies === undefined) {
      throw armErrors.invalidRequestContent("Required property 'properties.accessPolicies' not found in JSON. Path ''");
    }
    const changes = readAccessPolicies(body.properties.accessPolicies, 'properties.accessPolicies');
    this.checkTenant({ accessPolicies: changes });
    const record = this.recordOf(vault);
    let entries = this.accessPoliciesOf(vault, record);
    for (const change of changes) {
      const index = entries.findIndex((e) => samePolicyHolder(e, change));
      const current = index >= 0 ? entries[index] : undefined;
      if (kind === 'add') {
        const merged = current ? { ...current, permissions: unionPermissions(current.permissions, change.permissions) } : change;
        entries = index >= 0 ? entries.map((e, i) => (i === index ? merged : e)) : [...entries, merged];
      } else if (kind === 'replace') {
        entries = index >= 0 ? entries.map((e, i) => (i === index ? change : e)) : [...entries, change];
      } else if (current) {
        const left = withoutPermissions(current.permissions, change.permissions);
        entries = left ? entries.map((e, i) => (i === index ? { ...current, permissions: left } : e)) : entries.filter((_, i) => i !== index);
      }
    }
    this.o.atomically(() => this.writePolicies(vault, { ...record, systemData: this.systemData(request.caller, record.systemData) }, entries));
    return ok({
      id: `${vaultId}/accessPolicies/${kind}`,
      type: 'Microsoft.KeyVault/vaults/accessPolicies',
      properties: { accessPolicies: changes.map(presentAccessPolicy) },
    });
  }

  private checkNameAvailability(request: ArmRequest, subscriptionId: string): ArmResult {
    this.subscription(subscriptionId);
    this.version(request, 'keyVault', { type: 'checkNameAvailability' });
    this.check(request, 'Microsoft.KeyVault/checkNameAvailability/read', armIds.subscription(subscriptionId));
    const body = (request.body ?? {}) as { name?: unknown; type?: unknown };
    if (typeof body.name !== 'string') throw armErrors.invalidRequestContent("Required property 'name' not found in JSON. Path ''");
    if (typeof body.type !== 'string' || !eq(body.type, 'Microsoft.KeyVault/vaults')) {
      throw armErrors.badRequest(`The resource type '${String(body.type)}' is not valid for checkNameAvailability. Use 'Microsoft.KeyVault/vaults'.`);
    }
    const name = body.name;
    if (!ARM_VAULT_NAME.test(name) || name.includes('--')) {
      return ok({ nameAvailable: false, reason: 'AccountNameInvalid', message: 'Vault name must only contain alphanumeric characters and dashes and cannot start with a number.' });
    }
    if (this.o.vaults.findAny(name)) return ok({ nameAvailable: false, reason: 'AlreadyExists', message: armErrors.vaultNameInUseMessage(name) });
    return ok({ nameAvailable: true });
  }

  // ---- deleted vaults -----------------------------------------------------------------------------

  /** Purges the soft-deleted vaults whose retention has run out on the emulator clock. */
  purgeExpiredVaults(): number {
    const now = this.now();
    const expired = this.o.vaults.listDeleted().filter((v) => v.deleted!.scheduledPurgeAt <= now);
    for (const vault of expired) this.o.atomically(() => this.purge(vault));
    return expired.length;
  }

  private purge(vault: Vault): void {
    this.o.secrets.importVault(vault, []);
    for (const policy of this.o.access.listPolicies()) if (policy.vault === vault.name) this.o.access.removePolicy(vault.name, policy.principalId);
    this.o.vaults.remove(vault.name);
    this.o.repository.removeVault(vault.name);
  }

  private findDeleted(name: string, location: string): { vault: Vault; record: VaultRecord } {
    const vault = this.o.vaults.findAny(name);
    const record = vault?.deleted ? this.recordOf(vault) : undefined;
    if (!vault || !record || record.location !== normalizeLocation(location)) throw armErrors.deletedVaultNotFound(name, location);
    return { vault, record };
  }

  private listDeletedVaults(request: ArmRequest, subscriptionId: string): ArmResult {
    this.subscription(subscriptionId);
    this.version(request, 'keyVault', { type: 'deletedVaults' });
    // ARM lists nothing, rather than refusing, to a caller that may not read deleted vaults (Azure/azure-cli#14091).
    const allowed = this.authorization.allows(request.caller, 'Microsoft.KeyVault/deletedVaults/read', armIds.subscription(subscriptionId));
    const value = allowed ? this.o.vaults.listDeleted().map((v) => presentDeletedVault(this.o.subscriptionId, v, this.recordOf(v))) : [];
    return ok({ value });
  }

  private getDeletedVault(request: ArmRequest, target: Extract<ArmTarget, { kind: 'deletedVault' }>): ArmResult {
    this.subscription(target.subscriptionId);
    this.version(request, 'keyVault', { type: 'locations/deletedVaults', location: target.location });
    this.check(request, 'Microsoft.KeyVault/locations/deletedVaults/read', armIds.deletedVault(target.subscriptionId, target.location, target.vault));
    const { vault, record } = this.findDeleted(target.vault, target.location);
    return ok(presentDeletedVault(this.o.subscriptionId, vault, record));
  }

  /** POST .../deletedVaults/{name}/purge: an asynchronous operation, answered 202 with its Location and Azure-AsyncOperation. */
  private purgeDeletedVault(request: ArmRequest, target: Extract<ArmTarget, { kind: 'purgeDeletedVault' }>): ArmResult {
    this.subscription(target.subscriptionId);
    const apiVersion = this.version(request, 'keyVault', { type: 'locations/deletedVaults', location: target.location });
    const deletedId = armIds.deletedVault(target.subscriptionId, target.location, target.vault);
    this.check(request, 'Microsoft.KeyVault/locations/deletedVaults/purge/action', deletedId);
    const { vault } = this.findDeleted(target.vault, target.location);
    if (vault.purgeProtection) throw armErrors.purgeNotAllowed();
    const startedAt = this.now();
    this.o.atomically(() => this.purge(vault));
    const operationId = encodeOperation({ op: 'purge', resource: deletedId, startedAt, endedAt: this.now() });
    const url = (form: 'results' | 'status') =>
      `${request.origin}${armIds.operation(this.o.subscriptionId, normalizeLocation(target.location), operationId, form)}?api-version=${encodeURIComponent(apiVersion)}`;
    return { status: 202, headers: { location: url('results'), 'azure-asyncoperation': url('status'), 'retry-after': '0' } };
  }

  private operation(request: ArmRequest, target: Extract<ArmTarget, { kind: 'operation' }>): ArmResult {
    this.subscription(target.subscriptionId);
    this.version(request, 'keyVault', { type: 'locations/operationResults', location: target.location });
    const operation = decodeOperation(target.operationId);
    if (!operation) throw armErrors.notFound(`The operation '${target.operationId}' was not found.`);
    if (target.form === 'results') return { status: 200 };
    return ok({
      id: armIds.operation(this.o.subscriptionId, target.location, target.operationId, 'status'),
      name: target.operationId,
      status: 'Succeeded',
      startTime: new Date(operation.startedAt).toISOString(),
      endTime: new Date(operation.endedAt).toISOString(),
    });
  }

  // ---- role assignments ---------------------------------------------------------------------------

  /** A scope ARM can assign roles at in this emulator; throws ARM's 4xx for one that does not exist. */
  private checkScope(scope: string): void {
    if (scope === '/') return;
    const s = segmentsOf(scope) ?? [];
    if (eq(s[0] ?? '', 'providers') && eq(s[1] ?? '', 'Microsoft.Management')) return;
    if (!eq(s[0] ?? '', 'subscriptions') || s[1] === undefined) throw armErrors.badRequest(`The scope '${scope}' is not valid for a role assignment.`);
    this.subscription(s[1]);
    if (s.length === 2) return;
    if (!eq(s[2] ?? '', 'resourceGroups') || s[3] === undefined) throw armErrors.badRequest(`The scope '${scope}' is not valid for a role assignment.`);
    this.requireGroup(s[3]);
    if (s.length === 4) return;
    if (!eq(s[4] ?? '', 'providers') || s[5] === undefined) throw armErrors.badRequest(`The scope '${scope}' is not valid for a role assignment.`);
    if (!eq(s[5], 'Microsoft.KeyVault')) throw armErrors.invalidNamespace(s[5]);
    if (!eq(s[6] ?? '', 'vaults') || s[7] === undefined || (s.length !== 8 && !(s.length === 10 && eq(s[8] ?? '', 'secrets')))) {
      throw armErrors.invalidResourceType(s.slice(6, s.length % 2 === 0 ? -1 : undefined).join('/'), 'Microsoft.KeyVault', '');
    }
    this.requireVault(s[3], s[7]);
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

  private roleAssignment(request: ArmRequest, method: string, target: Extract<ArmTarget, { kind: 'roleAssignment' }>): ArmResult {
    this.version(request, 'authorization');
    const scope = target.scope;
    const id = armIds.roleAssignment(scope, target.name);
    const existing = this.o.access.getAssignment(target.name);
    const here = existing && this.sameScope(existing.scope, scope) ? existing : undefined;
    switch (method) {
      case 'GET': {
        this.checkScopeSubscription(scope);
        this.check(request, 'Microsoft.Authorization/roleAssignments/read', id);
        if (!here) throw armErrors.roleAssignmentNotFound(target.name);
        return ok(presentRoleAssignment(this.o.subscriptionId, this.assignmentView(here)));
      }
      case 'DELETE': {
        this.checkScopeSubscription(scope);
        this.check(request, 'Microsoft.Authorization/roleAssignments/delete', id, here ? { roleId: here.roleId } : {});
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
    if (eq(s[0] ?? '', 'subscriptions') && s[1] !== undefined) this.subscription(s[1]);
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
    this.check(request, 'Microsoft.Authorization/roleAssignments/write', id, role ? { roleId: role.id } : {});
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
    const now = this.now();
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
  private listRoleAssignments(request: ArmRequest, scope: string): ArmResult {
    this.checkScopeSubscription(scope);
    this.version(request, 'authorization');
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

  // ---- role definitions ---------------------------------------------------------------------------

  /** Built-in role definitions are the tenant's: any signed-in caller reads them, at any scope. */
  private listRoleDefinitions(request: ArmRequest, scope: string): ArmResult {
    this.checkScopeSubscription(scope);
    this.version(request, 'authorization');
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

  private getRoleDefinition(request: ArmRequest, scope: string, id: string): ArmResult {
    this.checkScopeSubscription(scope);
    this.version(request, 'authorization');
    const role = isGuid(id) ? findRole(id) : undefined;
    if (!role) throw armErrors.roleDefinitionDoesNotExist(id);
    const subscriptionId = scope === '/' || !/^\/subscriptions\//i.test(scope) ? undefined : this.o.subscriptionId;
    return ok(presentRoleDefinition(subscriptionId, role));
  }

  /** Forgets what ARM keeps, for a whole-emulator reset (vaults, assignments and policies are reset by their owners). */
  reset(): void {
    this.o.repository.clear();
  }
}

function sameSecretPermissions(a: string[], b: readonly string[]): boolean {
  const expand = (list: readonly string[]) => new Set(list.includes('all') ? ['get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge'] : list);
  const x = expand(a);
  const y = expand(b);
  return x.size === y.size && [...x].every((p) => y.has(p));
}

interface Operation {
  op: string;
  resource: string;
  startedAt: number;
  endedAt: number;
}

/** Operation ids carry their own outcome, so a poll is answered after a restart too. */
function encodeOperation(operation: Operation): string {
  return Buffer.from(JSON.stringify({ ...operation, n: randomUUID() })).toString('base64url');
}

function decodeOperation(id: string): Operation | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(id, 'base64url').toString('utf8')) as Partial<Operation>;
    if (typeof parsed.op !== 'string' || typeof parsed.startedAt !== 'number' || typeof parsed.endedAt !== 'number') return undefined;
    return parsed as Operation;
  } catch {
    return undefined;
  }
}
