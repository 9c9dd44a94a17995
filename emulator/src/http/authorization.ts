// Data-plane authorization (spec §5.2, §7): a pipeline step (http/pipeline.ts) right after authentication, before the
// body is parsed and before the secret is looked up, so an unauthorized caller gets 403 even for a
// malformed request or a missing secret. Each route names the operation it performs in its config; the
// decision comes from the access layer, the 403 from the error catalog. RBAC-authorized requests carry
// x-ms-keyvault-rbac-assignment-id, as on the service.
import { assignmentHeader, describeCaller, type Caller } from '../access/evaluate.js';
import { armResourceId, type ArmLocation } from '../access/scopes.js';
import type { AccessControl } from '../access/service.js';
import { errors } from '../errors.js';
import { resourceGroupOf } from '../vault/model.js';
import type { DataPlaneStep } from './pipeline.js';

export interface AuthorizationOptions {
  access: AccessControl;
  region: string;
  location: ArmLocation;
}

export function authorizationStep(options: AuthorizationOptions): DataPlaneStep {
  const headerValues = new Map<string, string>();
  const headerOf = (assignmentId: string) => {
    let value = headerValues.get(assignmentId);
    if (value === undefined) {
      if (headerValues.size > 1000) headerValues.clear();
      headerValues.set(assignmentId, (value = assignmentHeader(assignmentId)));
    }
    return value;
  };
  return (request, reply) => {
    const operation = request.kv.permission;
    const claims = request.kv.claims;
    if (operation === undefined || claims === undefined) return;
    const vault = request.kv.vault();
    const secretName = (request.params as { name?: string } | undefined)?.name;
    const caller = claims as Caller;
    const decision = options.access.authorize({
      vault: vault.name,
      resourceGroup: resourceGroupOf(vault),
      permissionModel: vault.permissionModel,
      operation,
      secretName,
      caller,
    });
    const model = vault.permissionModel === 'accessPolicy' ? 'accessPolicy' : 'rbac';
    request.kv.decision = decision.allowed ? { model, allowed: true, assignmentId: decision.assignmentId } : { model, allowed: false };
    if (decision.allowed) {
      if (decision.assignmentId !== undefined) reply.header('x-ms-keyvault-rbac-assignment-id', headerOf(decision.assignmentId));
      return;
    }
    if (decision.model === 'rbac') {
      throw errors.forbiddenByRbac({
        caller: describeCaller(caller),
        action: decision.action,
        resource: armResourceId(decision.resource, options.location),
        vault: vault.name,
        region: options.region,
      });
    }
    throw errors.forbiddenByPolicy({
      caller: describeCaller(caller, { numgroups: true }),
      permission: decision.permission,
      vault: vault.name,
      region: options.region,
    });
  };
}
