// The host names the HTTPS proxy answers for itself instead of tunnelling them: every public cloud's
// vault names (vault/clouds.ts), the Entra authority hosts (the public cloud's aliases and the national
// clouds' hosts, so an SDK configured for a vault of that cloud signs in here too), the management
// endpoint, and the instance metadata address (IMDS, plain HTTP on 169.254.169.254).
import { CLOUDS, cloudOfVaultHost } from '../vault/clouds.js';

/** Names answered by the emulator on port 443 (TLS with a certificate for the name). */
const EXACT_HOSTS = new Set([
  'login.microsoftonline.com',
  'login.windows.net',
  'sts.windows.net',
  'management.azure.com',
  ...CLOUDS.map((c) => c.authorityHost),
]);

/** The instance metadata service's link-local address (managed identity on Azure VMs and containers). */
export const IMDS_ADDRESS = '169.254.169.254';

/** Lower case, without a trailing dot or IPv6 brackets. */
export function normalizeHost(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

/** Whether the proxy answers TLS connections for `host` itself (CONNECT host:443). */
export function answersTls(host: string): boolean {
  const name = normalizeHost(host);
  return EXACT_HOSTS.has(name) || cloudOfVaultHost(name) !== undefined;
}

/** Whether the proxy answers plain-HTTP requests for `host` itself (the IMDS address; Azure names too). */
export function answersPlain(host: string): boolean {
  const name = normalizeHost(host);
  return name === IMDS_ADDRESS || answersTls(name);
}

/**
 * The name a certificate is made for when a TLS client names `servername`: the vault suffix's wildcard
 * for a vault name (one certificate per cloud), the name itself for the other names answered, undefined
 * for any other name.
 */
export function certificateNameFor(servername: string): string | undefined {
  const name = normalizeHost(servername);
  const cloud = cloudOfVaultHost(name);
  if (cloud) return `*.${cloud.vaultSuffix}`;
  return EXACT_HOSTS.has(name) ? name : undefined;
}
