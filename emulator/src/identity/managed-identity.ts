// Managed-identity token endpoints, as the identity libraries call them (spec §8.5):
//  - App Service: GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id|object_id|mi_res_id]
//    with X-IDENTITY-HEADER; answers expires_on (MSAL treats a reply with only expires_in as already stale).
//  - IMDS: GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=... with Metadata: true
//    (reachable through AZURE_POD_IDENTITY_AUTHORITY_HOST).
// Unknown identities and resources are 400, never 404: the SDK retries 404 for half a minute.
import type { PrincipalDirectory } from './principals.js';
import type { TokenService } from './tokens.js';

export interface EndpointResult {
  status: number;
  body: Record<string, unknown>;
}

type Query = Record<string, unknown>;

const text = (q: Query, key: string): string | undefined => {
  const v = q[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

const oauthError = (status: number, error: string, description: string): EndpointResult => ({
  status,
  body: { error, error_description: description },
});

export class ManagedIdentityEndpoints {
  constructor(
    private readonly options: { tokens: TokenService; directory: PrincipalDirectory; identityHeader: string },
  ) {}

  /** `origin`: the emulator origin the request came to (its management plane is a resource too). */
  async appService(query: Query, identityHeader: string | undefined, origin?: string): Promise<EndpointResult> {
    if (identityHeader !== this.options.identityHeader) {
      return oauthError(401, 'unauthorized_client', 'The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.');
    }
    if (text(query, 'api-version') !== '2019-08-01') {
      return oauthError(400, 'invalid_request', "The api-version parameter must be '2019-08-01'.");
    }
    const issued = await this.issue(query, text(query, 'mi_res_id') ?? text(query, 'msi_res_id'), origin);
    if ('status' in issued) return issued;
    return {
      status: 200,
      body: {
        access_token: issued.token,
        expires_on: String(issued.expiresOn),
        resource: issued.resource,
        token_type: 'Bearer',
        client_id: issued.clientId,
      },
    };
  }

  async imds(query: Query, metadataHeader: string | undefined, origin?: string): Promise<EndpointResult> {
    if (metadataHeader?.toLowerCase() !== 'true') {
      return oauthError(400, 'invalid_request', 'Required metadata header not specified');
    }
    if (!text(query, 'api-version')) return oauthError(400, 'invalid_request', 'Required query variable api-version is missing');
    const issued = await this.issue(query, text(query, 'msi_res_id') ?? text(query, 'mi_res_id'), origin);
    if ('status' in issued) return issued;
    return {
      status: 200,
      body: {
        access_token: issued.token,
        refresh_token: '',
        expires_in: String(issued.expiresIn),
        expires_on: String(issued.expiresOn),
        ext_expires_in: String(issued.expiresIn),
        not_before: String(issued.expiresOn - issued.expiresIn),
        resource: issued.resource,
        token_type: 'Bearer',
        client_id: issued.clientId,
      },
    };
  }

  private async issue(query: Query, resourceId: string | undefined, origin: string | undefined) {
    const resource = text(query, 'resource');
    if (!resource) return oauthError(400, 'invalid_request', 'Required query variable resource is missing');
    const { tokens, directory } = this.options;
    const audience = tokens.audienceFor(resource, origin === undefined ? {} : { origin });
    if (audience === undefined) {
      return oauthError(
        400,
        'invalid_resource',
        `AADSTS500011: The resource principal named ${resource} was not found in the tenant named ${tokens.tenantId}. ` +
          'This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. ' +
          'You might have sent your authentication request to the wrong tenant.',
      );
    }
    const clientId = text(query, 'client_id');
    const objectId = text(query, 'object_id') ?? text(query, 'principal_id');
    const identity = directory.findManagedIdentity({
      ...(clientId !== undefined && { clientId }),
      ...(objectId !== undefined && { objectId }),
      ...(resourceId !== undefined && { resourceId }),
    });
    if (!identity) {
      return oauthError(400, 'invalid_request', 'Identity not found. No managed identity of this emulator matches the requested client_id, object_id or mi_res_id.');
    }
    const issued = await tokens.issue({
      audience,
      oid: identity.objectId,
      appid: identity.clientId,
      idtyp: 'app',
      extraClaims: { xms_mirid: identity.resourceId, xms_az_rid: identity.resourceId },
    });
    return { ...issued, resource: audience, clientId: identity.clientId };
  }
}
