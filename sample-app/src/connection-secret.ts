// Reads the database connection string from Key Vault with the identity the platform gives the app
// (DefaultAzureCredential: a managed identity in Azure and in the emulator walkthrough, a developer's
// az login on a laptop). Failures become one clear sentence naming the vault, the secret and what to
// fix; the secret's value never appears in an error or a log line.
import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';

export interface ConnectionSecret {
  value: string;
  version: string;
}

export type AccessProblem = 'denied' | 'not-found' | 'disabled' | 'no-credential' | 'unreachable' | 'other';

export class KeyVaultAccessError extends Error {
  constructor(
    message: string,
    readonly problem: AccessProblem,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'KeyVaultAccessError';
  }
}

interface ServiceError {
  code?: string;
  message?: string;
  innererror?: { code?: string };
  /** The SDK's deserialized form of innererror. */
  innerError?: { code?: string };
}

interface RestErrorLike {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
  /** The SDK's deserialized error body. */
  details?: { error?: ServiceError };
  response?: { bodyAsText?: string | null };
}

/** The Key Vault error envelope {error:{code,message,innererror}} of a failed response, if any. */
function serviceErrorOf(e: RestErrorLike): ServiceError | undefined {
  if (e.details?.error) return e.details.error;
  const text = e.response?.bodyAsText;
  if (!text) return undefined;
  try {
    return (JSON.parse(text) as { error?: ServiceError }).error;
  } catch {
    return undefined;
  }
}

/**
 * What the service said, shortened to what helps: the codes, the first sentence, and for RBAC denials
 * the Caller (which identity to grant) and the Action (which permission was missing).
 */
function serviceSaid(e: RestErrorLike): string {
  const serviceError = serviceErrorOf(e);
  const code = [serviceError?.code ?? e.code, (serviceError?.innererror ?? serviceError?.innerError)?.code].filter(Boolean).join('/');
  const lines = (serviceError?.message ?? e.message ?? '').split(/\r?\n/).map((l) => l.trim());
  const useful = [lines[0], ...lines.filter((l) => /^(Caller|Action):/.test(l))].filter(Boolean);
  return `${code ? `${code}: ` : ''}${useful.join(' ')}`;
}

/** Turns what the SDK or the credential threw into a sentence an operator can act on. */
export function describeFailure(error: unknown, where: { vaultUrl: string; secretName: string }): KeyVaultAccessError {
  const e = (error ?? {}) as RestErrorLike;
  const target = `secret '${where.secretName}' in ${where.vaultUrl}`;
  const said = serviceSaid(e);
  if (e.statusCode === 403) {
    return new KeyVaultAccessError(
      `Key Vault denied access to ${target} (403 ${said}). Grant this app's identity the 'Key Vault Secrets User' role on the vault (or a 'get' secret permission in its access policy).`,
      'denied',
      403,
    );
  }
  if (e.statusCode === 404) {
    return new KeyVaultAccessError(`Key Vault has no ${target} (404 ${said}). Create it, or set DB_SECRET_NAME to the secret that holds the connection string.`, 'not-found', 404);
  }
  if (e.statusCode === 401) {
    return new KeyVaultAccessError(`Key Vault did not accept this app's token for ${target} (401 ${said}). Check the identity's tenant.`, 'no-credential', 401);
  }
  if (e.statusCode === 409 || (e.statusCode === 400 && /disabled/i.test(said))) {
    return new KeyVaultAccessError(`Key Vault will not return ${target} (${e.statusCode} ${said}). Enable the secret or write a new version.`, 'disabled', e.statusCode);
  }
  if (e.name === 'CredentialUnavailableError' || e.name === 'AuthenticationError' || e.name === 'AggregateAuthenticationError') {
    return new KeyVaultAccessError(
      `No identity could get a token for Key Vault to read ${target}: ${firstLine(e.message).replace(/\.$/, '')}. In Azure, enable a managed identity for the app; locally, sign in with az login or point IDENTITY_ENDPOINT/IDENTITY_HEADER at the emulator.`,
      'no-credential',
    );
  }
  if (e.code === 'ENOTFOUND' || e.code === 'ECONNREFUSED' || e.code === 'ETIMEDOUT' || e.code === 'ECONNRESET' || e.name === 'RestError') {
    return new KeyVaultAccessError(`Key Vault could not be reached to read ${target}: ${firstLine(e.message)}`, 'unreachable', e.statusCode);
  }
  return new KeyVaultAccessError(`Reading ${target} failed: ${firstLine(e.message) || String(error)}`, 'other', e.statusCode);
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split(/\r?\n/)[0]?.trim() ?? '';
}

export interface ConnectionSecretSourceOptions {
  vaultUrl: string;
  secretName: string;
  credential?: TokenCredential;
  clientOptions?: SecretClientOptions;
}

export class ConnectionSecretSource {
  private readonly client: SecretClient;

  constructor(private readonly options: ConnectionSecretSourceOptions) {
    this.client = new SecretClient(options.vaultUrl, options.credential ?? new DefaultAzureCredential(), {
      // A failed read is reported by the health check and retried on the next one; the SDK's own
      // retries would only make the answer slower.
      retryOptions: { maxRetries: 1 },
      ...options.clientOptions,
    });
  }

  get description(): string {
    return `secret '${this.options.secretName}' in ${this.options.vaultUrl}`;
  }

  async read(): Promise<ConnectionSecret> {
    let secret;
    try {
      secret = await this.client.getSecret(this.options.secretName);
    } catch (error) {
      throw describeFailure(error, this.options);
    }
    if (!secret.value) {
      throw new KeyVaultAccessError(`The ${this.description} is empty; it must hold a SQL Server connection string.`, 'other');
    }
    return { value: secret.value, version: secret.properties.version ?? '' };
  }
}
