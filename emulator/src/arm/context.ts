// What every part of the management plane shares (arm/service.ts is the whole): the one state it works
// on, and ARM's checks in ARM's order (subscription, api-version, authorization), resource-group and vault
// lookups with ARM's 404s, system data, and the removal of role assignments under a deleted scope.
import type { AccessEventSink } from '../access/ports.js';
import type { AccessControl } from '../access/service.js';
import { armErrors } from '../errors.js';
import type { Directory } from '../identity/principals.js';
import { DEFAULT_RESOURCE_GROUP, resourceGroupOf, type Vault } from '../vault/model.js';
import type { Clock } from '../vault/ports.js';
import type { SecretService } from '../vault/secrets.js';
import type { VaultService } from '../vault/vaults.js';
import { checkArmApiVersion, type Namespace } from './api-versions.js';
import { ArmAuthorization, type ArmCaller } from './authorization.js';
import { LOCATIONS, normalizeLocation } from './locations.js';
import type { ResourceGroupRecord, SystemData } from './model.js';
import type { ArmRepository } from './ports.js';

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
  /** Runs work in one store transaction (and as one change for the events it publishes). */
  atomically: <T>(work: () => T) => T;
  /** Told when a vault's access policies change (VaultAccessPolicyChanged), for changes the data plane's rows do not show. */
  events?: AccessEventSink;
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
  /**
   * Told when the request gets past ARM's own checks (subscription, api-version, authorization, resource
   * group) to an operation of the Key Vault provider on one vault: what Key Vault's audit records cover.
   */
  reached?: (operation: { operationName: KeyVaultOperationName; vault: string; resourceGroup: string; vaultUri: string }) => void;
}

/**
 * The operation names Key Vault's AuditEvent records give vault operations (docs key-vault/general/logging,
 * "Vault" tab). Access-policy updates are recorded as VaultPatch (what queries of real logs look for).
 */
export type KeyVaultOperationName = 'VaultGet' | 'VaultPut' | 'VaultPatch' | 'VaultDelete' | 'VaultRecover' | 'VaultGetDeleted' | 'VaultPurge';

export interface ArmResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export const ok = (body?: unknown, status = 200): ArmResult => (body === undefined ? { status } : { status, body });
export const single = (value: unknown): string | undefined => (Array.isArray(value) ? (value[0] as string | undefined) : typeof value === 'string' ? value : undefined);
export const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export class ArmContext {
  readonly authorization: ArmAuthorization;

  constructor(readonly o: ArmServiceOptions) {
    this.authorization = new ArmAuthorization({
      subscriptionId: o.subscriptionId,
      assignments: () => o.access.listAssignments(),
      resourceGroupOfVault: (vault) => {
        const found = o.vaults.findAny(vault);
        return found ? resourceGroupOf(found) : DEFAULT_RESOURCE_GROUP;
      },
    });
  }

  /** The emulator has one subscription: any other is ARM's 404 SubscriptionNotFound. */
  subscription(id: string): void {
    if (!eq(id, this.o.subscriptionId)) throw armErrors.subscriptionNotFound(id);
  }

  /** The request's api-version, checked as `namespace` checks it (arm/api-versions.ts). */
  version(request: ArmRequest, namespace: Namespace, context: { type?: string; location?: string } = {}): string {
    return checkArmApiVersion(request.query['api-version'], namespace, { ...context, locations: LOCATIONS });
  }

  /** ARM's 403 AuthorizationFailed unless the caller may perform `action` over `scope` (arm/authorization.ts). */
  check(request: ArmRequest, action: string, scope: string, context: { roleId?: string } = {}): void {
    this.authorization.check(request.caller, action, scope, context);
  }

  now(): number {
    return this.o.clock.now();
  }

  /** Who changed a resource and when, as ARM records it (systemData). */
  systemData(caller: ArmCallerClaims, previous?: SystemData): SystemData {
    const type = caller.idtyp === 'user' ? 'User' : caller.xms_mirid ? 'ManagedIdentity' : 'Application';
    const by = caller.idtyp === 'user' ? (caller.upn ?? caller.unique_name ?? caller.oid) : (caller.appid ?? caller.azp ?? caller.oid);
    const at = this.now();
    return previous
      ? { ...previous, lastModifiedBy: by, lastModifiedByType: type, lastModifiedAt: at }
      : { createdBy: by, createdByType: type, createdAt: at, lastModifiedBy: by, lastModifiedByType: type, lastModifiedAt: at };
  }

  /** The resource group, including the default one, which exists while the emulator does. */
  findGroup(name: string): ResourceGroupRecord | undefined {
    const found = this.o.repository.findResourceGroup(name);
    if (found) return found;
    if (eq(name, DEFAULT_RESOURCE_GROUP)) return { name: DEFAULT_RESOURCE_GROUP, location: normalizeLocation(this.o.region), tags: {}, createdAt: 0 };
    return undefined;
  }

  requireGroup(name: string): ResourceGroupRecord {
    const group = this.findGroup(name);
    if (!group) throw armErrors.resourceGroupNotFound(name);
    return group;
  }

  allGroups(): ResourceGroupRecord[] {
    const groups = this.o.repository.listResourceGroups();
    if (!groups.some((g) => eq(g.name, DEFAULT_RESOURCE_GROUP))) groups.unshift(this.findGroup(DEFAULT_RESOURCE_GROUP)!);
    return groups;
  }

  /** The active vault `name` in `resourceGroup`, or ARM's 404. */
  requireVault(resourceGroup: string, name: string): Vault {
    this.requireGroup(resourceGroup);
    const vault = this.o.vaults.find(name);
    if (!vault || !eq(resourceGroupOf(vault), resourceGroup)) throw armErrors.resourceNotFound('Microsoft.KeyVault/vaults', name, resourceGroup);
    return vault;
  }

  /** Removes the role assignments at `scope` and below it. */
  forgetAssignmentsAt(scope: string): void {
    for (const assignment of this.o.access.listAssignments()) {
      if (this.authorization.below(assignment.scope, scope)) {
        this.o.access.removeAssignment(assignment.id);
        this.o.repository.removeRoleAssignment(assignment.id);
      }
    }
  }
}
