// Wire shapes of the secrets API (spec §3), with the key order the real service uses (recorded traffic):
// bundle: value, contentType, id, managed, attributes, tags, kid; attributes: enabled, nbf, exp,
// created, updated, recoveryLevel, recoverableDays; deleted: recoveryId, deletedDate, scheduledPurgeDate first.
// Each shape is built by assigning its keys in that order, present ones only: a page presents 25 items,
// and building them from conditional object spreads cost about three times as much.
import { recoveryLevelOf, type Secret, type SecretVersion, type Vault } from '../vault/model.js';
import { recoveryId, secretId } from './ids.js';

type Json = Record<string, unknown>;

function attributes(version: SecretVersion, vault: Vault): Json {
  const a = version.attributes;
  const out: Json = { enabled: a.enabled };
  if (a.nbf !== undefined) out.nbf = a.nbf;
  if (a.exp !== undefined) out.exp = a.exp;
  out.created = a.created;
  out.updated = a.updated;
  out.recoveryLevel = recoveryLevelOf(vault);
  out.recoverableDays = vault.retentionDays;
  return out;
}

/** The keys a bundle and an item share, from contentType to tags, assigned to `out` in wire order. */
function common(out: Json, origin: string, vault: Vault, secret: Secret, versionedId: boolean): Json {
  const { head, version } = secret;
  if (version.contentType !== undefined) out.contentType = version.contentType;
  out.id = secretId(origin, head.name, versionedId ? version.version : undefined);
  if (head.managed) out.managed = true;
  out.attributes = attributes(version, vault);
  if (version.tags !== undefined) out.tags = version.tags;
  return out;
}

/**
 * The serialized SecretBundle of a get. A secret read again comes from the store's read cache as the
 * same frozen object (store/read-cache.ts), and a vault's settings are a new object when they change, so
 * the body is a function of those objects and the origin: it is kept with the secret, and a client
 * reading the same secret again and again (its connection string, a configuration refresh) is answered
 * without presenting and serializing it each time.
 */
const bundleBodies = new WeakMap<Secret, { origin: string; vault: Vault; body: string }>();

export function secretBundleBody(origin: string, vault: Vault, secret: Secret): string {
  const kept = bundleBodies.get(secret);
  if (kept !== undefined && kept.origin === origin && kept.vault === vault) return kept.body;
  const body = JSON.stringify(secretBundle(origin, vault, secret, true));
  bundleBodies.set(secret, { origin, vault, body });
  return body;
}

/** SecretBundle; `withValue` for set and get only. */
export function secretBundle(origin: string, vault: Vault, secret: Secret, withValue: boolean): Json {
  return bundleInto({}, origin, vault, secret, withValue);
}

function bundleInto(out: Json, origin: string, vault: Vault, secret: Secret, withValue: boolean): Json {
  if (withValue) out.value = secret.version.value;
  common(out, origin, vault, secret, true);
  if (secret.head.kid !== undefined) out.kid = secret.head.kid;
  return out;
}

/** DeletedSecretBundle: the deleted latest version, without its value. */
export function deletedSecretBundle(origin: string, vault: Vault, secret: Secret): Json {
  return bundleInto(deletionFields(origin, secret), origin, vault, secret, false);
}

/** SecretItem of GET /secrets (base id) or GET /secrets/{name}/versions (versioned id). */
export function secretItem(origin: string, vault: Vault, secret: Secret, versioned: boolean): Json {
  return common({}, origin, vault, secret, versioned);
}

export function deletedSecretItem(origin: string, vault: Vault, secret: Secret): Json {
  return common(deletionFields(origin, secret), origin, vault, secret, false);
}

function deletionFields(origin: string, secret: Secret): Json {
  const out: Json = { recoveryId: recoveryId(origin, secret.head.name) };
  const deleted = secret.head.deleted;
  if (deleted) {
    out.deletedDate = deleted.deletedDate;
    out.scheduledPurgeDate = deleted.scheduledPurgeDate;
  }
  return out;
}
