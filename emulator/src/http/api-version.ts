// api-version rules: the secrets API versions 7.0..7.6 (with -preview.N forms), 2025-07-01, 2026-04-01,
// and any later date-shaped version (with optional -preview), so a new SDK release does not break the
// emulator. Anything else gets the real 400 "The specified version (x) is not recognized."
import { errors } from '../errors.js';

export const LATEST_API_VERSION = '2026-04-01';
const FIRST_DATED_VERSION = '2025-07-01';
const NUMBERED = /^7\.[0-6](-preview(\.\d+)?)?$/;
const DATED = /^(\d{4})-(\d{2})-(\d{2})(-preview)?$/;

export function isSupportedApiVersion(version: string): boolean {
  if (NUMBERED.test(version)) return true;
  const match = DATED.exec(version);
  if (!match) return false;
  const [, y, m, d] = match;
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  return `${y}-${m}-${d}` >= FIRST_DATED_VERSION;
}

/** Throws the service's 400 unless the query carries one supported api-version. */
export function checkApiVersion(raw: unknown): string {
  if (raw === undefined || raw === '') throw errors.missingApiVersion();
  const version = Array.isArray(raw) ? String(raw[0]) : String(raw);
  if (!isSupportedApiVersion(version)) throw errors.unsupportedApiVersion(version, LATEST_API_VERSION);
  return version;
}
