// The emulator's directory (an offline Entra ID tenant): managed identities (one system-assigned, any
// number of user-assigned ones selected by client_id / object_id / mi_res_id), service principals (an
// application with a client secret and/or federated credentials) and users. Each has an object id, the
// `oid` of its tokens, which role assignments and access policies name.
import { createHash } from 'node:crypto';
import type { PrincipalOrigin, PrincipalRepository } from './ports.js';

export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-4000-8000-00000000e1a7';
export const DEFAULT_RESOURCE_GROUP = 'kv-emulator';
/** The default audience of federated identity credentials (Entra's token exchange). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';

export interface ManagedIdentity {
  kind: 'managedIdentity';
  /** Display name (also the last segment of its resource id). */
  name: string;
  clientId: string;
  objectId: string;
  /** Azure resource id (`mi_res_id` / `msi_res_id`). */
  resourceId: string;
  systemAssigned: boolean;
}

export interface FederatedCredential {
  name?: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface ServicePrincipal {
  kind: 'servicePrincipal';
  name: string;
  /** The application (client) id. */
  clientId: string;
  objectId: string;
  clientSecret?: string;
  federatedCredentials: FederatedCredential[];
}

export interface User {
  kind: 'user';
  name: string;
  objectId: string;
  upn: string;
}

export type Principal = ManagedIdentity | ServicePrincipal | User;
export type PrincipalKind = Principal['kind'];

/** A GUID derived from a seed, stable across runs (name-based, version 5 layout). */
export function stableGuid(seed: string): string {
  const hash = createHash('sha1').update(`kv-emulator:${seed}`).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function userAssignedResourceId(name: string): string {
  return `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourcegroups/${DEFAULT_RESOURCE_GROUP}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
}

export function systemAssignedResourceId(name: string): string {
  return `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourcegroups/${DEFAULT_RESOURCE_GROUP}/providers/Microsoft.Web/sites/${name}`;
}

export const SYSTEM_ASSIGNED_IDENTITY: ManagedIdentity = {
  kind: 'managedIdentity',
  name: 'kv-emulator-app',
  clientId: '5c1f8a2e-3d4b-4c6a-9e8f-1a2b3c4d5e6f',
  objectId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  resourceId: systemAssignedResourceId('kv-emulator-app'),
  systemAssigned: true,
};

/** The built-in service principal; its secret is generated per installation (data directory). */
export function defaultServicePrincipal(clientSecret: string): ServicePrincipal {
  return {
    kind: 'servicePrincipal',
    name: 'kv-emulator-sp',
    clientId: '3f5b8c1d-2e4a-4b6c-8d7e-9f0a1b2c3d4e',
    objectId: '7e6d5c4b-3a29-4817-a6f5-e4d3c2b1a098',
    clientSecret,
    federatedCredentials: [],
  };
}

export interface ManagedIdentitySelector {
  clientId?: string;
  objectId?: string;
  resourceId?: string;
}

export interface PrincipalDirectory {
  /** The managed identity a token request names (none named: the system-assigned one). */
  findManagedIdentity(selector: ManagedIdentitySelector): ManagedIdentity | undefined;
}

const lower = (s: string) => s.toLowerCase();

/**
 * The principals, in memory for the token endpoints, written through to the store. Names, object ids and
 * client ids are unique (case-insensitive); `put` refuses a principal that would collide with another.
 */
export class Directory implements PrincipalDirectory {
  private principals = new Map<string, { principal: Principal; origin: PrincipalOrigin }>();

  constructor(private readonly repository: PrincipalRepository) {
    this.reload();
  }

  reload(): void {
    this.principals = new Map(this.repository.list().map((e) => [lower(e.principal.objectId), e]));
  }

  /** Makes the config's principals the 'config' rows (see PrincipalRepository.replaceConfigured). */
  applyConfigured(principals: Principal[]): void {
    this.repository.replaceConfigured(principals);
    this.reload();
  }

  list(): Principal[] {
    return [...this.principals.values()].map((e) => e.principal);
  }

  originOf(objectId: string): PrincipalOrigin | undefined {
    return this.principals.get(lower(objectId))?.origin;
  }

  /** By name or object id (case-insensitive). */
  find(reference: string): Principal | undefined {
    const ref = lower(reference);
    return this.principals.get(ref)?.principal ?? this.list().find((p) => lower(p.name) === ref);
  }

  findManagedIdentity(selector: ManagedIdentitySelector): ManagedIdentity | undefined {
    const identities = this.list().filter((p): p is ManagedIdentity => p.kind === 'managedIdentity');
    const { clientId, objectId, resourceId } = selector;
    if (!clientId && !objectId && !resourceId) return identities.find((i) => i.systemAssigned);
    return identities.find(
      (i) =>
        (clientId !== undefined && lower(i.clientId) === lower(clientId)) ||
        (objectId !== undefined && lower(i.objectId) === lower(objectId)) ||
        (resourceId !== undefined && lower(i.resourceId) === lower(resourceId)),
    );
  }

  /** The service principal an application (client) id names. */
  findApplication(clientId: string): ServicePrincipal | undefined {
    return this.list().find((p): p is ServicePrincipal => p.kind === 'servicePrincipal' && lower(p.clientId) === lower(clientId));
  }

  /** What in the directory `candidate` would collide with, if anything (ignoring the principal it replaces). */
  collision(candidate: Principal, replacing?: string): string | undefined {
    return collisionIn(this.list().filter((p) => lower(p.objectId) !== lower(replacing ?? candidate.objectId)), candidate);
  }

  /** Creates or replaces (by object id) a principal. */
  put(principal: Principal, origin: PrincipalOrigin): void {
    this.repository.upsert({ principal, origin });
    this.principals.set(lower(principal.objectId), { principal, origin });
  }

  remove(objectId: string): boolean {
    if (!this.principals.has(lower(objectId))) return false;
    this.repository.remove(lower(objectId));
    this.principals.delete(lower(objectId));
    return true;
  }
}

/** The first uniqueness rule `candidate` breaks among `others`, as a sentence fragment. */
export function collisionIn(others: Principal[], candidate: Principal): string | undefined {
  const clientIdOf = (p: Principal) => (p.kind === 'user' ? undefined : lower(p.clientId));
  for (const other of others) {
    if (lower(other.name) === lower(candidate.name)) return `the name '${candidate.name}' is already used by another principal`;
    if (lower(other.objectId) === lower(candidate.objectId)) return `the object id '${candidate.objectId}' is already used by '${other.name}'`;
    const id = clientIdOf(candidate);
    if (id !== undefined && clientIdOf(other) === id) return `the client id '${id}' is already used by '${other.name}'`;
    if (candidate.kind === 'managedIdentity' && candidate.systemAssigned && other.kind === 'managedIdentity' && other.systemAssigned) {
      return `'${other.name}' is already the system-assigned identity (there can be only one)`;
    }
    if (candidate.kind === 'managedIdentity' && other.kind === 'managedIdentity' && lower(other.resourceId) === lower(candidate.resourceId)) {
      return `the resource id '${candidate.resourceId}' is already used by '${other.name}'`;
    }
  }
  return undefined;
}
