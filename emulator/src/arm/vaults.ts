// Microsoft.KeyVault on the management plane: vaults (create, update, soft delete, recover), access
// policies, name checks, deleted vaults and their purge (an asynchronous operation), over the one vault of
// vault/ that the data plane serves (keyvault.json; docs soft-delete-overview, access-control-default).
import { randomUUID } from 'node:crypto';
import { parsePermissions } from '../access/config.js';
import type { SecretPermission } from '../access/operations.js';
import { ArmError, armErrors } from '../errors.js';
import type { ArmLocation } from '../network/settings.js';
import { resourceGroupOf, type Vault } from '../vault/model.js';
import { rbacByDefault } from './api-versions.js';
import type { ArmAuthorization } from './authorization.js';
import { ArmContext, eq, ok, single, type ArmRequest, type ArmResult, type ArmServiceOptions, type KeyVaultOperationName } from './context.js';
import { armIds, type ArmTarget } from './ids.js';
import { isKnownLocation, LOCATIONS, normalizeLocation } from './locations.js';
import type { AccessPolicyEntry, SystemData, VaultRecord } from './model.js';
import { presentAccessPolicy, presentDeletedVault, presentGenericResource, presentVault } from './presenters.js';
import {
  ADFS_TENANT,
  readAccessPolicies,
  readVaultPatch,
  readVaultPut,
  samePolicyHolder,
  secretPermissionsOf,
  unionPermissions,
  withoutPermissions,
  type VaultRequest,
} from './vault-resource.js';

const DAY_MS = 86_400_000;
const ARM_VAULT_NAME = /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/;

export class VaultResources {
  constructor(private readonly ctx: ArmContext) {}

  private get o(): ArmServiceOptions {
    return this.ctx.o;
  }

  private get authorization(): ArmAuthorization {
    return this.ctx.authorization;
  }

  listResources(request: ArmRequest, subscriptionId: string, resourceGroup?: string): ArmResult {
    this.ctx.subscription(subscriptionId);
    this.ctx.version(request, 'resources');
    if (resourceGroup !== undefined) this.ctx.requireGroup(resourceGroup);
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

  /** What ARM keeps of a vault, or what it shows for a vault made outside ARM. */
  recordOf(vault: Vault): VaultRecord {
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

  /** Tells the request's observer which Key Vault operation it reached, on which vault (its audit record). */
  private reached(request: ArmRequest, operationName: KeyVaultOperationName, vault: Vault): void {
    request.reached?.({ operationName, vault: vault.name, resourceGroup: resourceGroupOf(vault), vaultUri: this.vaultUri(request.origin, vault.name) });
  }

  /** Where a vault lives in ARM ids. */
  private placeOf(vault: Vault): ArmLocation {
    return { subscriptionId: this.o.subscriptionId, resourceGroup: resourceGroupOf(vault) };
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

  listVaults(request: ArmRequest, subscriptionId: string, resourceGroup?: string): ArmResult {
    this.ctx.subscription(subscriptionId);
    this.ctx.version(request, 'keyVault');
    if (resourceGroup !== undefined) this.ctx.requireGroup(resourceGroup);
    return ok({ value: this.top(request, this.visibleVaults(request, resourceGroup)).map((v) => this.presentVaultFor(request, v)) });
  }

  vault(request: ArmRequest, method: string, target: Extract<ArmTarget, { kind: 'vault' }>): ArmResult {
    this.ctx.subscription(target.subscriptionId);
    const scope = armIds.vault(target.subscriptionId, target.resourceGroup, target.vault);
    switch (method) {
      case 'GET':
      case 'HEAD': {
        this.ctx.version(request, 'keyVault');
        this.ctx.check(request, 'Microsoft.KeyVault/vaults/read', scope);
        const vault = this.ctx.requireVault(target.resourceGroup, target.vault);
        this.reached(request, 'VaultGet', vault);
        return method === 'HEAD' ? { status: 200 } : ok(this.presentVaultFor(request, vault));
      }
      case 'PUT':
        return this.putVault(request, target, scope);
      case 'PATCH': {
        this.ctx.version(request, 'keyVault');
        this.ctx.check(request, 'Microsoft.KeyVault/vaults/write', scope);
        const vault = this.ctx.requireVault(target.resourceGroup, target.vault);
        this.reached(request, 'VaultPatch', vault);
        const change = readVaultPatch(request.body, { vault: vault.name, location: this.placeOf(vault), current: vault });
        return ok(this.presentVaultFor(request, this.applyVault(request, vault, change)));
      }
      case 'DELETE': {
        this.ctx.version(request, 'keyVault');
        this.ctx.check(request, 'Microsoft.KeyVault/vaults/delete', scope);
        this.ctx.requireGroup(target.resourceGroup);
        const vault = this.o.vaults.find(target.vault);
        if (!vault || !eq(resourceGroupOf(vault), target.resourceGroup)) return { status: 204 };
        this.reached(request, 'VaultDelete', vault);
        this.o.atomically(() => this.softDeleteVault(vault));
        return ok();
      }
      default:
        throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    }
  }

  private putVault(request: ArmRequest, target: Extract<ArmTarget, { kind: 'vault' }>, scope: string): ArmResult {
    const apiVersion = this.ctx.version(request, 'keyVault');
    this.ctx.check(request, 'Microsoft.KeyVault/vaults/write', scope);
    this.ctx.requireGroup(target.resourceGroup);
    const name = target.vault;
    const existing = this.o.vaults.findAny(name);
    // An update of a vault of this group reaches the provider, whatever its body holds.
    if (existing && !existing.deleted && eq(resourceGroupOf(existing), target.resourceGroup)) this.reached(request, 'VaultPut', existing);
    const input = readVaultPut(request.body, { vault: name.toLowerCase(), location: { subscriptionId: this.o.subscriptionId, resourceGroup: target.resourceGroup } });

    if (input.createMode === 'recover') {
      if (!existing?.deleted) throw armErrors.noDeletedVaultToRecover();
      if (!eq(resourceGroupOf(existing), target.resourceGroup)) {
        throw armErrors.badRequest(`The deleted vault '${existing.name}' can only be recovered into its original resource group '${resourceGroupOf(existing)}'.`);
      }
      const recovered = this.o.atomically(() => this.o.vaults.recover(existing.name));
      this.reached(request, 'VaultRecover', recovered);
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
          ...input.network,
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
        systemData: this.ctx.systemData(request.caller),
      };
      this.writePolicies(vault, record, policies);
      return vault;
    });
    this.reached(request, 'VaultPut', created);
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
        ...input.network,
      });
      const nextRecord: VaultRecord = {
        ...record,
        ...(input.tags !== undefined && { tags: input.tags }),
        ...(input.sku !== undefined && { sku: input.sku }),
        ...(input.enabledForDeployment !== undefined && { enabledForDeployment: input.enabledForDeployment }),
        ...(input.enabledForDiskEncryption !== undefined && { enabledForDiskEncryption: input.enabledForDiskEncryption }),
        ...(input.enabledForTemplateDeployment !== undefined && { enabledForTemplateDeployment: input.enabledForTemplateDeployment }),
        systemData: this.ctx.systemData(request.caller, record.systemData),
      };
      if (input.accessPolicies !== undefined) this.writePolicies(next, nextRecord, input.accessPolicies);
      else this.o.repository.putVault(next.name, { ...nextRecord, accessPolicies: this.accessPoliciesOf(next, record) });
      return next;
    });
  }

  /**
   * Makes `entries` the vault's access policies: ARM's record and the data plane's rows (only those that
   * change are written). A change of the vault's policies, of any permission kind, publishes
   * VaultAccessPolicyChanged, as the admin API's changes do; one request publishes one (the `atomically`
   * of app.ts coalesces them), and a request that changes nothing publishes none.
   */
  private writePolicies(vault: Vault, record: VaultRecord, entries: AccessPolicyEntry[]): void {
    const fail = (path: string, problem: string): never => {
      throw armErrors.badRequest(`Invalid value found at ${path}: ${problem}`);
    };
    const previous = this.accessPoliciesOf(vault, record);
    const wanted = new Map<string, SecretPermission[]>();
    for (const entry of entries) {
      const permissions = parsePermissions(secretPermissionsOf(entry), 'accessPolicies', fail);
      const known = wanted.get(entry.objectId) ?? [];
      wanted.set(entry.objectId, [...new Set([...known, ...permissions])]);
    }
    const current = new Map<string, readonly string[]>();
    for (const policy of this.o.access.listPolicies()) {
      if (policy.vault !== vault.name) continue;
      if (wanted.has(policy.principalId)) current.set(policy.principalId, policy.secrets);
      else this.o.access.removePolicy(vault.name, policy.principalId);
    }
    for (const [objectId, secrets] of wanted) {
      const now = current.get(objectId);
      if (now === undefined || !sameSecretPermissions(secrets, now)) this.o.access.setPolicy(vault.name, objectId, secrets);
    }
    this.o.repository.putVault(vault.name, { ...record, vaultCreatedAt: vault.createdAt, accessPolicies: entries });
    if (!samePolicies(previous, entries)) this.o.events?.accessPolicyChanged(vault.name);
  }

  /** Soft-deletes a vault with everything in it, as Azure does; role assignments on it are removed (docs soft-delete-overview). */
  softDeleteVault(vault: Vault): void {
    const now = this.ctx.now();
    this.o.vaults.softDelete(vault.name, { deletedAt: now, scheduledPurgeAt: now + vault.retentionDays * DAY_MS });
    this.ctx.forgetAssignmentsAt(armIds.vault(this.o.subscriptionId, resourceGroupOf(vault), vault.name));
  }

  updateAccessPolicies(request: ArmRequest, target: Extract<ArmTarget, { kind: 'accessPolicies' }>): ArmResult {
    this.ctx.subscription(target.subscriptionId);
    this.ctx.version(request, 'keyVault');
    const vaultId = armIds.vault(target.subscriptionId, target.resourceGroup, target.vault);
    this.ctx.check(request, 'Microsoft.KeyVault/vaults/accessPolicies/write', `${vaultId}/accessPolicies/${target.operationKind}`);
    const kind = target.operationKind.toLowerCase();
    if (kind !== 'add' && kind !== 'replace' && kind !== 'remove') {
      throw armErrors.badRequest(`The access policy update kind '${target.operationKind}' is not valid. Valid values are 'add', 'replace' and 'remove'.`);
    }
    const vault = this.ctx.requireVault(target.resourceGroup, target.vault);
    this.reached(request, 'VaultPatch', vault);
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
    this.o.atomically(() => this.writePolicies(vault, { ...record, systemData: this.ctx.systemData(request.caller, record.systemData) }, entries));
    return ok({
      id: `${vaultId}/accessPolicies/${kind}`,
      type: 'Microsoft.KeyVault/vaults/accessPolicies',
      properties: { accessPolicies: changes.map(presentAccessPolicy) },
    });
  }

  checkNameAvailability(request: ArmRequest, subscriptionId: string): ArmResult {
    this.ctx.subscription(subscriptionId);
    this.ctx.version(request, 'keyVault', { type: 'checkNameAvailability' });
    this.ctx.check(request, 'Microsoft.KeyVault/checkNameAvailability/read', armIds.subscription(subscriptionId));
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

  /** Purges the soft-deleted vaults whose retention has run out on the emulator clock. */
  purgeExpiredVaults(): number {
    const now = this.ctx.now();
    const expired = this.o.vaults.listDeleted().filter((v) => v.deleted!.scheduledPurgeAt <= now);
    for (const vault of expired) this.o.atomically(() => this.purge(vault));
    return expired.length;
  }

  private purge(vault: Vault): void {
    this.o.secrets.importVault(vault, []);
    // The vault goes first, with its event subscriptions: a purge is no change of access to publish.
    this.o.vaults.remove(vault.name);
    for (const policy of this.o.access.listPolicies()) if (policy.vault === vault.name) this.o.access.removePolicy(vault.name, policy.principalId);
    this.o.repository.removeVault(vault.name);
  }

  private findDeleted(name: string, location: string): { vault: Vault; record: VaultRecord } {
    const vault = this.o.vaults.findAny(name);
    const record = vault?.deleted ? this.recordOf(vault) : undefined;
    if (!vault || !record || record.location !== normalizeLocation(location)) throw armErrors.deletedVaultNotFound(name, location);
    return { vault, record };
  }

  listDeletedVaults(request: ArmRequest, subscriptionId: string): ArmResult {
    this.ctx.subscription(subscriptionId);
    this.ctx.version(request, 'keyVault', { type: 'deletedVaults' });
    // ARM lists nothing, rather than refusing, to a caller that may not read deleted vaults (Azure/azure-cli#14091).
    const allowed = this.authorization.allows(request.caller, 'Microsoft.KeyVault/deletedVaults/read', armIds.subscription(subscriptionId));
    const value = allowed ? this.o.vaults.listDeleted().map((v) => presentDeletedVault(this.o.subscriptionId, v, this.recordOf(v))) : [];
    return ok({ value });
  }

  getDeletedVault(request: ArmRequest, target: Extract<ArmTarget, { kind: 'deletedVault' }>): ArmResult {
    this.ctx.subscription(target.subscriptionId);
    this.ctx.version(request, 'keyVault', { type: 'locations/deletedVaults', location: target.location });
    this.ctx.check(request, 'Microsoft.KeyVault/locations/deletedVaults/read', armIds.deletedVault(target.subscriptionId, target.location, target.vault));
    const { vault, record } = this.findDeleted(target.vault, target.location);
    this.reached(request, 'VaultGetDeleted', vault);
    return ok(presentDeletedVault(this.o.subscriptionId, vault, record));
  }

  /** POST .../deletedVaults/{name}/purge: an asynchronous operation, answered 202 with its Location and Azure-AsyncOperation. */
  purgeDeletedVault(request: ArmRequest, target: Extract<ArmTarget, { kind: 'purgeDeletedVault' }>): ArmResult {
    this.ctx.subscription(target.subscriptionId);
    const apiVersion = this.ctx.version(request, 'keyVault', { type: 'locations/deletedVaults', location: target.location });
    const deletedId = armIds.deletedVault(target.subscriptionId, target.location, target.vault);
    this.ctx.check(request, 'Microsoft.KeyVault/locations/deletedVaults/purge/action', deletedId);
    const { vault } = this.findDeleted(target.vault, target.location);
    this.reached(request, 'VaultPurge', vault);
    if (vault.purgeProtection) throw armErrors.purgeNotAllowed();
    const startedAt = this.ctx.now();
    this.o.atomically(() => this.purge(vault));
    const operationId = encodeOperation({ op: 'purge', resource: deletedId, startedAt, endedAt: this.ctx.now() });
    const url = (form: 'results' | 'status') =>
      `${request.origin}${armIds.operation(this.o.subscriptionId, normalizeLocation(target.location), operationId, form)}?api-version=${encodeURIComponent(apiVersion)}`;
    return { status: 202, headers: { location: url('results'), 'azure-asyncoperation': url('status'), 'retry-after': '0' } };
  }

  operation(request: ArmRequest, target: Extract<ArmTarget, { kind: 'operation' }>): ArmResult {
    this.ctx.subscription(target.subscriptionId);
    this.ctx.version(request, 'keyVault', { type: 'locations/operationResults', location: target.location });
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
}

/** The same holders with the same permissions of every kind, in any order and case. */
function samePolicies(a: AccessPolicyEntry[], b: AccessPolicyEntry[]): boolean {
  const keyOf = (entry: AccessPolicyEntry) =>
    JSON.stringify([
      entry.objectId.toLowerCase(),
      (entry.applicationId ?? '').toLowerCase(),
      ...(['keys', 'secrets', 'certificates', 'storage'] as const).map((kind) => [...new Set((entry.permissions[kind] ?? []).map((p) => p.toLowerCase()))].sort()),
    ]);
  const x = a.map(keyOf).sort();
  const y = b.map(keyOf).sort();
  return x.length === y.length && x.every((key, i) => key === y[i]);
}

function sameSecretPermissions(a: readonly string[], b: readonly string[]): boolean {
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
