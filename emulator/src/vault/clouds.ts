// The public Azure clouds whose vault host names the emulator answers for, with what a real vault of
// each cloud puts in its 401 challenge: the Key Vault resource (the SDKs check that the vault's host
// ends with "." + its host) and the Entra authority (whose path names the tenant). Suffixes and
// authority hosts: learn.microsoft.com "Azure Key Vault: DNS suffixes" (key-vault/general/about-keys-
// secrets-certificates.md) and "National clouds" (entra/identity-platform/authentication-national-cloud.md).
// The public cloud's challenge is the one recorded from real vaults since 2024:
//   Bearer authorization="https://login.microsoftonline.com/<tenant>", resource="https://vault.azure.net"
// (recordings of 2023 still name https://login.windows.net, an alias of the same authority).

export interface Cloud {
  name: 'AzureCloud' | 'AzureChinaCloud' | 'AzureUSGovernment';
  /** DNS suffix of its vaults: https://<vault>.<vaultSuffix>. */
  vaultSuffix: string;
  /** The resource its vaults name in their challenge (the token audience). */
  resource: string;
  /** Host of its Entra authority. */
  authorityHost: string;
}

export const CLOUDS: readonly Cloud[] = [
  { name: 'AzureCloud', vaultSuffix: 'vault.azure.net', resource: 'https://vault.azure.net', authorityHost: 'login.microsoftonline.com' },
  { name: 'AzureChinaCloud', vaultSuffix: 'vault.azure.cn', resource: 'https://vault.azure.cn', authorityHost: 'login.chinacloudapi.cn' },
  { name: 'AzureUSGovernment', vaultSuffix: 'vault.usgovcloudapi.net', resource: 'https://vault.usgovcloudapi.net', authorityHost: 'login.microsoftonline.us' },
];

/** The Key Vault resources of every cloud (audiences the emulator issues tokens for). */
export const CLOUD_RESOURCES: readonly string[] = CLOUDS.map((c) => c.resource);

/** The cloud of a vault host name (`<vault>.<suffix>`, one label before the suffix), if any. */
export function cloudOfVaultHost(hostname: string): Cloud | undefined {
  for (const cloud of CLOUDS) {
    const suffix = `.${cloud.vaultSuffix}`;
    if (hostname.endsWith(suffix) && /^[a-z0-9-]+$/.test(hostname.slice(0, -suffix.length))) return cloud;
  }
  return undefined;
}
