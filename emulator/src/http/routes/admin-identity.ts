// The admin API for identity and access (docs/admin-api.md, docs/identities-and-credentials.md): principals, role
// assignments, access policies, built-in role definitions, tokens and federated assertions minted for a
// principal, and the credential environment `kv-emulator env --as` prints. Same guard as the rest of
// /_emulator/ (loopback, or the admin key). Changes are stored, so they survive a restart; entries the
// config file declares are re-applied from it at each start.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseAssignment, parsePermissions } from '../../access/config.js';
import { BUILT_IN_ROLES, findRole } from '../../access/roles.js';
import type { AccessControl, AssignmentView } from '../../access/service.js';
import type { StoredPolicy } from '../../access/ports.js';
import { errors } from '../../errors.js';
import { parsePrincipal } from '../../identity/config.js';
import { defaultAssertionFor, defaultCredentialPrincipal, environmentFor, issueFor, mintAssertion } from '../../identity/issuance.js';
import type { Directory, Principal, PrincipalKind } from '../../identity/principals.js';
import type { TokenService } from '../../identity/tokens.js';
import { CLOCK_RANGE } from '../../vault/clock.js';
import type { Clock } from '../../vault/ports.js';

export interface AdminIdentityOptions {
  directory: Directory;
  access: AccessControl;
  tokens: TokenService;
  clock: Clock;
}

const admin = { config: { surface: 'admin' as const } };
type Body = Record<string, unknown>;
const KINDS: readonly PrincipalKind[] = ['managedIdentity', 'servicePrincipal', 'user'];
const MAX_LIFETIME = 7 * 24 * 3600;
/** Federated token files `kv-emulator env` writes stay valid for a working day. */
const ENV_ASSERTION_LIFETIME = 24 * 3600;

const json = (reply: FastifyReply, status: number, payload: unknown) => reply.code(status).type('application/json; charset=utf-8').send(payload);

const badParameter = (path: string, problem: string): never => {
  throw errors.badParameter(`'${path}' ${problem}`);
};

function body(request: FastifyRequest): Body {
  const b = request.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw errors.badParameter('The request body must be a JSON object.');
  return b as Body;
}

function optionalText(b: Body, key: string): string | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw errors.badParameter(`'${key}' must be a non-empty string.`);
  return v;
}

function optionalInteger(b: Body, key: string, min: number, max: number): number | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw errors.badParameter(`'${key}' must be an integer from ${min} to ${max}.`);
  return v;
}

/** A principal as the admin API shows it: never its client secret. */
function presentPrincipal(principal: Principal, directory: Directory) {
  const { kind, name, objectId } = principal;
  const origin = directory.originOf(objectId);
  switch (principal.kind) {
    case 'managedIdentity':
      return { kind, name, objectId, clientId: principal.clientId, resourceId: principal.resourceId, systemAssigned: principal.systemAssigned, origin };
    case 'servicePrincipal':
      return {
        kind,
        name,
        objectId,
        clientId: principal.clientId,
        hasClientSecret: principal.clientSecret !== undefined,
        federatedCredentials: principal.federatedCredentials,
        origin,
      };
    case 'user':
      return { kind, name, objectId, upn: principal.upn, origin };
  }
}

function presentAssignment(a: AssignmentView, directory: Directory) {
  const role = findRole(a.roleId);
  const principal = directory.find(a.principalId);
  return {
    id: a.id,
    principal: { objectId: a.principalId, ...(principal && { name: principal.name, kind: principal.kind }) },
    role: { id: a.roleId, name: role?.name ?? null },
    scope: a.scope,
    origin: a.origin,
  };
}

function presentPolicy(p: StoredPolicy, directory: Directory) {
  const principal = directory.find(p.principalId);
  return {
    vault: p.vault,
    principal: { objectId: p.principalId, ...(principal && { name: principal.name, kind: principal.kind }) },
    secrets: p.secrets,
    origin: p.origin,
  };
}

const noPrincipal = (reference: string) => errors.notFound(`No principal named '${reference}' (a name or object id) exists in this emulator.`);

export function adminIdentityRoutes(app: FastifyInstance, options: AdminIdentityOptions): void {
  const { directory, access, tokens, clock } = options;
  const principalOf = (reference: string) => directory.find(reference) ?? (() => { throw noPrincipal(reference); })();

  // Principals

  app.get('/_emulator/identities', admin, async (_request, reply) =>
    json(reply, 200, { value: directory.list().map((p) => presentPrincipal(p, directory)) }),
  );

  app.get<{ Params: { ref: string } }>('/_emulator/identities/:ref', admin, async (request, reply) =>
    json(reply, 200, presentPrincipal(principalOf(request.params.ref), directory)),
  );

  // PUT creates or replaces the principal with this name. Ids left out keep their current values.
  app.put<{ Params: { ref: string } }>('/_emulator/identities/:ref', admin, async (request, reply) => {
    const { kind, ...fields } = body(request);
    if (typeof kind !== 'string' || !KINDS.includes(kind as PrincipalKind)) {
      throw errors.badParameter(`'kind' must be one of ${KINDS.join(', ')}.`);
    }
    if (fields.name !== undefined && fields.name !== request.params.ref) throw errors.badParameter("'name' must match the name in the path.");
    const existing = directory.find(request.params.ref);
    const keep = existing && existing.name.toLowerCase() === request.params.ref.toLowerCase() ? existing : undefined;
    const input: Body = { ...fields, name: request.params.ref };
    if (keep) {
      input.objectId ??= keep.objectId;
      if (kind !== 'user' && keep.kind !== 'user' && input.appId === undefined) input.clientId ??= keep.clientId;
    }
    const principal = parsePrincipal(kind as PrincipalKind, input, 'body', badParameter);
    const problem = directory.collision(principal, keep?.objectId);
    if (problem) throw errors.conflict(`The principal cannot be saved: ${problem}.`);
    if (keep && keep.objectId.toLowerCase() !== principal.objectId.toLowerCase()) {
      directory.remove(keep.objectId);
      access.forgetPrincipal(keep.objectId);
    }
    directory.put(principal, 'admin');
    return json(reply, keep ? 200 : 201, presentPrincipal(principal, directory));
  });

  // Deleting a principal also deletes its role assignments and access policies.
  app.delete<{ Params: { ref: string } }>('/_emulator/identities/:ref', admin, async (request, reply) => {
    const principal = principalOf(request.params.ref);
    directory.remove(principal.objectId);
    access.forgetPrincipal(principal.objectId);
    return reply.code(204).send();
  });

  // Role definitions and assignments

  app.get('/_emulator/roleDefinitions', admin, async (_request, reply) =>
    json(reply, 200, { value: BUILT_IN_ROLES.map(({ id, name, dataActions, notDataActions }) => ({ id, name, dataActions, notDataActions })) }),
  );

  app.get('/_emulator/roleAssignments', admin, async (request, reply) => {
    const filter = (request.query as Record<string, unknown>).principal;
    const oid = typeof filter === 'string' && filter !== '' ? principalOf(filter).objectId.toLowerCase() : undefined;
    const list = access.listAssignments().filter((a) => oid === undefined || a.principalId === oid);
    return json(reply, 200, { value: list.map((a) => presentAssignment(a, directory)) });
  });

  app.post('/_emulator/roleAssignments', admin, async (request, reply) => {
    const input = parseAssignment(body(request), 'body', (ref) => directory.find(ref), badParameter);
    const existed = access.getAssignment(input.id) !== undefined;
    const assignment = access.addAssignment(input);
    return json(reply, existed ? 200 : 201, presentAssignment(assignment, directory));
  });

  app.get<{ Params: { id: string } }>('/_emulator/roleAssignments/:id', admin, async (request, reply) => {
    const assignment = access.getAssignment(request.params.id);
    if (!assignment) throw errors.notFound(`No role assignment with id '${request.params.id}' exists.`);
    return json(reply, 200, presentAssignment(assignment, directory));
  });

  app.delete<{ Params: { id: string } }>('/_emulator/roleAssignments/:id', admin, async (request, reply) => {
    if (!access.removeAssignment(request.params.id)) throw errors.notFound(`No role assignment with id '${request.params.id}' exists.`);
    return reply.code(204).send();
  });

  // Access policies (used by vaults whose permissionModel is accessPolicy)

  app.get('/_emulator/accessPolicies', admin, async (request, reply) => {
    const vault = (request.query as Record<string, unknown>).vault;
    const list = access.listPolicies().filter((p) => typeof vault !== 'string' || vault === '' || p.vault === vault.toLowerCase());
    return json(reply, 200, { value: list.map((p) => presentPolicy(p, directory)) });
  });

  app.put<{ Params: { vault: string; principal: string } }>('/_emulator/accessPolicies/:vault/:principal', admin, async (request, reply) => {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9-]{0,62}$/.test(request.params.vault)) throw errors.badParameter("The vault name must be 1-63 letters, digits and hyphens.");
    const principal = principalOf(request.params.principal);
    const b = body(request);
    if (b.secrets === undefined) throw errors.badParameter("'secrets' is required.");
    const policy = access.setPolicy(request.params.vault, principal.objectId, parsePermissions(b.secrets, 'secrets', badParameter));
    return json(reply, 200, presentPolicy(policy, directory));
  });

  app.delete<{ Params: { vault: string; principal: string } }>('/_emulator/accessPolicies/:vault/:principal', admin, async (request, reply) => {
    const principal = principalOf(request.params.principal);
    if (!access.removePolicy(request.params.vault, principal.objectId)) {
      throw errors.notFound(`'${principal.name}' has no access policy on vault '${request.params.vault.toLowerCase()}'.`);
    }
    return reply.code(204).send();
  });

  // Tokens: an access token for any principal (users included). The optional overrides produce tokens
  // the vault must refuse (another audience, issuer or tenant, or a lifetime already over).
  app.post('/_emulator/tokens', admin, async (request, reply) => {
    const b = body(request);
    const reference = optionalText(b, 'principal') ?? (() => { throw errors.badParameter("'principal' is required."); })();
    const principal = principalOf(reference);
    const resource = optionalText(b, 'resource') ?? 'https://vault.azure.net';
    const audience = optionalText(b, 'audience') ?? tokens.audienceFor(resource, { origin: request.kv.origin });
    if (audience === undefined) throw errors.badParameter(`The emulator's tenant has no resource '${resource}'; name an 'audience' to mint such a token anyway.`);
    const issuer = optionalText(b, 'issuer');
    const tenantId = optionalText(b, 'tenantId');
    const lifetimeSeconds = optionalInteger(b, 'lifetimeSeconds', 1, MAX_LIFETIME);
    // Within the clock's range, so that the token's dates are ones every SDK parses (vault/clock.ts).
    const issuedAt = optionalInteger(b, 'issuedAt', CLOCK_RANGE.min / 1000, CLOCK_RANGE.max / 1000);
    const issued = await issueFor(tokens, principal, {
      audience,
      ...(issuer !== undefined && { issuer }),
      ...(tenantId !== undefined && { tenantId }),
      ...(lifetimeSeconds !== undefined && { lifetimeSeconds }),
      ...(issuedAt !== undefined && { issuedAt }),
    });
    return json(reply, 200, { access_token: issued.token, token_type: 'Bearer', expires_on: issued.expiresOn, expires_in: issued.expiresIn, resource: audience });
  });

  // Federated assertions: what a Kubernetes service account or a CI system would hand a workload.
  app.post('/_emulator/federatedTokens', admin, async (request, reply) => {
    const b = body(request);
    const reference = optionalText(b, 'principal');
    const defaults = defaultAssertionFor(reference === undefined ? undefined : principalOf(reference));
    const minted = await mintAssertion(tokens, clock, {
      issuer: optionalText(b, 'issuer') ?? defaults.issuer,
      subject: optionalText(b, 'subject') ?? defaults.subject,
      audience: optionalText(b, 'audience') ?? defaults.audience,
      lifetimeSeconds: optionalInteger(b, 'lifetimeSeconds', 1, MAX_LIFETIME) ?? 3600,
    });
    return json(reply, 200, { token: minted.token, expiresOn: minted.expiresOn });
  });

  // The credential environment of a principal (kv-emulator env [--as <principal>] [--proxy]). Carries
  // secrets: it is what a developer's shell needs, and like every admin route it answers loopback or the
  // key. `authority=cloud` asks for the public cloud's authority (reached through the HTTPS proxy).
  app.get('/_emulator/credentials', admin, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const as = query.as;
    if (query.authority !== undefined && query.authority !== 'emulator' && query.authority !== 'cloud') {
      throw errors.badParameter("'authority' must be 'emulator' or 'cloud'.");
    }
    const principal = typeof as === 'string' && as !== '' ? principalOf(as) : defaultCredentialPrincipal(directory.list());
    if (!principal) throw errors.notFound('This emulator declares no service principal or managed identity to sign in as.');
    const environment = await environmentFor(principal, {
      origin: request.kv.origin,
      authority: query.authority === 'cloud' ? 'cloud' : 'emulator',
      tenantId: tokens.tenantId,
      tokens,
      clock,
      federatedLifetimeSeconds: ENV_ASSERTION_LIFETIME,
    });
    if ('problem' in environment) throw errors.badParameter(environment.problem);
    return json(reply, 200, { principal: presentPrincipal(principal, directory), ...environment });
  });
}

