// @kv-emulator/testcontainers: the kv-emulator Azure Key Vault (secrets) emulator as a Testcontainers module.
export {
  ADMIN_KEY_HEADER,
  CONFIG_PATH,
  DATA_DIR,
  DEFAULT_IMAGE,
  EMULATOR_PORT,
  KeyVaultEmulatorContainer,
  PRIVATE_NETWORK_RANGES,
  PROXY_PORT,
  PROXY_READY_LINE,
  StartedKeyVaultEmulatorContainer,
  containerConfig,
  defaultVaultOf,
  emulatorCommand,
  type EmulatorConfigFile,
  type ManagedIdentitySelector,
} from './emulator-container.js';
export { EmulatorCredentialError, EmulatorManagedIdentityCredential, resourceFromScopes, type EmulatorManagedIdentityCredentialOptions } from './credential.js';
export { azureVaultUrlFor, emulatorAgent, EmulatorProxyAgent, localhostLookup, proxyAgent, proxyUrlFor, vaultUrlFor } from './network.js';
export { containerRuntimeStatus, type RuntimeStatus } from './runtime.js';
