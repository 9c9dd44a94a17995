// The access layer's pure functions: built-in roles and their data actions, scope forms, the decision
// for each operation and permission model, and how a caller is named in denials.
import { describe, expect, it } from 'vitest';
import { parseAccessConfig } from '../../src/access/config.js';
import { authorize, describeCaller, assignmentHeader, type RoleAssignment } from '../../src/access/evaluate.js';
import { requirementOf, type Operation } from '../../src/access/operations.js';
import { BUILT_IN_ROLES, findRole, grants } from '../../src/access/roles.js';
import { armResourceId, covers, parseScope, type Scope } from '../../src/access/scopes.js';
import type { AccessRepository, StoredAssignment, StoredPolicy } from '../../src/access/ports.js';
import { AccessControl } from '../../src/access/service.js';

const SECRETS = 'Microsoft.KeyVault/vaults/secrets';
const ALL_SECRET_ACTIONS = ['getSecret/action', 'readMetadata/action', 'setSecret/action', 'update/action', 'delete', 'backup/action', 'restore/action', 'recover/action', 'purge/action'].map(
  (a) => `${SECRETS}/${a}`,
);

describe('built-in roles', () => {
  it('grant exactly the secret data actions of the service (spec §7.1)', () => {
    const granted = (name: string) => ALL_SECRET_ACTIONS.filter((a) => grants(findRole(name)!, a)).map((a) => a.slice(SECRETS.length + 1));
    expect(granted('Key Vault Administrator')).toHaveLength(9);
    expect(granted('Key Vault Secrets Officer')).toHaveLength(9);
    expect(granted('Key Vault Secrets User')).toEqual(['getSecret/action', 'readMetadata/action']);
    expect(granted('Key Vault Reader')).toEqual(['readMetadata/action']);
    expect(granted('Key Vault Certificate User')).toEqual(['getSecret/action', 'readMetadata/action']);
    for (const none of ['Key Vault Certificates Officer', 'Key Vault Crypto Officer', 'Key Vault Contributor', 'Owner', 'Contributor', 'Reader']) {
      expect(granted(none), none).toEqual([]);
    }
  });

  it('are found by name (any case), GUID or ARM role-definition id', () => {
    expect(findRole('key vault secrets user')?.id).toBe('4633458b-17de-408a-b874-0445c86b69e6');
    expect(findRole('4633458B-17DE-408A-B874-0445C86B69E6')?.name).toBe('Key Vault Secrets User');
    expect(findRole('/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/00482a5a-887f-4fb3-b363-3b7fe8e74483')?.name).toBe('Key Vault Administrator');
    expect(findRole('Key Vault Foo')).toBeUndefined();
    expect(new Set(BUILT_IN_ROLES.map((r) => r.id)).size).toBe(BUILT_IN_ROLES.length);
  });

  it('match wildcards as Azure does (a star spans segments, nothing else is a pattern)', () => {
    const reader = findRole('Key Vault Reader')!;
    expect(grants(reader, 'Microsoft.KeyVault/vaults/keys/read')).toBe(true);
    expect(grants(reader, 'Microsoft.KeyVault/vaults/secrets/getSecret/action')).toBe(false);
    expect(grants({ ...reader, dataActions: ['Microsoft.KeyVault/vaults/secrets/get.ecret/action'] }, 'Microsoft.KeyVault/vaults/secrets/getSecret/action')).toBe(false);
    expect(grants({ ...reader, dataActions: ['Microsoft.KeyVault/*'], notDataActions: ['*/purge/action'] }, `${SECRETS}/purge/action`)).toBe(false);
  });
});

describe('scopes', () => {
  it('parse the short and ARM forms, case-insensitively', () => {
    expect(parseScope('/')).toEqual({});
    expect(parseScope('/subscriptions/s')).toEqual({});
    expect(parseScope('/subscriptions/s/resourceGroups/RG/')).toEqual({ resourceGroup: 'rg' });
    expect(parseScope('/vaults/MyVault')).toEqual({ vault: 'myvault' });
    expect(parseScope('/vaults/v/secrets/Db-Password')).toEqual({ vault: 'v', secret: 'db-password' });
    expect(parseScope('/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/V')).toEqual({ resourceGroup: 'rg', vault: 'v' });
    expect(parseScope('/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v/secrets/n')).toEqual({ resourceGroup: 'rg', vault: 'v', secret: 'n' });
    for (const bad of ['', 'vaults/v', '/vaults/', '/vaults/v/keys/k', '/vaults/v/secrets/a_b', '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/x']) {
      expect(parseScope(bad), bad).toHaveProperty('problem');
    }
  });

  it('cover their resource and everything below it', () => {
    expect(covers({}, { vault: 'a', secret: 'x' })).toBe(true);
    expect(covers({ vault: 'a' }, { vault: 'A' })).toBe(true);
    expect(covers({ vault: 'a' }, { vault: 'b' })).toBe(false);
    expect(covers({ vault: 'a', secret: 'x' }, { vault: 'a', secret: 'X' })).toBe(true);
    expect(covers({ vault: 'a', secret: 'x' }, { vault: 'a' })).toBe(false);
    expect(covers({ vault: 'a', secret: 'x' }, { vault: 'a', secret: 'y' })).toBe(false);
  });

  it('compare resource groups when both the scope and the vault name one (vaults live in resource groups)', () => {
    expect(covers({ resourceGroup: 'rg1' }, { vault: 'a', resourceGroup: 'RG1' })).toBe(true);
    expect(covers({ resourceGroup: 'rg1' }, { vault: 'a', resourceGroup: 'rg2' })).toBe(false);
    expect(covers({ resourceGroup: 'rg1', vault: 'a' }, { vault: 'a', resourceGroup: 'rg2' })).toBe(false);
    // A short vault scope names the vault wherever it lives.
    expect(covers({ vault: 'a' }, { vault: 'a', resourceGroup: 'rg2' })).toBe(true);
  });

  it('print resources as lower-cased ARM ids, in their own resource group if they name one', () => {
    expect(armResourceId({ vault: 'v', secret: 'My-Secret' }, { subscriptionId: 'S', resourceGroup: 'RG' })).toBe(
      '/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/v/secrets/my-secret',
    );
    expect(armResourceId({ vault: 'v', resourceGroup: 'Mine' }, { subscriptionId: 'S', resourceGroup: 'RG' })).toBe(
      '/subscriptions/s/resourcegroups/mine/providers/microsoft.keyvault/vaults/v',
    );
  });
});

describe('decisions', () => {
  const caller = { oid: 'OID-1', appid: 'app-1', iss: 'https://sts.windows.net/t/' };
  const assignment = (id: string, role: string, scope: string): RoleAssignment => ({ id, principalId: 'oid-1', roleId: findRole(role)!.id, scope: parseScope(scope) as Scope });
  const decide = (operation: Operation, assignments: RoleAssignment[], secretName?: string) =>
    authorize({ vault: 'v', permissionModel: 'rbac', operation, caller, assignments, ...(secretName !== undefined && { secretName }) });

  it('name the action and resource each operation needs (spec §7.2)', () => {
    expect(requirementOf('get', 'v', 'n')).toEqual({ action: `${SECRETS}/getSecret/action`, permission: 'get', resource: { vault: 'v', secret: 'n' } });
    expect(requirementOf('list', 'v', undefined)).toEqual({ action: `${SECRETS}/readMetadata/action`, permission: 'list', resource: { vault: 'v' } });
    expect(requirementOf('list', 'v', 'n').resource).toEqual({ vault: 'v', secret: 'n' });
    expect(requirementOf('update', 'v', 'n')).toMatchObject({ action: `${SECRETS}/update/action`, permission: 'set' });
    expect(requirementOf('delete', 'v', 'n').action).toBe(`${SECRETS}/delete`);
    expect(requirementOf('getDeleted', 'v', 'n')).toMatchObject({ action: `${SECRETS}/readMetadata/action`, permission: 'get' });
    expect(requirementOf('restore', 'v', undefined).resource).toEqual({ vault: 'v' });
  });

  it('allow through the most specific covering assignment', () => {
    const result = decide('get', [assignment('a-root', 'Key Vault Administrator', '/'), assignment('a-secret', 'Key Vault Secrets User', '/vaults/v/secrets/n')], 'n');
    expect(result).toEqual({ allowed: true, assignmentId: 'a-secret' });
  });

  it('deny listing with a secret-scoped assignment, and with roles lacking the action', () => {
    expect(decide('list', [assignment('a', 'Key Vault Secrets Officer', '/vaults/v/secrets/n')])).toEqual({
      allowed: false,
      model: 'rbac',
      action: `${SECRETS}/readMetadata/action`,
      resource: { vault: 'v' },
    });
    expect(decide('get', [assignment('a', 'Key Vault Reader', '/')], 'n')).toMatchObject({ allowed: false, action: `${SECRETS}/getSecret/action` });
    expect(decide('get', [assignment('a', 'Key Vault Administrator', '/vaults/other')], 'n')).toMatchObject({ allowed: false });
    expect(decide('get', [{ ...assignment('a', 'Key Vault Administrator', '/'), principalId: 'someone-else' }], 'n')).toMatchObject({ allowed: false });
  });

  it('use only access policies on access-policy vaults, and only role assignments on RBAC vaults', () => {
    const admin = [assignment('a', 'Key Vault Administrator', '/')];
    const policy = { vault: 'v', principalId: 'oid-1', secrets: ['get', 'list'] as const };
    const base = { vault: 'v', caller, assignments: admin, policy: { ...policy, secrets: [...policy.secrets] } };
    expect(authorize({ ...base, permissionModel: 'accessPolicy', operation: 'get', secretName: 'n' })).toEqual({ allowed: true });
    expect(authorize({ ...base, permissionModel: 'accessPolicy', operation: 'update', secretName: 'n' })).toEqual({ allowed: false, model: 'accessPolicy', permission: 'set' });
    expect(authorize({ vault: 'v', caller, assignments: [], policy: base.policy, permissionModel: 'rbac', operation: 'get', secretName: 'n' })).toMatchObject({ allowed: false, model: 'rbac' });
  });

  it('describe callers as the service does', () => {
    expect(describeCaller(caller)).toBe('appid=app-1;oid=OID-1;iss=https://sts.windows.net/t/');
    expect(describeCaller({ ...caller, xms_mirid: '/mi', xms_az_rid: '/mi' })).toBe('appid=app-1;oid=OID-1;iss=https://sts.windows.net/t/;xms_mirid=/mi;xms_az_rid=/mi');
    expect(describeCaller({ ...caller, xms_mirid: '/mi' }, { numgroups: true })).toBe('appid=app-1;oid=OID-1;numgroups=0;iss=https://sts.windows.net/t/');
    expect(assignmentHeader('0A1B2C3D-0000-4000-8000-000000000001')).toBe('0a1b2c3d000040008000000000000001');
  });
});

/** Assignments and policies in memory (the service's store, for the decisions it keeps). */
function memoryRepository(): AccessRepository {
  let assignments: StoredAssignment[] = [];
  let policies: StoredPolicy[] = [];
  return {
    listAssignments: () => [...assignments],
    insertAssignment: (a) => void assignments.push(a),
    deleteAssignment: (id) => void (assignments = assignments.filter((a) => a.id !== id)),
    listPolicies: () => [...policies],
    upsertPolicy: (p) => void (policies = [...policies.filter((q) => q.vault !== p.vault || q.principalId !== p.principalId), p]),
    deletePolicy: (vault, principalId) => void (policies = policies.filter((q) => q.vault !== vault || q.principalId !== principalId)),
    replaceConfigured: (a, p) => {
      assignments = [...assignments.filter((x) => x.origin !== 'config'), ...a];
      policies = [...policies.filter((x) => x.origin !== 'config'), ...p];
    },
  };
}

describe('the access service', () => {
  const caller = { oid: '11111111-2222-4333-8444-555555555555' };
  const ask = (access: AccessControl, operation: Operation, permissionModel: 'rbac' | 'accessPolicy' = 'rbac', secretName = 'db') =>
    access.authorize({ vault: 'v1', permissionModel, operation, secretName, caller });

  it('keeps a decision only until an assignment or a policy changes', () => {
    const access = new AccessControl(memoryRepository());
    expect(ask(access, 'get').allowed).toBe(false);
    const assignment = access.addAssignment({ id: 'a1', principalId: caller.oid, roleId: 'Key Vault Secrets User', scope: '/vaults/v1/secrets/db' });
    expect(ask(access, 'get')).toEqual({ allowed: true, assignmentId: 'a1' });
    // The same question again gets the same (kept) answer; another secret is decided on its own.
    expect(ask(access, 'get')).toBe(ask(access, 'get'));
    expect(ask(access, 'get', 'rbac', 'other').allowed).toBe(false);
    expect(ask(access, 'set').allowed).toBe(false);
    access.removeAssignment(assignment.id);
    expect(ask(access, 'get').allowed).toBe(false);

    expect(ask(access, 'get', 'accessPolicy').allowed).toBe(false);
    access.setPolicy('v1', caller.oid, ['get']);
    expect(ask(access, 'get', 'accessPolicy').allowed).toBe(true);
    access.setPolicy('v1', caller.oid, ['list']);
    expect(ask(access, 'get', 'accessPolicy').allowed).toBe(false);
    access.removePolicy('v1', caller.oid);
    expect(ask(access, 'list', 'accessPolicy').allowed).toBe(false);

    access.applyConfigured([{ id: 'c1', principalId: caller.oid, roleId: 'Key Vault Secrets Officer', scope: '/' }], []);
    expect(ask(access, 'set')).toEqual({ allowed: true, assignmentId: 'c1' });
    access.applyConfigured([], []);
    expect(ask(access, 'set').allowed).toBe(false);
  });

  it('keeps an allowance that holds for every secret once, and decides per secret where a secret-scoped assignment may differ', () => {
    const access = new AccessControl(memoryRepository());
    access.addAssignment({ id: 'v', principalId: caller.oid, roleId: 'Key Vault Secrets User', scope: '/vaults/v1' });
    expect(ask(access, 'get', 'rbac', 'db')).toEqual({ allowed: true, assignmentId: 'v' });
    expect(ask(access, 'get', 'rbac', 'other')).toBe(ask(access, 'get', 'rbac', 'db'));
    // A denial names its secret.
    expect(ask(access, 'set', 'rbac', 'db')).not.toBe(ask(access, 'set', 'rbac', 'other'));
    // With a secret-scoped assignment, the most specific assignment is reported, secret by secret.
    access.addAssignment({ id: 's', principalId: caller.oid, roleId: 'Key Vault Secrets Officer', scope: '/vaults/v1/secrets/db' });
    expect(ask(access, 'get', 'rbac', 'db')).toEqual({ allowed: true, assignmentId: 's' });
    expect(ask(access, 'get', 'rbac', 'other')).toEqual({ allowed: true, assignmentId: 'v' });
    expect(ask(access, 'set', 'rbac', 'db').allowed).toBe(true);
    expect(ask(access, 'set', 'rbac', 'other').allowed).toBe(false);
  });
});

describe('access config', () => {
  const principals = [
    { name: 'app', objectId: '11111111-1111-4111-8111-111111111111' },
    { name: 'ci', objectId: '22222222-2222-4222-8222-222222222222' },
  ];
  const fail = (path: string, problem: string): never => {
    throw new Error(`${path}: ${problem}`);
  };

  it('grants every principal Key Vault Administrator at the root when no roleAssignments are declared', () => {
    const parsed = parseAccessConfig({}, { principals, fail });
    expect(parsed.assignments.map((a) => [a.principalId, a.roleId, a.scope])).toEqual([
      [principals[0]!.objectId, '00482a5a-887f-4fb3-b363-3b7fe8e74483', '/'],
      [principals[1]!.objectId, '00482a5a-887f-4fb3-b363-3b7fe8e74483', '/'],
    ]);
    expect(parseAccessConfig({}, { principals, fail }).assignments[0]!.id).toBe(parsed.assignments[0]!.id);
  });

  it('replaces the default with the declared assignments and expands access policy permissions', () => {
    const parsed = parseAccessConfig(
      {
        roleAssignments: [{ principal: 'APP', role: 'Key Vault Secrets User', scope: '/vaults/myvault' }],
        accessPolicies: [{ vault: 'Legacy', principal: principals[1]!.objectId, secrets: ['List', 'get'] }, { vault: 'all', principal: 'app', secrets: ['all'] }],
      },
      { principals, fail },
    );
    expect(parsed.assignments).toEqual([{ id: expect.any(String), principalId: principals[0]!.objectId, roleId: '4633458b-17de-408a-b874-0445c86b69e6', scope: '/vaults/myvault' }]);
    expect(parsed.policies[0]).toEqual({ vault: 'legacy', principalId: principals[1]!.objectId, secrets: ['get', 'list'] });
    expect(parsed.policies[1]!.secrets).toEqual(['get', 'list', 'set', 'delete', 'backup', 'restore', 'recover', 'purge']);
  });

  it('names the bad field', () => {
    const problem = (sections: Record<string, unknown>) => {
      try {
        parseAccessConfig(sections, { principals, fail });
        return 'no error';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problem({ roleAssignments: [{ principal: 'app', role: 'Key Vault Secrets User' }, { principal: 'app', role: 'Key Vault Foo' }] })).toBe(
      "roleAssignments[1].role: unknown role 'Key Vault Foo'.",
    );
    expect(problem({ roleAssignments: [{ principal: 'nobody', role: 'Owner' }] })).toBe("roleAssignments[0].principal: names no known principal: 'nobody'.");
    expect(problem({ roleAssignments: [{ principal: 'app', role: 'Owner', scope: '/vaults/v/keys/k' }] })).toMatch(/^roleAssignments\[0\]\.scope: must be '\/'/);
    expect(problem({ roleAssignments: [{ principal: 'app', role: 'Owner', extra: 1 }] })).toMatch(/^roleAssignments\[0\]\.extra: is not a known/);
    expect(problem({ accessPolicies: [{ vault: 'v', principal: 'app', secrets: ['get', 'sign'] }] })).toMatch(/^accessPolicies\[0\]\.secrets\[1\]: unknown secret permission 'sign'/);
    expect(problem({ accessPolicies: [{ vault: 'v', principal: 'app', secrets: [] }, { vault: 'V', principal: 'app', secrets: ['get'] }] })).toMatch(/^accessPolicies\[1\]: repeats/);
    expect(problem({ roleAssignments: {} })).toBe('roleAssignments: must be an array.');
  });
});
