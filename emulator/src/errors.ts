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
  memoryFull:
    "the emulator's in-memory database (--in-memory) has reached SQLite's limit of 1 GiB. Purge secrets to make room, or restart the emulator (it starts empty). Reads still work.",
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
  vaultDeleted: (name: string) =>
    new KvError(
      'NotFound',
      `The vault '${name}' is deleted: it was soft-deleted through the management plane. Recover it (PUT the vault with createMode 'recover') ` +
        'or purge it before using its name again.',
    ),
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

// ---------------------------------------------------------------------------------------------------
// The management plane (Azure Resource Manager and the Key Vault, Resources and Authorization resource
// providers behind it): ARM's envelope {error:{code,message}} with ARM's codes, each error carrying its
// own status. Messages marked "observed" are quoted from real responses in issue threads (cited in
// docs/management-plane.md); the others follow ARM's wording as closely as the evidence supports.

export type ArmErrorCode =
  | 'AuthenticationFailed'
  | 'InvalidAuthenticationToken'
  | 'InvalidAuthenticationTokenAudience'
  | 'InvalidAuthenticationTokenTenant'
  | 'ExpiredAuthenticationToken'
  | 'AuthorizationFailed'
  | 'MissingApiVersionParameter'
  | 'InvalidApiVersionParameter'
  | 'NoRegisteredProviderFound'
  | 'InvalidResourceNamespace'
  | 'InvalidResourceType'
  | 'SubscriptionNotFound'
  | 'ResourceGroupNotFound'
  | 'ResourceNotFound'
  | 'NotFound'
  | 'VaultAlreadyExists'
  | 'VaultNameNotValid'
  | 'ConflictError'
  | 'SoftDeletedVaultDoesNotExist'
  | 'MethodNotAllowed'
  | 'ScopeLocked'
  | 'BadRequest'
  | 'InvalidRequestContent'
  | 'LocationNotAvailableForResourceType'
  | 'LocationNotAvailableForResourceGroup'
  | 'InvalidResourceGroupLocation'
  | 'RoleAssignmentExists'
  | 'RoleAssignmentUpdateNotPermitted'
  | 'RoleAssignmentNotFound'
  | 'RoleDefinitionDoesNotExist'
  | 'InvalidRoleAssignmentId'
  | 'InvalidRoleDefinitionId'
  | 'PrincipalNotFound'
  | 'InvalidPrincipalId'
  | 'InvalidFilterInQueryString'
  | 'UnmatchedPrincipalType'
  | 'LocationRequired'
  | 'InvalidResourceLocation'
  | 'InvalidResourceGroupName'
  | 'UnsupportedMediaType'
  | 'RequestEntityTooLarge'
  | 'InternalServerError';

export class ArmError extends Error {
  readonly code: ArmErrorCode;
  readonly status: number;
  /** Extra response headers (the 401 challenge). */
  readonly headers: Record<string, string>;

  constructor(status: number, code: ArmErrorCode, message: string, options: { headers?: Record<string, string> } = {}) {
    super(message);
    this.name = 'ArmError';
    this.status = status;
    this.code = code;
    this.headers = options.headers ?? {};
  }
}

const VAULT_NAME_RULES =
  "A vault's name must be between 3-24 alphanumeric characters. The name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.";

export const armErrors = {
  // Authentication (ARM's front door)
  missingAuthorization: (challenge: string) =>
    new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", { headers: { 'www-authenticate': challenge } }),
  malformedAuthorization: (challenge: string) =>
    new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format.", {
      headers: { 'www-authenticate': challenge },
    }),
  invalidToken: (challenge: string) => new ArmError(401, 'InvalidAuthenticationToken', 'The access token is invalid.', { headers: { 'www-authenticate': challenge } }),
  notYetValidToken: (challenge: string) =>
    new ArmError(401, 'InvalidAuthenticationToken', 'The access token is not valid yet: its not-before time is later than the current UTC time.', {
      headers: { 'www-authenticate': challenge },
    }),
  // observed
  wrongAudience: (audience: string, allowed: string[], challenge: string) =>
    new ArmError(
      401,
      'InvalidAuthenticationTokenAudience',
      `The access token has been obtained for wrong audience or resource '${audience}'. It should exactly match with one of the allowed audiences ${allowed.map((a) => `'${a}'`).join(',')}.`,
      { headers: { 'www-authenticate': challenge } },
    ),
  // observed
  wrongIssuer: (issuer: string, tenantId: string, challenge: string) =>
    new ArmError(
      401,
      'InvalidAuthenticationTokenTenant',
      `The access token is from the wrong issuer '${issuer}'. It must match the tenant 'https://sts.windows.net/${tenantId}/' associated with this subscription. ` +
        `Please use the authority (URL) 'https://login.windows.net/${tenantId}' to get the token. Note, if the subscription is transferred to another tenant ` +
        'there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your ' +
        'subscription and see this error message, please try back later.',
      { headers: { 'www-authenticate': challenge } },
    ),
  // observed
  expiredToken: (expiry: string, now: string, challenge: string) =>
    new ArmError(401, 'ExpiredAuthenticationToken', `The access token expiry UTC time '${expiry}' is earlier than current UTC time '${now}'.`, {
      headers: { 'www-authenticate': challenge },
    }),
  // observed
  authorizationFailed: (denial: { client: string; objectId: string; action: string; scope: string }) =>
    new ArmError(
      403,
      'AuthorizationFailed',
      `The client '${denial.client}' with object id '${denial.objectId}' does not have authorization to perform action '${denial.action}' over scope ` +
        `'${denial.scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    ),

  // Requests ARM itself refuses
  missingApiVersion: () => new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.'),
  invalidApiVersion: (version: string, supported: readonly string[]) =>
    new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${version}' is invalid. The supported versions are '${supported.join(',')}'.`),
  // observed
  noRegisteredProvider: (input: { location: string; version: string; type: string; supported: readonly string[]; locations: readonly string[] }) =>
    new ArmError(
      400,
      'NoRegisteredProviderFound',
      `No registered resource provider found for location '${input.location}' and API version '${input.version}' for type '${input.type}'. ` +
        `The supported api-versions are '${input.supported.join(', ')}'. The supported locations are '${input.locations.join(', ')}'.`,
    ),
  invalidNamespace: (namespace: string) => new ArmError(400, 'InvalidResourceNamespace', `The resource namespace '${namespace}' is invalid.`),
  invalidResourceType: (type: string, namespace: string, version: string) =>
    new ArmError(400, 'InvalidResourceType', `The resource type '${type}' could not be found in the namespace '${namespace}' for api version '${version}'.`),
  // observed
  subscriptionNotFound: (subscriptionId: string) => new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`),
  // observed
  resourceGroupNotFound: (name: string) => new ArmError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`),
  // observed
  resourceNotFound: (type: string, name: string, resourceGroup: string) =>
    new ArmError(
      404,
      'ResourceNotFound',
      `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    ),
  notFound: (message: string) => new ArmError(404, 'NotFound', message),
  deletedVaultNotFound: (name: string, location: string) =>
    new ArmError(404, 'ResourceNotFound', `The Resource 'Microsoft.KeyVault/locations/${location}/deletedVaults/${name}' was not found.`),
  // observed
  locationRequired: () => new ArmError(400, 'LocationRequired', 'The location property is required for this definition.'),
  // observed
  resourceLocationConflict: (name: string, existing: string, resourceGroup: string, requested: string) =>
    new ArmError(
      409,
      'InvalidResourceLocation',
      `The resource '${name}' already exists in location '${existing}' in resource group '${resourceGroup}'. A resource with the same name cannot be ` +
        `created in location '${requested}'. Please select a new resource name.`,
    ),
  invalidResourceGroupName: (name: string) =>
    new ArmError(
      400,
      'InvalidResourceGroupName',
      `Resource group name '${name}' is invalid. The name can contain only letters, digits, underscores, parentheses, hyphens and periods, ` +
        'must be 1-90 characters long and cannot end in a period.',
    ),
  // observed: ARM's answer when a lock stops a delete
  scopeLocked: (scope: string, lockedScope: string) =>
    new ArmError(
      409,
      'ScopeLocked',
      `The scope '${scope}' cannot perform delete operation because following scope(s) are locked: '${lockedScope}'. Please remove the lock and try again.`,
    ),
  badRequest: (message: string) => new ArmError(400, 'BadRequest', message),
  invalidRequestContent: (detail: string) =>
    new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: '${detail}'.`),
  unsupportedMediaType: (contentType: string) =>
    new ArmError(415, 'UnsupportedMediaType', `The content media type '${contentType}' is not supported. Only 'application/json' is supported.`),
  bodyTooLarge: (limit: number) => new ArmError(413, 'RequestEntityTooLarge', `The request content size exceeds the maximum of ${limit} bytes.`),
  internal: () => new ArmError(500, 'InternalServerError', 'The server encountered an internal error. Please retry the request.'),
  locationNotAvailable: (location: string, type: string, locations: readonly string[]) =>
    new ArmError(
      400,
      'LocationNotAvailableForResourceType',
      `The provided location '${location}' is not available for resource type '${type}'. List of available regions for the resource type is '${locations.join(',')}'.`,
    ),
  resourceGroupLocationNotAvailable: (location: string, locations: readonly string[]) =>
    new ArmError(
      400,
      'LocationNotAvailableForResourceGroup',
      `The provided location '${location}' is not available for resource group. List of available regions is '${locations.join(',')}'.`,
    ),
  // observed
  resourceGroupLocationConflict: (name: string, existing: string, requested: string) =>
    new ArmError(
      409,
      'InvalidResourceGroupLocation',
      `Invalid resource group location '${requested}'. The Resource group already exists in location '${existing}'.`,
    ),

  // Microsoft.KeyVault
  // observed
  vaultAlreadyExists: (name: string) =>
    new ArmError(
      409,
      'VaultAlreadyExists',
      `The vault name '${name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that ` +
        'the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a ' +
        'recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information ' +
        'about VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740.',
    ),
  /** The same text answers checkNameAvailability for a name in use. */
  vaultNameInUseMessage: (name: string) =>
    `The vault name '${name}' is already in use. Vault names are globally unique so it is possible that the name is already taken. If you are sure that ` +
    'the vault name was not taken then it is possible that a vault with the same name was recently deleted but not purged after being placed in a ' +
    'recoverable state. If the vault is in a recoverable state then the vault will need to be purged before reusing the name. For more information ' +
    'about VaultAlreadyExists, soft delete and purging a vault follow this link https://go.microsoft.com/fwlink/?linkid=2147740.',
  vaultNameNotValid: (name: string) =>
    new ArmError(
      400,
      'VaultNameNotValid',
      `The vault name '${name}' is invalid. ${VAULT_NAME_RULES} Follow this link for more information: https://go.microsoft.com/fwlink/?linkid=2147742`,
    ),
  vaultNameRules: () => VAULT_NAME_RULES,
  // observed
  deletedVaultNameTaken: () =>
    new ArmError(
      409,
      'ConflictError',
      'A vault with the same name already exists in deleted state. You need to either recover or purge existing key vault. Follow this link ' +
        'https://go.microsoft.com/fwlink/?linkid=2149745 for more information on soft delete.',
    ),
  noDeletedVaultToRecover: () =>
    new ArmError(
      404,
      'SoftDeletedVaultDoesNotExist',
      'A soft deleted vault with the given name does not exist. Ensure that the name for the vault that is being attempted to recover is in a ' +
        'recoverable state. For more information on soft delete please follow this link https://go.microsoft.com/fwlink/?linkid=2149745',
    ),
  // observed (code and message; the status is inferred from the code)
  purgeNotAllowed: () => new ArmError(405, 'MethodNotAllowed', "Operation 'DeletedVaultPurge' is not allowed."),
  // observed
  purgeProtectionIrreversible: () =>
    new ArmError(400, 'BadRequest', 'The property "enablePurgeProtection" cannot be set to false. Enabling the purge protection for a vault is an irreversible action.'),
  softDeleteIrreversible: () =>
    new ArmError(400, 'BadRequest', 'The property "enableSoftDelete" cannot be set to false. Enabling the soft delete for a vault is an irreversible action.'),
  // observed
  retentionFixed: () => new ArmError(400, 'BadRequest', 'The property "softDeleteRetentionInDays" has been set already and it can\'t be modified.'),

  // Microsoft.Authorization
  // observed
  roleAssignmentExists: () => new ArmError(409, 'RoleAssignmentExists', 'The role assignment already exists.'),
  roleAssignmentUpdateNotPermitted: () =>
    new ArmError(409, 'RoleAssignmentUpdateNotPermitted', 'Tenant ID, application ID, principal ID, and scope are not allowed to be updated.'),
  roleAssignmentNotFound: (name: string) => new ArmError(404, 'RoleAssignmentNotFound', `The role assignment '${name}' is not found.`),
  roleDefinitionDoesNotExist: (id: string, status: 400 | 404 = 404) =>
    new ArmError(status, 'RoleDefinitionDoesNotExist', `The specified role definition with ID '${id}' does not exist.`),
  invalidRoleAssignmentId: (name: string) =>
    new ArmError(400, 'InvalidRoleAssignmentId', `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`),
  invalidRoleDefinitionId: (id: string) => new ArmError(400, 'InvalidRoleDefinitionId', `The role definition ID '${id}' is not valid.`),
  // observed
  principalNotFound: (principalId: string, tenantId: string) =>
    new ArmError(
      400,
      'PrincipalNotFound',
      `Principal ${principalId.replaceAll('-', '')} does not exist in the directory ${tenantId}. Check that you have the correct principal ID. If you are ` +
        'creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role ' +
        'assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype',
    ),
  invalidPrincipalId: (principalId: string) => new ArmError(400, 'InvalidPrincipalId', `The principal ID '${principalId}' is not valid. The principal ID must be a GUID.`),
  // observed
  unmatchedPrincipalType: (principalId: string, actual: string, specified: string) =>
    new ArmError(
      400,
      'UnmatchedPrincipalType',
      `The PrincipalId '${principalId.replaceAll('-', '')}' has type '${actual}' , which is different from specified PrincipalType '${specified}'.`,
    ),
  invalidFilter: (filter: string) =>
    new ArmError(
      400,
      'InvalidFilterInQueryString',
      `The filter '${filter}' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{value}'' or 'assignedTo('{value}')'.`,
    ),
};
