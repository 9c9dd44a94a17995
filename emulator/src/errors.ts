// The error catalog: every error a client can see, with Azure Key Vault's real codes and messages.
// Messages marked "observed" come from recorded real service traffic (see spec/secrets-api.md §5);
// the others are the closest wording the evidence supports. Layers throw these; only
// http/error-mapper.ts turns them into HTTP responses.

/** `error.code` values Key Vault uses on the secrets data plane. */
export type KvErrorCode =
  | 'BadParameter'
  | 'Unauthorized'
  | 'Forbidden'
  | 'SecretNotFound'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'Conflict'
  | 'NotSupported'
  | 'Throttled'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'RequestTimeout'
  | 'Malformed backup blob'
  | 'ServiceUnavailable'
  | 'InternalServerError'
  | 'BadGateway'
  | 'GatewayTimeout';

/** `innererror.code` values (the specific reason). */
export type KvInnerCode =
  | 'SecretDisabled'
  | 'ObjectIsDeletedButRecoverable'
  | 'ObjectIsBeingDeleted'
  | 'ObjectIsBeingRecovered'
  | 'SecretManagedByKeyVault'
  | 'ForbiddenByRbac'
  | 'ForbiddenByPolicy'
  | 'ForbiddenByFirewall'
  | 'ForbiddenByConnection'
  | 'PurgeProtectionEnabled';

export class KvError extends Error {
  readonly code: KvErrorCode;
  readonly innerCode: KvInnerCode | undefined;
  /** Extra response headers the error needs (the 401 challenge). */
  readonly headers: Record<string, string>;

  constructor(code: KvErrorCode, message: string, options: { inner?: KvInnerCode; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'KvError';
    this.code = code;
    this.innerCode = options.inner;
    this.headers = options.headers ?? {};
  }
}

const NOT_FOUND_HINT =
  'If you recently deleted this secret you may be able to recover it using the correct recovery command. ' +
  'For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182';

/** Why writes cannot be stored now (durability/causes.ts), in a client's words: no paths, no codes. */
const STORAGE_PROBLEM = {
  lost:
    "the emulator's data directory was removed or replaced while it was running, so nothing written now would survive a restart. " +
    'Reads still answer from the data opened at start. Restore the data directory and restart the emulator.',
  full: "the disk holding the emulator's data directory is full. Writes are taken again once space is freed; reads still work.",
  readOnly: "the emulator's data directory is on a read-only file system. Writes are taken again once it is writable; reads still work.",
  permission: 'the emulator is not permitted to write to its data directory. Writes are taken again once it is; reads still work.',
  io: "the disk holding the emulator's data directory reported an I/O error. Retry the request; if this persists, check the disk. Reads still work.",
} as const;

export const errors = {
  // observed
  secretNotFound: (nameOrId: string) =>
    new KvError('SecretNotFound', `A secret with (name/id) ${nameOrId} was not found in this key vault. ${NOT_FOUND_HINT}`),
  // observed
  deletedSecretNotFound: (name: string) => new KvError('SecretNotFound', `Deleted Secret not found: ${name}`),
  // observed
  secretDisabled: () =>
    new KvError('Forbidden', 'Operation get is not allowed on a disabled secret.', { inner: 'SecretDisabled' }),
  // observed
  deletedButRecoverable: (name: string) =>
    new KvError(
      'Conflict',
      `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; ` +
        'in this state, the secret can only be recovered or purged.',
      { inner: 'ObjectIsDeletedButRecoverable' },
    ),
  // observed (terraform-provider-azurerm#10454; the keys' form in a JS SDK recording): a purge while the
  // delete is still in progress
  beingDeleted: () => new KvError('Conflict', 'Secret is currently being deleted.', { inner: 'ObjectIsBeingDeleted' }),
  // observed (azure-sdk-for-net#34322, azure-sdk-for-python#19263): a set while the name is still being
  // deleted or purged
  beingDeletedNotRecreatable: (name: string) =>
    new KvError('Conflict', `Secret ${name} is currently being deleted and cannot be re-created; retry later.`, { inner: 'ObjectIsBeingDeleted' }),
  // observed (azure-sdk-for-net#31581, terraform-provider-azurerm#12285): a set right after a recover
  beingRecovered: (name: string) =>
    new KvError('Conflict', `Secret ${name} is currently being recovered and cannot be re-created; retry later.`, { inner: 'ObjectIsBeingRecovered' }),
  // observed (vcsjones/AzureSignTool#219, whose capture carries no Retry-After header): the service's 429
  throttled: (retryAfterSeconds?: number) =>
    new KvError('Throttled', 'Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached', {
      headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
    }),
  // observed (restore of a name that is in use)
  restoreConflict: (secretId: string) =>
    new KvError(
      'Conflict',
      `There was a conflict restoring the secret '${secretId}'. This can happen if either: a second secret with the same ` +
        'name was created after the first secret was deleted; thus trying to restore a secret whose name is already in use. ' +
        'To fix this, rename the second secret to something else so that the restore works. The second probable cause of ' +
        'this exception is when multiple operations are performed in parallel against the secret. To avoid this error, ' +
        'perform operations against a secret in a sequential manner.',
    ),
  // observed
  purgeProtected: (vault: string, region: string) =>
    new KvError(
      'Forbidden',
      'Operation "purge" is not allowed because purge protection is enabled for this vault. Key Vault service will ' +
        `automatically purge it after the retention period has passed. Vault: ${vault};location=${region}`,
    ),
  // observed for "set" and "delete"; other verbs follow the same pattern
  managedSecret: (verb: string) =>
    verb === 'delete'
      ? new KvError(
          'Forbidden',
          'Operation "delete" is not allowed on this secret, since it is associated with a certificate. Perform the ' +
            'operation on the corresponding certificate. For more information refer to ' +
            'https://docs.microsoft.com/en-us/azure/key-vault/certificates/about-certificates#composition-of-a-certificate',
          { inner: 'SecretManagedByKeyVault' },
        )
      : new KvError('Forbidden', `Operation "${verb}" is not allowed as this object's lifetime is managed by Key Vault.`, {
          inner: 'SecretManagedByKeyVault',
        }),
  // observed
  invalidName: (name: string) => new KvError('BadParameter', `The request URI contains an invalid name: ${name}`),
  // observed
  valueTooLong: (max: number) =>
    new KvError('BadParameter', `Secret is beyond the maximum permitted length of ${max} characters.`),
  // observed
  malformedBackup: () => new KvError('Malformed backup blob', 'Backup blob contains invalid or corrupt version.'),
  // observed
  unsupportedApiVersion: (version: string, latest: string) =>
    new KvError(
      'BadParameter',
      `The specified version (${version}) is not recognized. Consider using the latest supported version (${latest}).`,
    ),
  missingApiVersion: () => new KvError('BadParameter', 'The api-version query parameter (?api-version=) is required for all requests.'),
  // observed for PUT /secrets/
  methodNotAllowed: (method: string) => new KvError('MethodNotAllowed', `HTTP ${method} not allowed`),
  // observed on a certificate-style transformation request
  unsupportedTransformation: (from: string, to: string) =>
    new KvError('BadParameter', `The '${from}' to '${to}' transformation is not supported. Only PFX to PEM transformation is supported.`),
  badParameter: (message: string) => new KvError('BadParameter', message),
  // observed (real services answer "Property has invalid value" for out-of-range properties)
  invalidProperty: (property: string) => new KvError('BadParameter', `Property ${property} has invalid value\r\n`),
  notFound: (message: string) => new KvError('NotFound', message),
  unsupportedMediaType: (contentType: string) =>
    new KvError('UnsupportedMediaType', `The content type '${contentType}' is not supported. Use 'application/json'.`),
  // Answers to requests the HTTP parser refuses before any route runs (http/error-mapper.ts).
  invalidUri: () => new KvError('BadParameter', 'The request URI is not valid.'),
  headersTooLarge: () => new KvError('BadParameter', 'The size of the request headers is too long.'),
  malformedRequest: () => new KvError('BadParameter', 'The request is not a valid HTTP/1.1 request.'),
  unpairedSurrogate: (where: string) =>
    new KvError(
      'BadParameter',
      `The request body holds a string with an unpaired UTF-16 surrogate (at ${where.startsWith('a property') ? where : `'${where}'`}); ` +
        'Key Vault stores text as UTF-8, which cannot represent it.',
    ),
  imdsForbidden: (address: string) =>
    new KvError(
      'Forbidden',
      `The IMDS token endpoint answers callers on the emulator's machine and the source ranges its configuration names; ${address} is not one of them. ` +
        'Use the App Service endpoint (IDENTITY_ENDPOINT with IDENTITY_HEADER) from elsewhere, or allow the range (imds.allowedSources).',
    ),
  missingHost: () => new KvError('BadParameter', 'The request has no Host header, which HTTP/1.1 requires; send the host name of the vault.'),
  requestTimeout: () => new KvError('RequestTimeout', 'The request was not received completely within the time the server allows.'),
  bodyTooLarge: (limit: number) =>
    new KvError('RequestEntityTooLarge', `The request body is larger than the permitted ${limit} bytes.`),
  vaultNotFound: (name: string) =>
    new KvError(
      'NotFound',
      `The vault '${name}' does not exist in this emulator. Create it through the admin API or the config file, ` +
        'or start the emulator without --strict-vaults to create vaults on first use.',
    ),
  vaultExists: (name: string) => new KvError('Conflict', `The vault '${name}' already exists.`),
  conflict: (message: string) => new KvError('Conflict', message),
  // observed (spec §5.1): the multi-line RBAC denial, CRLF-separated, trailing space after the reason
  forbiddenByRbac: (denial: { caller: string; action: string; resource: string; vault: string; region: string }) =>
    new KvError(
      'Forbidden',
      'Caller is not authorized to perform action on resource.\r\n' +
        'If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n' +
        `Caller: ${denial.caller}\r\n` +
        `Action: '${denial.action}'\r\n` +
        `Resource: '${denial.resource}'\r\n` +
        'Assignment: (not found)\r\n' +
        'DenyAssignmentId: null\r\n' +
        "DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
        `Vault: ${denial.vault};location=${denial.region}\r\n`,
      { inner: 'ForbiddenByRbac' },
    ),
  // observed (spec §5): the access-policy denial
  forbiddenByPolicy: (denial: { caller: string; permission: string; vault: string; region: string }) =>
    new KvError(
      'Forbidden',
      `The user, group or application '${denial.caller}' does not have secrets ${denial.permission} permission on key vault ` +
        `'${denial.vault};location=${denial.region}'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
      { inner: 'ForbiddenByPolicy' },
    ),
  // observed (hashicorp/terraform-provider-azurerm#20742, spec §5): the vault firewall's denial,
  // CRLF-separated, without a trailing line break
  forbiddenByFirewall: (denial: { address: string; caller: string; vault: string; region: string }) =>
    new KvError(
      'Forbidden',
      'Client address is not authorized and caller is not a trusted service.\r\n' +
        `Client address: ${denial.address}\r\n` +
        `Caller: ${denial.caller}\r\n` +
        `Vault: ${denial.vault};location=${denial.region}`,
      { inner: 'ForbiddenByFirewall' },
    ),
  // observed (spec §5; AKS docs, Container Apps logs): public network access disabled
  forbiddenByConnection: (denial: { caller: string; vault: string; region: string }) =>
    new KvError(
      'Forbidden',
      'Public network access is disabled and request is not from a trusted service nor via an approved private link.\r\n' +
        `Caller: ${denial.caller}\r\n` +
        `Vault: ${denial.vault};location=${denial.region}`,
      { inner: 'ForbiddenByConnection' },
    ),
  purgeProtectionPermanent: () =>
    new KvError('BadParameter', 'Purge protection cannot be disabled once it has been enabled on a vault.'),
  internal: () => new KvError('InternalServerError', 'The server encountered an internal error. Please retry the request.'),
  eventSubscriptionNotFound: (vault: string, name: string) =>
    new KvError('NotFound', `The event subscription '${name}' does not exist on vault '${vault}'.`),
  // The endpoint of a new or changed event subscription failed Event Grid's validation handshake.
  webhookValidationFailed: (message: string) => new KvError('BadParameter', message),
  // The HTTPS proxy's own answers (proxy/server.ts), in the same envelope.
  proxyBadTarget: (target: string) =>
    new KvError('BadParameter', `The proxy request names '${target}', which is not a host and port (CONNECT host:port) or an http:// URL.`),
  notAProxyRequest: () =>
    new KvError(
      'BadParameter',
      "This is the emulator's HTTPS proxy: set it as HTTPS_PROXY (CONNECT host:443) or HTTP_PROXY (GET http://host/...). " +
        "The emulator's own HTTPS port answers direct requests.",
    ),
  proxyPassthroughRefused: (target: string) =>
    new KvError(
      'Forbidden',
      `The emulator's proxy does not pass traffic to ${target}: its configuration says "proxy": {"passthrough": false}. ` +
        'It answers only for the Key Vault, Entra ID and management host names it emulates.',
    ),
  proxyUnreachable: (target: string, reason: string) => new KvError('BadGateway', `The proxy could not connect to ${target}: ${reason}.`),
  proxyTimeout: (target: string, seconds: number) =>
    new KvError('GatewayTimeout', `The proxy could not connect to ${target} within ${seconds} seconds.`),
  // Storage that cannot take writes (durability/guard.ts): Key Vault's code for a service in trouble.
  storageUnavailable: (cause: keyof typeof STORAGE_PROBLEM, context: 'write' | 'health' = 'write') =>
    new KvError('ServiceUnavailable', `${context === 'write' ? 'The write was not stored' : 'The emulator cannot store writes'}: ${STORAGE_PROBLEM[cause]}`),
};
