// Text the emulator can store exactly. Key Vault keeps a secret as octets (UTF-8: "Internally, Key Vault
// stores and manages secrets as sequences of octets", learn.microsoft.com/azure/key-vault/secrets/about-secrets),
// and the service's .NET JSON reader refuses a \u escape that leaves a UTF-16 surrogate unpaired
// (System.Text.Json, dotnet/corefx#34636). Such a string has no UTF-8 form: SQLite would keep replacement
// characters instead, and a read would return something other than what was written. JSON bodies holding
// one are refused instead (400 BadParameter); RFC 7493 (I-JSON) §2.1 forbids them too.
import { errors } from '../errors.js';
import { hasUnpairedSurrogate } from '../vault/validation.js';

/** A \u escape of a surrogate in JSON source: the only way a request body (UTF-8) can carry an unpaired one. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Throws BadParameter naming where `parsed` (the JSON.parse of `source`) holds a string, or a property
 * name, with an unpaired surrogate. Bodies without a surrogate escape are not walked.
 */
export function checkWellFormedText(source: string, parsed: unknown): void {
  if (!SURROGATE_ESCAPE.test(source)) return;
  const where = unpairedIn(parsed, '');
  if (where !== undefined) throw errors.unpairedSurrogate(where);
}

function unpairedIn(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return hasUnpairedSurrogate(value) ? path || '(the body)' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = unpairedIn(value[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    const childPath = path ? `${path}.${key}` : key;
    if (hasUnpairedSurrogate(key)) return `a property name in ${path || 'the body'}`;
    const found = unpairedIn(child, childPath);
    if (found !== undefined) return found;
  }
  return undefined;
}
