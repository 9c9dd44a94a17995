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
  | 'InternalServerError';

/** `innererror.code` values (the specific reason). */
export type KvInnerCode =
  | 'SecretDisabled'
  | 'ObjectIsDeletedButRecoverable'
  | 'ObjectIsBeingDeleted'
  | 'SecretManagedByKeyVault'
  | 'ForbiddenByRbac'
  | 'ForbiddenByPolicy'
  | 'ForbiddenByFirewall'
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
  purgeProtectionPermanent: () =>
    new KvError('BadParameter', 'Purge protection cannot be disabled once it has been enabled on a vault.'),
  internal: () => new KvError('InternalServerError', 'The server encountered an internal error. Please retry the request.'),
  // Storage that cannot take writes (durability/guard.ts): Key Vault's code for a service in trouble.
  storageUnavailable: (cause: keyof typeof STORAGE_PROBLEM, context: 'write' | 'health' = 'write') =>
    new KvError('ServiceUnavailable', `${context === 'write' ? 'The write was not stored' : 'The emulator cannot store writes'}: ${STORAGE_PROBLEM[cause]}`),
};
