// The `roleAssignments` and `accessPolicies` sections of the config file (docs/authorization.md) and
// the same shapes on the admin API. Without a `roleAssignments` section every configured principal holds
// Key Vault Administrator at the root, so a fresh emulator works at once; declaring the section replaces
// that default entirely.
import { createHash } from 'node:crypto';
import { SECRET_PERMISSIONS, type SecretPermission } from './operations.js';
import type { StoredAssignment, StoredPolicy } from './ports.js';
import { findRole, KEY_VAULT_ADMINISTRATOR } from './roles.js';
import { parseScope } from './scopes.js';

export type Fail = (path: string, problem: string) => never;

/** What a principal reference resolves to (`principal` fields name a principal's name or object id). */
export type ResolvePrincipal = (reference: string) => { objectId: string } | undefined;

type Raw = Record<string, unknown>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const VAULT = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/;

function object(value: unknown, path: string, fail: Fail): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object.');
  return value as Raw;
}

function required(raw: Raw, key: string, path: string, fail: Fail): string {
  const v = raw[key];
  if (v === undefined) fail(`${path}.${key}`, 'is required.');
  if (typeof v !== 'string' || v.trim() === '') fail(`${path}.${key}`, 'must be a non-empty string.');
  return v;
}

/** A GUID derived from the assignment's content, so the same declaration keeps its id across starts. */
export function assignmentIdFor(principalId: string, roleId: string, scope: string): string {
  const hex = createHash('sha256').update(`${principalId.toLowerCase()}|${roleId}|${scope.toLowerCase()}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function parseAssignment(value: unknown, path: string, resolve: ResolvePrincipal, fail: Fail): Omit<StoredAssignment, 'origin'> {
  const raw = object(value, path, fail);
  for (const key of Object.keys(raw)) {
    if (!['id', 'principal', 'role', 'scope'].includes(key)) fail(`${path}.${key}`, 'is not a known role assignment field (id, principal, role, scope).');
  }
  const reference = required(raw, 'principal', path, fail);
  const principal = resolve(reference) ?? fail(`${path}.principal`, `names no known principal: '${reference}'.`);
  const roleName = required(raw, 'role', path, fail);
  const role = findRole(roleName) ?? fail(`${path}.role`, `unknown role '${roleName}'.`);
  const scopeText = raw.scope === undefined ? '/' : required(raw, 'scope', path, fail);
  const scope = parseScope(scopeText);
  if ('problem' in scope) fail(`${path}.scope`, `${scope.problem}, got '${scopeText}'.`);
  let id: string;
  if (raw.id !== undefined) {
    id = required(raw, 'id', path, fail);
    if (!GUID.test(id)) fail(`${path}.id`, `must be a GUID, got '${id}'.`);
  } else {
    id = assignmentIdFor(principal.objectId, role.id, scopeText);
  }
  return { id: id.toLowerCase(), principalId: principal.objectId.toLowerCase(), roleId: role.id, scope: scopeText.trim() };
}

export function parsePermissions(value: unknown, path: string, fail: Fail): SecretPermission[] {
  if (!Array.isArray(value)) fail(path, `must be an array of secret permissions (${SECRET_PERMISSIONS.join(', ')}, or all).`);
  const result = new Set<SecretPermission>();
  value.forEach((item, i) => {
    const p = typeof item === 'string' ? item.trim().toLowerCase() : '';
    if (p === 'all') SECRET_PERMISSIONS.forEach((x) => result.add(x));
    else if ((SECRET_PERMISSIONS as readonly string[]).includes(p)) result.add(p as SecretPermission);
    else fail(`${path}[${i}]`, `unknown secret permission '${String(item)}' (${SECRET_PERMISSIONS.join(', ')}, or all).`);
  });
  return SECRET_PERMISSIONS.filter((p) => result.has(p));
}

export function parsePolicy(value: unknown, path: string, resolve: ResolvePrincipal, fail: Fail): Omit<StoredPolicy, 'origin'> {
  const raw = object(value, path, fail);
  for (const key of Object.keys(raw)) {
    if (!['vault', 'principal', 'secrets'].includes(key)) fail(`${path}.${key}`, 'is not a known access policy field (vault, principal, secrets).');
  }
  const vault = required(raw, 'vault', path, fail);
  if (!VAULT.test(vault)) fail(`${path}.vault`, 'must be 1-63 letters, digits and hyphens.');
  const reference = required(raw, 'principal', path, fail);
  const principal = resolve(reference) ?? fail(`${path}.principal`, `names no known principal: '${reference}'.`);
  if (raw.secrets === undefined) fail(`${path}.secrets`, 'is required.');
  return { vault: vault.toLowerCase(), principalId: principal.objectId.toLowerCase(), secrets: parsePermissions(raw.secrets, `${path}.secrets`, fail) };
}

export interface AccessConfig {
  assignments: Omit<StoredAssignment, 'origin'>[];
  policies: Omit<StoredPolicy, 'origin'>[];
}

export function parseAccessConfig(
  sections: { roleAssignments?: unknown; accessPolicies?: unknown },
  options: { principals: Array<{ name: string; objectId: string }>; fail: Fail },
): AccessConfig {
  const fail: Fail = options.fail;
  const principals = options.principals;
  const resolve: ResolvePrincipal = (reference) => {
    const ref = reference.trim().toLowerCase();
    return principals.find((p) => p.objectId.toLowerCase() === ref || p.name.toLowerCase() === ref);
  };
  let assignments: Omit<StoredAssignment, 'origin'>[];
  if (sections.roleAssignments === undefined) {
    assignments = principals.map((p) => ({
      id: assignmentIdFor(p.objectId, KEY_VAULT_ADMINISTRATOR, '/'),
      principalId: p.objectId.toLowerCase(),
      roleId: KEY_VAULT_ADMINISTRATOR,
      scope: '/',
    }));
  } else {
    if (!Array.isArray(sections.roleAssignments)) fail('roleAssignments', 'must be an array.');
    assignments = sections.roleAssignments.map((a, i) => parseAssignment(a, `roleAssignments[${i}]`, resolve, fail));
    const seen = new Map<string, number>();
    assignments.forEach((a, i) => {
      const previous = seen.get(a.id);
      if (previous !== undefined) fail(`roleAssignments[${i}]`, `repeats roleAssignments[${previous}] (same id ${a.id}).`);
      seen.set(a.id, i);
    });
  }
  let policies: Omit<StoredPolicy, 'origin'>[] = [];
  if (sections.accessPolicies !== undefined) {
    if (!Array.isArray(sections.accessPolicies)) fail('accessPolicies', 'must be an array.');
    policies = sections.accessPolicies.map((p, i) => parsePolicy(p, `accessPolicies[${i}]`, resolve, fail));
    const seen = new Map<string, number>();
    policies.forEach((p, i) => {
      const key = `${p.vault}|${p.principalId}`;
      const previous = seen.get(key);
      if (previous !== undefined) fail(`accessPolicies[${i}]`, `repeats the vault and principal of accessPolicies[${previous}]; list all permissions in one entry.`);
      seen.set(key, i);
    });
  }
  return { assignments, policies };
}
