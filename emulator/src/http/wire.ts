// Request bodies of the secrets API (spec §2.1), parsed into plain domain inputs. Wrong types are
// BadParameter with the property named; read-only attributes (created, updated, recoveryLevel,
// recoverableDays) are accepted and ignored, as the service does.
import { errors } from '../errors.js';
import type { AttributesInput, SetSecretInput, UpdateSecretInput } from '../vault/secrets.js';

type Body = Record<string, unknown>;

function object(body: unknown, what: string): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw errors.badParameter(`The request body is not a valid ${what} JSON object.`);
  }
  return body as Body;
}

function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw errors.invalidProperty(field);
  return value;
}

function tags(body: Body): Record<string, string> | undefined {
  const value = body.tags;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw errors.invalidProperty('tags');
  const result: Record<string, string> = {};
  for (const [key, tag] of Object.entries(value as Body)) {
    if (typeof tag !== 'string') throw errors.invalidProperty('tags');
    // A tag named __proto__ is a tag like any other: defined, not assigned (which would set the prototype).
    if (key === '__proto__') Object.defineProperty(result, key, { value: tag, enumerable: true, writable: true, configurable: true });
    else result[key] = tag;
  }
  return result;
}

function unixTime(attributes: Body, field: 'nbf' | 'exp'): number | undefined {
  const value = attributes[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw errors.invalidProperty(`attributes.${field}`);
  return Math.trunc(value);
}

function attributes(body: Body): AttributesInput | undefined {
  const value = body.attributes;
  if (value === undefined || value === null) return undefined;
  const attrs = object(value, 'attributes');
  const enabled = attrs.enabled;
  if (enabled !== undefined && enabled !== null && typeof enabled !== 'boolean') throw errors.invalidProperty('attributes.enabled');
  const nbf = unixTime(attrs, 'nbf');
  const exp = unixTime(attrs, 'exp');
  return {
    ...(typeof enabled === 'boolean' && { enabled }),
    ...(nbf !== undefined && { nbf }),
    ...(exp !== undefined && { exp }),
  };
}

export function parseSetSecret(raw: unknown): SetSecretInput {
  const body = object(raw, 'SecretSetParameters');
  const value = body.value;
  if (typeof value !== 'string') {
    throw errors.badParameter(value === undefined || value === null ? 'Property value is required.' : 'Property value has invalid value.');
  }
  const contentType = optionalString(body, 'contentType');
  const parsedTags = tags(body);
  const parsedAttributes = attributes(body);
  const input: SetSecretInput = { value };
  if (contentType !== undefined) input.contentType = contentType;
  if (parsedTags !== undefined) input.tags = parsedTags;
  if (parsedAttributes !== undefined) input.attributes = parsedAttributes;
  return input;
}

export function parseUpdateSecret(raw: unknown): UpdateSecretInput {
  const body = object(raw ?? {}, 'SecretUpdateParameters');
  const contentType = optionalString(body, 'contentType');
  const parsedTags = tags(body);
  const parsedAttributes = attributes(body);
  return {
    ...(contentType !== undefined && { contentType }),
    ...(parsedTags !== undefined && { tags: parsedTags }),
    ...(parsedAttributes !== undefined && { attributes: parsedAttributes }),
  };
}

/** SecretRestoreParameters: `value` is base64url (padding and standard base64 tolerated). */
export function parseRestore(raw: unknown): Uint8Array {
  const body = object(raw, 'SecretRestoreParameters');
  const value = body.value;
  if (typeof value !== 'string' || value.length === 0) throw errors.badParameter('Property value is required.');
  if (!/^[A-Za-z0-9_\-+/]*={0,2}$/.test(value)) throw errors.malformedBackup();
  return Buffer.from(value.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''), 'base64url');
}

export function parseMaxResults(raw: unknown): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const text = Array.isArray(raw) ? String(raw[0]) : String(raw);
  const value = /^-?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(value)) throw errors.badParameter(`Invalid value for maxresults: ${text}. The value must be between 1 and 25.`);
  return value;
}
