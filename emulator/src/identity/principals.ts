// The emulator's directory of principals. The core knows one: the system-assigned managed identity
// that the App Service / IMDS token endpoints answer for by default.

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

export const DEFAULT_SUBSCRIPTION_ID = '00000000-0000-4000-8000-00000000e1a7';
export const DEFAULT_RESOURCE_GROUP = 'kv-emulator';

export const SYSTEM_ASSIGNED_IDENTITY: ManagedIdentity = {
  kind: 'managedIdentity',
  name: 'kv-emulator-app',
  clientId: '5c1f8a2e-3d4b-4c6a-9e8f-1a2b3c4d5e6f',
  objectId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
  resourceId: `/subscriptions/${DEFAULT_SUBSCRIPTION_ID}/resourcegroups/${DEFAULT_RESOURCE_GROUP}/providers/Microsoft.Web/sites/kv-emulator-app`,
  systemAssigned: true,
};

export interface PrincipalDirectory {
  /** The managed identity a token request names (none named: the system-assigned one). */
  findManagedIdentity(selector: { clientId?: string; objectId?: string; resourceId?: string }): ManagedIdentity | undefined;
}

export class StaticDirectory implements PrincipalDirectory {
  constructor(private readonly identities: ManagedIdentity[] = [SYSTEM_ASSIGNED_IDENTITY]) {}

  findManagedIdentity(selector: { clientId?: string; objectId?: string; resourceId?: string }): ManagedIdentity | undefined {
    const { clientId, objectId, resourceId } = selector;
    if (!clientId && !objectId && !resourceId) return this.identities.find((i) => i.systemAssigned);
    return this.identities.find(
      (i) =>
        (clientId !== undefined && i.clientId.toLowerCase() === clientId.toLowerCase()) ||
        (objectId !== undefined && i.objectId.toLowerCase() === objectId.toLowerCase()) ||
        (resourceId !== undefined && i.resourceId.toLowerCase() === resourceId.toLowerCase()),
    );
  }
}
