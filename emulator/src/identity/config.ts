// The `identities` section of the config file (docs/identities-and-credentials.md) and the same principal shapes
// on the admin API: validated field by field, every problem reported with the path of the bad field.
import {
  collisionIn,
  defaultServicePrincipal,
  stableGuid,
  SYSTEM_ASSIGNED_IDENTITY,
  systemAssignedResourceId,
  TOKEN_EXCHANGE_AUDIENCE,
  userAssignedResourceId,
  type FederatedCredential,
  type Principal,
  type PrincipalKind,
} from './principals.js';

/** Reports a problem with the field at `path`; never returns. */
export type Fail = (path: string, problem: string) => never;

type Raw = Record<string, unknown>;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const FIELDS: Record<PrincipalKind, readonly string[]> = {
  managedIdentity: ['name', 'clientId', 'objectId', 'systemAssigned', 'resourceId'],
  servicePrincipal: ['name', 'clientId', 'appId', 'objectId', 'clientSecret', 'federatedCredentials'],
  user: ['name', 'objectId', 'upn'],
};

export const SECTION_OF: Record<PrincipalKind, string> = {
  managedIdentity: 'managedIdentities',
  servicePrincipal: 'servicePrincipals',
  user: 'users',
};

function object(value: unknown, path: string, fail: Fail): Raw {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'must be an object.');
  return value as Raw;
}

function text(raw: Raw, key: string, path: string, fail: Fail): string | undefined {
  const v = raw[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') fail(`${path}.${key}`, 'must be a non-empty string.');
  return v;
}

function guid(raw: Raw, key: string, path: string, fail: Fail): string | undefined {
  const v = text(raw, key, path, fail);
  if (v !== undefined && !GUID.test(v)) fail(`${path}.${key}`, `must be a GUID, got '${v}'.`);
  return v?.toLowerCase();
}

function federated(value: unknown, path: string, fail: Fail): FederatedCredential[] {
  if (!Array.isArray(value)) fail(path, 'must be an array.');
  return value.map((item, i) => {
    const at = `${path}[${i}]`;
    const raw = object(item, at, fail);
    for (const key of Object.keys(raw)) {
      if (!['name', 'issuer', 'subject', 'audiences'].includes(key)) fail(`${at}.${key}`, 'is not a known federated credential field (name, issuer, subject, audiences).');
    }
    const issuer = text(raw, 'issuer', at, fail) ?? fail(`${at}.issuer`, 'is required.');
    const subject = text(raw, 'subject', at, fail) ?? fail(`${at}.subject`, 'is required.');
    const name = text(raw, 'name', at, fail);
    let audiences = [TOKEN_EXCHANGE_AUDIENCE];
    if (raw.audiences !== undefined) {
      if (!Array.isArray(raw.audiences) || raw.audiences.length === 0 || !raw.audiences.every((a) => typeof a === 'string' && a !== '')) {
        fail(`${at}.audiences`, 'must be a non-empty array of strings.');
      }
      audiences = raw.audiences as string[];
    }
    return { ...(name !== undefined && { name }), issuer, subject, audiences };
  });
}

/** Validates one principal of the given kind; GUIDs left out are derived from the name. */
export function parsePrincipal(kind: PrincipalKind, value: unknown, path: string, fail: Fail): Principal {
  const raw = object(value, path, fail);
  for (const key of Object.keys(raw)) {
    if (!FIELDS[kind].includes(key)) fail(`${path}.${key}`, `is not a known field of a ${kind} (${FIELDS[kind].join(', ')}).`);
  }
  const name = text(raw, 'name', path, fail) ?? fail(`${path}.name`, 'is required.');
  if (!NAME.test(name)) fail(`${path}.name`, 'must be 1-128 letters, digits, dots, hyphens and underscores, starting with a letter or digit.');
  const seed = `${kind}:${name.toLowerCase()}`;
  const objectId = guid(raw, 'objectId', path, fail) ?? stableGuid(`${seed}:objectId`);
  if (kind === 'user') {
    const upn = text(raw, 'upn', path, fail) ?? `${name}@kv-emulator.localhost`;
    return { kind, name, objectId, upn };
  }
  // A service principal's client id is its application's `appId` (what `az ad sp` prints and an app has
  // in AZURE_CLIENT_ID): either name is accepted, so a real app's identity is mirrored as it is written.
  const appId = kind === 'servicePrincipal' ? guid(raw, 'appId', path, fail) : undefined;
  const declaredClientId = guid(raw, 'clientId', path, fail);
  if (appId !== undefined && declaredClientId !== undefined && appId !== declaredClientId) {
    fail(`${path}.appId`, `must equal 'clientId' when both are given (they name the same application id).`);
  }
  const clientId = declaredClientId ?? appId ?? stableGuid(`${seed}:clientId`);
  if (kind === 'managedIdentity') {
    if (raw.systemAssigned !== undefined && typeof raw.systemAssigned !== 'boolean') fail(`${path}.systemAssigned`, 'must be true or false.');
    const systemAssigned = raw.systemAssigned === true;
    const resourceId = text(raw, 'resourceId', path, fail);
    if (resourceId !== undefined && !/^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/.+/i.test(resourceId)) {
      fail(`${path}.resourceId`, "must be an ARM resource id ('/subscriptions/<sub>/resourceGroups/<rg>/providers/...').");
    }
    return {
      kind,
      name,
      clientId,
      objectId,
      resourceId: resourceId ?? (systemAssigned ? systemAssignedResourceId(name) : userAssignedResourceId(name)),
      systemAssigned,
    };
  }
  const clientSecret = text(raw, 'clientSecret', path, fail);
  const federatedCredentials = raw.federatedCredentials === undefined ? [] : federated(raw.federatedCredentials, `${path}.federatedCredentials`, fail);
  return { kind, name, clientId, objectId, ...(clientSecret !== undefined && { clientSecret }), federatedCredentials };
}

/**
 * The principals the config declares; without an `identities` section, the built-in system-assigned
 * managed identity and the built-in service principal (whose secret is the installation's).
 */
export function parseIdentities(section: unknown, options: { defaultClientSecret: string; fail: Fail }): Principal[] {
  const fail: Fail = options.fail;
  if (section === undefined) return [SYSTEM_ASSIGNED_IDENTITY, defaultServicePrincipal(options.defaultClientSecret)];
  const raw = object(section, 'identities', fail);
  const kinds = Object.entries(SECTION_OF) as Array<[PrincipalKind, string]>;
  for (const key of Object.keys(raw)) {
    if (!kinds.some(([, k]) => k === key)) fail(`identities.${key}`, "is not a known section (managedIdentities, servicePrincipals, users).");
  }
  const principals: Principal[] = [];
  for (const [kind, key] of kinds) {
    const list = raw[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) fail(`identities.${key}`, 'must be an array.');
    list.forEach((item, i) => {
      const path = `identities.${key}[${i}]`;
      const principal = parsePrincipal(kind, item, path, fail);
      const problem = collisionIn(principals, principal);
      if (problem) fail(path, `is invalid: ${problem}.`);
      principals.push(principal);
    });
  }
  return principals;
}
