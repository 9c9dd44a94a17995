// Input rules of the secrets API: names (about-kv-objects: ^[0-9a-zA-Z-]+$, 1..127), value size
// (25600 characters, the real service's message), contentType (255), tags (15, 512-character names
// and values as the portal enforces), and attribute types. Violations are BadParameter, as on Azure.
import { errors } from '../errors.js';

export const LIMITS = {
  nameLength: 127,
  valueLength: 25_600,
  contentTypeLength: 255,
  tagCount: 15,
  tagNameLength: 512,
  tagValueLength: 512,
  pageSize: 25,
} as const;

const NAME = /^[0-9a-zA-Z-]+$/;
/** A UTF-16 surrogate that is not half of a pair: such a string has no UTF-8 form (http/text.ts). */
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasUnpairedSurrogate(text: string): boolean {
  return UNPAIRED_SURROGATE.test(text);
}
const VERSION = /^[0-9a-fA-F]{32}$/;

export function checkName(name: string): void {
  if (name.length === 0 || name.length > LIMITS.nameLength || !NAME.test(name)) throw errors.invalidName(name);
}

/** Versions are 32 hex characters; anything else can never exist, so it is simply not found. */
export function isVersionShaped(version: string): boolean {
  return VERSION.test(version);
}

export function checkValue(value: string): void {
  if (value.length > LIMITS.valueLength) throw errors.valueTooLong(LIMITS.valueLength);
}

export function checkContentType(contentType: string | undefined): void {
  if (contentType !== undefined && contentType.length > LIMITS.contentTypeLength) throw errors.invalidProperty('contentType');
}

export function checkTags(tags: Record<string, string> | undefined): void {
  if (tags === undefined) return;
  const entries = Object.entries(tags);
  if (entries.length > LIMITS.tagCount) throw errors.invalidProperty('tags');
  for (const [key, value] of entries) {
    if (key.length === 0 || key.length > LIMITS.tagNameLength || value.length > LIMITS.tagValueLength) throw errors.invalidProperty('tags');
  }
}

export function checkMaxResults(maxResults: number | undefined): number {
  if (maxResults === undefined) return LIMITS.pageSize;
  if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > LIMITS.pageSize) {
    throw errors.badParameter(`Invalid value for maxresults: ${maxResults}. The value must be between 1 and ${LIMITS.pageSize}.`);
  }
  return maxResults;
}
