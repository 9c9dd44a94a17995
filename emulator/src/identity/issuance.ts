// Tokens and credentials for a named principal, outside the OAuth flows: what the admin API hands out
// (an access token for a user or for testing the vault's checks, a federated assertion standing in for
// a Kubernetes or CI token), and the environment variables that make the Azure identity libraries act as
// a principal with no code change (`kv-emulator env --as <principal>`).
import { randomUUID } from 'node:crypto';
import type { Clock } from '../vault/ports.js';
import { ADFS } from './authority.js';
import { TOKEN_EXCHANGE_AUDIENCE, type Principal } from './principals.js';
import type { IssuedToken, TokenService } from './tokens.js';

/** The Azure CLI's application id: the `appid` of user tokens, as when a user signs in with `az login`. */
export const AZURE_CLI_APP_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
/** Issuer of the federated assertions the emulator mints, unless one is named. */
export const EMULATOR_FEDERATION_ISSUER = 'https://kv-emulator.localhost/federation';

export interface TokenOverrides {
  audience: string;
  lifetimeSeconds?: number;
  issuer?: string;
  tenantId?: string;
  issuedAt?: number;
}

/** An access token for any principal, with the claims its kind carries. */
export function issueFor(tokens: TokenService, principal: Principal, overrides: TokenOverrides): Promise<IssuedToken> {
  const base = {
    audience: overrides.audience,
    oid: principal.objectId,
    ...(overrides.lifetimeSeconds !== undefined && { lifetimeSeconds: overrides.lifetimeSeconds }),
    ...(overrides.issuer !== undefined && { issuer: overrides.issuer }),
    ...(overrides.tenantId !== undefined && { tenantId: overrides.tenantId }),
    ...(overrides.issuedAt !== undefined && { issuedAt: overrides.issuedAt }),
  };
  switch (principal.kind) {
    case 'managedIdentity':
      return tokens.issue({ ...base, appid: principal.clientId, idtyp: 'app', extraClaims: { xms_mirid: principal.resourceId, xms_az_rid: principal.resourceId } });
    case 'servicePrincipal':
      return tokens.issue({ ...base, appid: principal.clientId, idtyp: 'app' });
    case 'user':
      return tokens.issue({
        ...base,
        appid: AZURE_CLI_APP_ID,
        idtyp: 'user',
        extraClaims: { upn: principal.upn, unique_name: principal.upn, name: principal.name, scp: 'user_impersonation' },
      });
  }
}

export interface AssertionRequest {
  issuer: string;
  subject: string;
  audience: string;
  lifetimeSeconds: number;
}

/** A federated client assertion signed by the emulator (a stand-in for a workload's OIDC token). */
export async function mintAssertion(tokens: TokenService, clock: Clock, request: AssertionRequest): Promise<{ token: string; expiresOn: number }> {
  const now = Math.floor(clock.now() / 1000);
  const expiresOn = now + request.lifetimeSeconds;
  const token = await tokens.signAssertion({
    iss: request.issuer,
    sub: request.subject,
    aud: request.audience,
    iat: now,
    nbf: now,
    exp: expiresOn,
    jti: randomUUID(),
  });
  return { token, expiresOn };
}

/** What `defaultAssertionFor` derives from a service principal's first federated credential. */
export function defaultAssertionFor(principal: Principal | undefined): Omit<AssertionRequest, 'lifetimeSeconds'> {
  const credential = principal?.kind === 'servicePrincipal' ? principal.federatedCredentials[0] : undefined;
  return {
    issuer: credential?.issuer ?? EMULATOR_FEDERATION_ISSUER,
    subject: credential?.subject ?? `system:serviceaccount:default:${principal?.name ?? 'workload'}`,
    audience: credential?.audiences[0] ?? TOKEN_EXCHANGE_AUDIENCE,
  };
}

export interface CredentialEnvironment {
  /** Variables to set. */
  variables: Record<string, string>;
  /** Variables to remove, so a credential set earlier in the shell does not take precedence. */
  unset: string[];
  /** For a federated service principal: the assertion to write to AZURE_FEDERATED_TOKEN_FILE. */
  federatedToken?: string;
}

const IDENTITY_VARIABLES = ['AZURE_AUTHORITY_HOST', 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_FEDERATED_TOKEN_FILE'];

/**
 * The variables under which DefaultAzureCredential authenticates as `principal`. DefaultAzureCredential
 * tries EnvironmentCredential, then WorkloadIdentityCredential, then ManagedIdentityCredential, so:
 * a service principal with a secret gets the AD FS authority form (AZURE_TENANT_ID=adfs, which needs no
 * instance discovery); one with only federated credentials gets a federated token file; a managed
 * identity gets none of those (unset), so the chain reaches ManagedIdentityCredential, plus
 * AZURE_CLIENT_ID when it is user-assigned. IDENTITY_ENDPOINT / IDENTITY_HEADER are always printed by
 * `kv-emulator env`, so ManagedIdentityCredential works in every case.
 * With `authority: 'cloud'` (the HTTPS proxy answers for the public cloud's authority) a service
 * principal gets what it has in Azure instead: the tenant id and no AZURE_AUTHORITY_HOST, so every
 * identity library signs in at its default authority, with instance discovery on.
 */
export async function environmentFor(
  principal: Principal,
  context: { origin: string; authority?: 'emulator' | 'cloud'; tenantId: string; tokens: TokenService; clock: Clock; federatedLifetimeSeconds: number },
): Promise<CredentialEnvironment | { problem: string }> {
  if (principal.kind === 'user') {
    return {
      problem:
        `'${principal.name}' is a user: users sign in interactively, which DefaultAzureCredential cannot do offline. ` +
        'Get a token for a user with POST /_emulator/tokens, or choose a service principal or managed identity.',
    };
  }
  if (principal.kind === 'managedIdentity') {
    const variables: Record<string, string> = principal.systemAssigned ? {} : { AZURE_CLIENT_ID: principal.clientId };
    return { variables, unset: IDENTITY_VARIABLES.filter((v) => !(v in variables)) };
  }
  const cloud = context.authority === 'cloud';
  const common: Record<string, string> = cloud
    ? { AZURE_TENANT_ID: context.tenantId, AZURE_CLIENT_ID: principal.clientId }
    : { AZURE_AUTHORITY_HOST: context.origin, AZURE_TENANT_ID: ADFS, AZURE_CLIENT_ID: principal.clientId };
  const stale = cloud ? ['AZURE_AUTHORITY_HOST'] : [];
  if (principal.clientSecret !== undefined) {
    return { variables: { ...common, AZURE_CLIENT_SECRET: principal.clientSecret }, unset: [...stale, 'AZURE_FEDERATED_TOKEN_FILE'] };
  }
  if (principal.federatedCredentials.length > 0) {
    const { token } = await mintAssertion(context.tokens, context.clock, {
      ...defaultAssertionFor(principal),
      lifetimeSeconds: context.federatedLifetimeSeconds,
    });
    return { variables: common, unset: [...stale, 'AZURE_CLIENT_SECRET'], federatedToken: token };
  }
  return { problem: `'${principal.name}' has neither a client secret nor federated credentials, so no credential can sign in as it.` };
}

/** The principal `kv-emulator env` selects without --as: the first service principal with a secret, else the system-assigned identity. */
export function defaultCredentialPrincipal(principals: Principal[]): Principal | undefined {
  return (
    principals.find((p) => p.kind === 'servicePrincipal' && p.clientSecret !== undefined) ??
    principals.find((p) => p.kind === 'managedIdentity' && p.systemAssigned) ??
    principals.find((p) => p.kind === 'managedIdentity')
  );
}
