// api-versions of the management plane, checked like ARM checks them: a missing one is
// MissingApiVersionParameter; a Key Vault resource type refuses versions its provider does not publish
// with NoRegisteredProviderFound, naming the ones it does (Azure/azure-rest-api-specs,
// specification/keyvault/resource-manager/Microsoft.KeyVault/{stable,preview}); Resources and
// Authorization refuse malformed ones with InvalidApiVersionParameter. Versions newer than the newest
// known are accepted, so that a new SDK release does not break the emulator (the data plane's rule too).
import { armErrors } from '../errors.js';

/** Microsoft.KeyVault/vaults (and deletedVaults, checkNameAvailability, operation results). */
export const KEY_VAULT_API_VERSIONS = [
  '2015-06-01',
  '2016-10-01',
  '2018-02-14-preview',
  '2018-02-14',
  '2019-09-01',
  '2020-04-01-preview',
  '2021-04-01-preview',
  '2021-06-01-preview',
  '2021-10-01',
  '2021-11-01-preview',
  '2022-02-01-preview',
  '2022-07-01',
  '2022-11-01',
  '2023-02-01',
  '2023-07-01',
  '2023-08-01-preview',
  '2024-04-01-preview',
  '2024-11-01',
  '2024-12-01-preview',
  '2025-05-01',
  '2026-02-01',
  '2026-03-01-preview',
  '2026-04-01-preview',
] as const;

/** From this version on, a vault created without enableRbacAuthorization uses Azure RBAC (docs access-control-default). */
export const RBAC_DEFAULT_FROM = '2026-02-01';

/** The first versions of the other namespaces served; any well-formed later version is accepted. */
const FIRST = { resources: '2014-04-01', authorization: '2015-06-01' } as const;
const RESOURCES_SAMPLE = ['2025-04-01', '2024-11-01', '2024-07-01', '2024-03-01', '2023-07-01', '2022-12-01', '2021-04-01', '2020-06-01', '2019-11-01', '2016-06-01'];
const AUTHORIZATION_SAMPLE = ['2022-04-01', '2022-01-01-preview', '2020-10-01-preview', '2020-04-01-preview', '2018-09-01-preview', '2018-01-01-preview', '2015-07-01'];

const DATED = /^(\d{4})-(\d{2})-(\d{2})(-preview|-beta|-alpha)?$/;

function dateOf(version: string): string | undefined {
  const match = DATED.exec(version);
  if (!match) return undefined;
  const [, y, m, d] = match;
  if (Number(m) < 1 || Number(m) > 12 || Number(d) < 1 || Number(d) > 31) return undefined;
  return `${y}-${m}-${d}`;
}

function single(raw: unknown): string {
  if (raw === undefined || raw === '') throw armErrors.missingApiVersion();
  return Array.isArray(raw) ? String(raw[0]) : String(raw);
}

export type Namespace = 'keyVault' | 'resources' | 'authorization';

/**
 * The api-version of a request to `namespace`; throws ARM's 400. `type` and `location` word the
 * Key Vault refusal (NoRegisteredProviderFound names both).
 */
export function checkArmApiVersion(raw: unknown, namespace: Namespace, context: { type?: string; location?: string; locations?: readonly string[] } = {}): string {
  const version = single(raw);
  const date = dateOf(version);
  if (namespace === 'keyVault') {
    const newest = KEY_VAULT_API_VERSIONS.at(-1)!;
    if ((KEY_VAULT_API_VERSIONS as readonly string[]).includes(version)) return version;
    if (date !== undefined && date > dateOf(newest)!) return version;
    throw armErrors.noRegisteredProvider({
      location: context.location ?? 'global',
      version,
      type: context.type ?? 'vaults',
      supported: KEY_VAULT_API_VERSIONS,
      locations: context.locations ?? [],
    });
  }
  const first = FIRST[namespace];
  if (date !== undefined && date >= first) return version;
  throw armErrors.invalidApiVersion(version, namespace === 'resources' ? RESOURCES_SAMPLE : AUTHORIZATION_SAMPLE);
}

/** Whether a vault created at this api-version without enableRbacAuthorization uses Azure RBAC. */
export function rbacByDefault(apiVersion: string): boolean {
  return (dateOf(apiVersion) ?? '') >= RBAC_DEFAULT_FROM;
}
