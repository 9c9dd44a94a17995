// A TokenCredential for the emulator's App Service managed-identity endpoint
// (GET {endpoint}?api-version=2019-08-01&resource=...[&client_id|object_id|mi_res_id] with
// X-IDENTITY-HEADER), speaking the same protocol as @azure/identity's ManagedIdentityCredential but
// configured by arguments instead of process-wide IDENTITY_ENDPOINT / IDENTITY_HEADER variables, and
// over an agent that trusts the emulator's CA. Lets one test process hold credentials for several
// identities and several emulators at once.
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { request, type Agent } from 'node:https';

export interface EmulatorManagedIdentityCredentialOptions {
  /** `https://<emulator>/msi/token`. */
  endpoint: string;
  /** The emulator's identity header secret. */
  identityHeader: string;
  /** An agent trusting the emulator's CA (see emulatorAgent); default: the process's trust store. */
  agent?: Agent;
  /** Select a user-assigned identity; none: the system-assigned one. */
  clientId?: string;
  objectId?: string;
  resourceId?: string;
}

interface TokenResponse {
  access_token?: string;
  expires_on?: string | number;
  error?: string;
  error_description?: string;
}

export class EmulatorCredentialError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'EmulatorCredentialError';
  }
}

/** `https://vault.azure.net/.default` → `https://vault.azure.net` (the v1 `resource` parameter). */
export function resourceFromScopes(scopes: string | string[]): string {
  const list = Array.isArray(scopes) ? scopes : [scopes];
  if (list.length !== 1 || !list[0]) throw new EmulatorCredentialError('Managed identity tokens are requested for exactly one scope.');
  return list[0].replace(/\/\.default$/, '');
}

export class EmulatorManagedIdentityCredential implements TokenCredential {
  constructor(private readonly options: EmulatorManagedIdentityCredentialOptions) {}

  async getToken(scopes: string | string[], options: GetTokenOptions = {}): Promise<AccessToken> {
    const url = new URL(this.options.endpoint);
    url.searchParams.set('api-version', '2019-08-01');
    url.searchParams.set('resource', resourceFromScopes(scopes));
    if (this.options.clientId) url.searchParams.set('client_id', this.options.clientId);
    if (this.options.objectId) url.searchParams.set('object_id', this.options.objectId);
    if (this.options.resourceId) url.searchParams.set('mi_res_id', this.options.resourceId);
    const { status, body } = await this.get(url, options.abortSignal);
    let parsed: TokenResponse;
    try {
      parsed = JSON.parse(body) as TokenResponse;
    } catch {
      throw new EmulatorCredentialError(`The managed identity endpoint ${url.origin}${url.pathname} answered ${status} with a body that is not JSON.`, status);
    }
    if (status !== 200 || !parsed.access_token) {
      const reason = parsed.error_description ?? parsed.error ?? 'no access_token in the reply';
      throw new EmulatorCredentialError(`The managed identity endpoint ${url.origin}${url.pathname} refused a token (${status}): ${reason}`, status);
    }
    const expiresOn = Number(parsed.expires_on);
    return {
      token: parsed.access_token,
      expiresOnTimestamp: Number.isFinite(expiresOn) ? expiresOn * 1000 : Date.now() + 3600_000,
      tokenType: 'Bearer',
    };
  }

  private get(url: URL, signal: AbortSignalLike | undefined): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'GET',
          headers: { 'x-identity-header': this.options.identityHeader, accept: 'application/json' },
          ...(this.options.agent && { agent: this.options.agent }),
          timeout: 15_000,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new EmulatorCredentialError(`The managed identity endpoint ${url.origin} did not answer in time.`)));
      req.on('error', reject);
      if (signal) {
        if (signal.aborted) req.destroy(new EmulatorCredentialError('The token request was aborted.'));
        else signal.addEventListener('abort', () => req.destroy(new EmulatorCredentialError('The token request was aborted.')), { once: true });
      }
      req.end();
    });
  }
}

type AbortSignalLike = NonNullable<GetTokenOptions['abortSignal']>;
