// An offline Microsoft Entra ID authority on the emulator's own origin, enough for the identity
// libraries' confidential-client flow (spec §8.4):
//  - https://<emulator>/<tenant>: v2.0 OpenID discovery (issuer on the emulator's origin, which MSAL
//    requires to share the authority's host), JWKS, instance discovery, and the v2 token endpoint for
//    `client_credentials` with a client secret or a client assertion (workload identity federation);
//  - https://<emulator>/adfs: the AD FS form of the same. With AZURE_TENANT_ID=adfs the identity libraries
//    add the authority host to MSAL's known authorities themselves, so no instance discovery call reaches
//    the public cloud and EnvironmentCredential / DefaultAzureCredential work with no code change.
// Errors are the OAuth bodies Entra returns (`invalid_client`, AADSTS codes, trace and correlation ids);
// the AD FS form answers AD FS's shorter `{error, error_description}` bodies.
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../vault/ports.js';
import type { EndpointResult } from './managed-identity.js';
import type { Directory, FederatedCredential, ServicePrincipal } from './principals.js';
import type { TokenService } from './tokens.js';

export const ADFS = 'adfs';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FEDERATION_DOCS = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';
/** Public-cloud host names MSAL treats as one authority (instance discovery metadata). */
const PUBLIC_CLOUD_ALIASES = ['login.microsoftonline.com', 'login.windows.net', 'login.microsoft.com', 'sts.windows.net'];

type Form = Record<string, unknown>;

/** A failed token request, worded for both forms of the authority. */
interface Failure {
  status: number;
  error: string;
  /** AADSTS code and text (Entra form). */
  code: number;
  description: string;
  /** AD FS text; defaults to the Entra text without its code. */
  adfs?: string;
}

export interface AuthorityOptions {
  tokens: TokenService;
  directory: Directory;
  tenantId: string;
  clock: Clock;
}

const field = (form: Form, key: string): string | undefined => {
  const v = form[key];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s !== '' ? s : undefined;
};

const json = (status: number, body: Record<string, unknown>): EndpointResult => ({ status, body });

export class Authority {
  constructor(private readonly options: AuthorityOptions) {}

  /** Whether a tenant segment names this emulator's tenant. */
  knowsTenant(tenant: string): boolean {
    return tenant.toLowerCase() === this.options.tenantId.toLowerCase();
  }

  /** GET /<tenant>/v2.0/.well-known/openid-configuration */
  openIdConfiguration(origin: string, tenant: string, correlationId?: string): EndpointResult {
    if (!this.knowsTenant(tenant)) return this.aadError(this.unknownTenant(tenant), correlationId);
    const base = `${origin}/${this.options.tenantId}`;
    return json(200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/v2.0`,
      request_uri_parameter_supported: false,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'cloud_instance_name', 'cloud_instance_host_name', 'cloud_graph_host_name', 'msgraph_host', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      tenant_region_scope: null,
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    });
  }

  /** GET /adfs/.well-known/openid-configuration */
  adfsConfiguration(origin: string): EndpointResult {
    const base = `${origin}/${ADFS}`;
    return json(200, {
      issuer: base,
      authorization_endpoint: `${base}/oauth2/authorize/`,
      token_endpoint: `${base}/oauth2/token/`,
      jwks_uri: `${base}/discovery/keys`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt', 'windows_client_authentication'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token', 'code token', 'code id_token token'],
      response_modes_supported: ['query', 'fragment', 'form_post'],
      grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'implicit', 'password', 'srv_challenge', 'urn:ietf:params:oauth:grant-type:device_code', 'device_code'],
      subject_types_supported: ['pairwise'],
      scopes_supported: ['openid', 'profile', 'email', 'allatclaims', 'aza', 'vpn_cert', 'user_impersonation', 'winhello_cert', 'logon_cert'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_signing_alg_values_supported: ['RS256'],
      access_token_issuer: `https://sts.windows.net/${this.options.tenantId}/`,
      claims_supported: ['aud', 'iss', 'iat', 'exp', 'auth_time', 'nonce', 'at_hash', 'c_hash', 'sub', 'upn', 'unique_name', 'pwd_url', 'pwd_exp', 'mfa_auth_time', 'sid', 'nbf'],
      microsoft_multi_refresh_token: true,
      userinfo_endpoint: `${base}/userinfo`,
      capabilities: [],
      end_session_endpoint: `${base}/oauth2/logout`,
      frontchannel_logout_supported: true,
      frontchannel_logout_session_supported: true,
    });
  }

  /** The JWKS that verifies every token the emulator signs. */
  async keys(): Promise<EndpointResult> {
    const { kty, n, e, kid } = await this.options.tokens.publicJwk();
    return json(200, { keys: [{ kty, use: 'sig', kid, x5t: kid, n, e, alg: 'RS256', issuer: `https://sts.windows.net/${this.options.tenantId}/` }] });
  }

  /** GET /common/discovery/instance: metadata for the authority host named by `authorization_endpoint`. */
  instanceDiscovery(origin: string, query: Form): EndpointResult {
    const endpoint = field(query, 'authorization_endpoint');
    let host = new URL(origin).host;
    if (endpoint) {
      try {
        host = new URL(endpoint).host;
      } catch {
        return json(400, { error: 'invalid_instance', error_description: `AADSTS50049: Unknown or invalid instance. The authorization endpoint '${endpoint}' is not a URL.` });
      }
    }
    const tenant = endpoint ? (new URL(endpoint).pathname.split('/')[1] ?? this.options.tenantId) : this.options.tenantId;
    const metadata = [{ preferred_network: host, preferred_cache: host, aliases: [host] }];
    if (!PUBLIC_CLOUD_ALIASES.includes(host)) {
      metadata.push({ preferred_network: 'login.microsoftonline.com', preferred_cache: 'login.windows.net', aliases: PUBLIC_CLOUD_ALIASES });
    }
    return json(200, {
      tenant_discovery_endpoint: `https://${host}/${tenant}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata,
    });
  }

  /** POST /<tenant>/oauth2/v2.0/token and /adfs/oauth2/token: the client credentials grant. */
  async token(input: { tenant: string; form: Form; correlationId?: string; origin?: string }): Promise<EndpointResult> {
    const adfs = input.tenant.toLowerCase() === ADFS;
    const fail = (failure: Failure) => (adfs ? this.adfsError(failure) : this.aadError(failure, input.correlationId));
    if (!adfs && !this.knowsTenant(input.tenant)) return fail(this.unknownTenant(input.tenant));
    const { form } = input;
    const grantType = field(form, 'grant_type');
    if (!grantType) return fail(missing('grant_type'));
    if (grantType !== 'client_credentials') {
      return fail({
        status: 400,
        error: 'unsupported_grant_type',
        code: 70003,
        description: `The app requested an unsupported grant type '${grantType}'. This emulator's authority issues tokens with the client_credentials grant; users get tokens through the admin API (POST /_emulator/tokens).`,
      });
    }
    const clientId = field(form, 'client_id');
    if (!clientId) return fail(missing('client_id'));
    const application = this.options.directory.findApplication(clientId);
    if (!application) {
      return fail({
        status: 400,
        error: 'unauthorized_client',
        code: 700016,
        description:
          `Application with identifier '${clientId}' was not found in the directory '${this.options.tenantId}'. This can happen if the ` +
          'application has not been installed by the administrator of the tenant or consented to by any user in the tenant. ' +
          'You may have sent your authentication request to the wrong tenant.',
        adfs: `MSIS9223: Received invalid OAuth authorization request. The received 'client_id' is invalid as no registered client was found with this client identifier. Make sure that the client is registered. Received client_id: '${clientId}'.`,
      });
    }
    const authenticated = await this.authenticate(application, form);
    if (authenticated) return fail(authenticated);
    const scope = field(form, 'scope') ?? field(form, 'resource');
    if (!scope) return fail(missing('scope'));
    const requested = scope.split(/\s+/).filter((s) => s !== '' && !['openid', 'profile', 'offline_access', 'email'].includes(s));
    const target = requested.find((s) => s.endsWith('/.default')) ?? (adfs && field(form, 'resource') ? requested[0] : undefined);
    if (!target) {
      return fail({
        status: 400,
        error: 'invalid_scope',
        code: 1002012,
        description: `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      });
    }
    const audience = this.options.tokens.audienceFor(target, input.origin === undefined ? {} : { origin: input.origin });
    if (audience === undefined) {
      const resource = target.replace(/\/\.default$/, '');
      return fail({
        status: 400,
        error: 'invalid_resource',
        code: 500011,
        description:
          `The resource principal named ${resource} was not found in the tenant named ${this.options.tenantId}. This can happen if the ` +
          'application has not been installed by the administrator of the tenant or consented to by any user in the tenant. ' +
          'You might have sent your authentication request to the wrong tenant.',
      });
    }
    const issued = await this.options.tokens.issue({ audience, oid: application.objectId, appid: application.clientId, idtyp: 'app' });
    return json(200, {
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      ext_expires_in: issued.expiresIn,
      access_token: issued.token,
    });
  }

  /** Checks the client secret or client assertion; returns the failure, or undefined when authenticated. */
  private async authenticate(application: ServicePrincipal, form: Form): Promise<Failure | undefined> {
    const secret = field(form, 'client_secret');
    const assertion = field(form, 'client_assertion');
    if (secret === undefined && assertion === undefined) {
      return {
        status: 401,
        error: 'invalid_client',
        code: 7000218,
        description: "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        adfs: 'MSIS9622: Client authentication failed. Please verify the credential provided for client authentication is valid.',
      };
    }
    if (secret !== undefined) {
      if (application.clientSecret !== undefined && secret === application.clientSecret) return undefined;
      return {
        status: 401,
        error: 'invalid_client',
        code: 7000215,
        description: `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${application.clientId}'.`,
        adfs: 'MSIS9622: Client authentication failed. Please verify the credential provided for client authentication is valid.',
      };
    }
    if (field(form, 'client_assertion_type') !== ASSERTION_TYPE) {
      return {
        status: 400,
        error: 'invalid_request',
        code: 50027,
        description: `The client_assertion_type must be '${ASSERTION_TYPE}'.`,
      };
    }
    return this.checkAssertion(application, assertion!);
  }

  /**
   * A federated client assertion matches one of the application's federated credentials by issuer,
   * subject and audience (case-sensitive, as Entra compares them) and is within its lifetime. An
   * assertion carrying the emulator's key id must verify with that key; assertions of other issuers are
   * judged on their claims only, since an offline emulator cannot fetch their keys.
   */
  private async checkAssertion(application: ServicePrincipal, assertion: string): Promise<Failure | undefined> {
    let claims: JWTPayload;
    let kid: string | undefined;
    try {
      kid = decodeProtectedHeader(assertion).kid;
      claims = decodeJwt(assertion);
    } catch {
      return { status: 400, error: 'invalid_request', code: 50027, description: 'JWT token is invalid or malformed.' };
    }
    if (kid === (await this.options.tokens.keyId()) && !(await this.options.tokens.hasOwnSignature(assertion))) {
      return { status: 401, error: 'invalid_client', code: 50013, description: 'Assertion failed signature validation.' };
    }
    const credentials = application.federatedCredentials;
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
    const byIssuer = credentials.filter((c) => c.issuer === claims.iss);
    // The subject wording is observed; issuer and audience add the case-sensitivity note Entra prints for them.
    const noMatch = (code: number, what: string, value: unknown): Failure => ({
      status: 401,
      error: 'invalid_client',
      code,
      description:
        `No matching federated identity record found for presented assertion ${what} '${String(value)}'. ` +
        (what === 'subject' ? '' : 'Please note that the matching is done using a case-sensitive comparison. ') +
        `Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${FEDERATION_DOCS}`,
    });
    if (byIssuer.length === 0) return noMatch(700211, 'issuer', claims.iss);
    const bySubject = byIssuer.filter((c) => c.subject === claims.sub);
    if (bySubject.length === 0) return noMatch(700213, 'subject', claims.sub);
    const match: FederatedCredential | undefined = bySubject.find((c) => c.audiences.some((a) => audiences.includes(a)));
    if (!match) return noMatch(700212, 'audience', audiences.join(', '));
    const emulatorSeconds = Math.floor(this.options.clock.now() / 1000);
    const wallSeconds = Math.floor(Date.now() / 1000);
    const expired = typeof claims.exp !== 'number' || Math.min(emulatorSeconds, wallSeconds) > claims.exp;
    const early = typeof claims.nbf === 'number' && Math.max(emulatorSeconds, wallSeconds) < claims.nbf;
    if (expired || early) {
      const at = (s: number | undefined) => (typeof s === 'number' ? stamp(s * 1000) : 'unknown');
      return {
        status: 401,
        error: 'invalid_client',
        code: 700024,
        description:
          `Client assertion is not within its valid time range. Current time: ${stamp(this.options.clock.now())}, assertion valid from ` +
          `${at(claims.nbf ?? claims.iat)}, expiry time of assertion ${at(claims.exp)}. Review the documentation at ` +
          'https://learn.microsoft.com/entra/identity-platform/certificate-credentials .',
      };
    }
    return undefined;
  }

  private unknownTenant(tenant: string): Failure {
    return {
      status: 400,
      error: 'invalid_tenant',
      code: 90002,
      description:
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. ` +
        'Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.',
    };
  }

  private aadError(failure: Failure, correlationId: string = randomUUID()): EndpointResult {
    const traceId = randomUUID();
    const timestamp = stamp(this.options.clock.now());
    return json(failure.status, {
      error: failure.error,
      error_description: `AADSTS${failure.code}: ${failure.description}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [failure.code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${failure.code}`,
    });
  }

  private adfsError(failure: Failure): EndpointResult {
    return json(failure.status, { error: failure.error, error_description: failure.adfs ?? failure.description });
  }
}

function missing(parameter: string): Failure {
  return {
    status: 400,
    error: 'invalid_request',
    code: 900144,
    description: `The request body must contain the following parameter: '${parameter}'.`,
  };
}

/** Entra's timestamp format: `2023-05-06 06:03:00Z`. */
function stamp(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
