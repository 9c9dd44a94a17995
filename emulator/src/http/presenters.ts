// Wire shapes of the secrets API (spec §3), with the key order the real service uses (recorded traffic):
// bundle: value, contentType, id, managed, attributes, tags, kid; attributes: enabled, nbf, exp,
// created, updated, recoveryLevel, recoverableDays; deleted: recoveryId, deletedDate, scheduledPurgeDate first.
import { recoveryLevelOf, type Secret, type SecretVersion, type Vault } from '../vault/model.js';
import { recoveryId, secretId } from './ids.js';

type Json = Record<string, unknown>;

function attributes(version: SecretVersion, vault: Vault): Json {
  const a = version.attributes;
  return {
    enabled: a.enabled,
    ...(a.nbf !== undefined && { nbf: a.nbf }),
    ...(a.exp !== undefined && { exp: a.exp }),
    created: a.created,
    updated: a.updated,
    recoveryLevel: recoveryLevelOf(vault),
    recoverableDays: vault.retentionDays,
  };
}

/** SecretBundle; `withValue` for set and get only. */
export function secretBundle(origin: string, vault: Vault, secret: Secret, withValue: boolean): Json {
  const { head, version } = secret;
  return {
    ...(withValue && { value: version.value }),
    ...(version.contentType !== undefined && { contentType: version.contentType }),
    id: secretId(origin, head.name, version.version),
    ...(head.managed && { managed: true }),
    attributes: attributes(version, vault),
    ...(version.tags !== undefined && { tags: version.tags }),
    ...(head.kid !== undefined && { kid: head.kid }),
  };
}

/** DeletedSecretBundle: the deleted latest version, without its value. */
export function deletedSecretBundle(origin: string, vault: Vault, secret: Secret): Json {
  return { ...deletionFields(origin, secret), ...secretBundle(origin, vault, secret, false) };
}

/** SecretItem of GET /secrets (base id) or GET /secrets/{name}/versions (versioned id). */
export function secretItem(origin: string, vault: Vault, secret: Secret, versioned: boolean): Json {
  const { head, version } = secret;
  return {
    ...(version.contentType !== undefined && { contentType: version.contentType }),
    id: secretId(origin, head.name, versioned ? version.version : undefined),
    ...(head.managed && { managed: true }),
    attributes: attributes(version, vault),
    ...(version.tags !== undefined && { tags: version.tags }),
  };
}

export function deletedSecretItem(origin: string, vault: Vault, secret: Secret): Json {
  return { ...deletionFields(origin, secret), ...secretItem(origin, vault, secret, false) };
}

function deletionFields(origin: string, secret: Secret): Json {
  const deleted = secret.head.deleted;
  return {
    recoveryId: recoveryId(origin, secret.head.name),
    ...(deleted && { deletedDate: deleted.deletedDate, scheduledPurgeDate: deleted.scheduledPurgeDate }),
  };
}
