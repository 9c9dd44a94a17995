// An app's real identity mirrored in the config file: the emulator's tenant id and a service principal
// declared with the `appId` an app has in AZURE_CLIENT_ID (as `az ad sp create-for-rbac` prints it).
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv } from '../../src/config.js';
import { parseIdentities } from '../../src/identity/config.js';

const fail = (path: string, problem: string): never => {
  throw new ConfigError(`Invalid configuration: '${path}' ${problem}`);
};
const APP_ID = '0b7d3c1e-8a44-4f0e-9d5b-2c6e1f3a7b90';

describe('a mirrored service principal', () => {
  it('takes its client id from appId, and refuses an appId that contradicts clientId', () => {
    const [principal] = parseIdentities({ servicePrincipals: [{ name: 'orders-api', appId: APP_ID.toUpperCase(), clientSecret: 'local-only' }] }, { defaultClientSecret: 'x', fail });
    expect(principal).toMatchObject({ kind: 'servicePrincipal', clientId: APP_ID, clientSecret: 'local-only' });
    expect(() => parseIdentities({ servicePrincipals: [{ name: 'a', appId: APP_ID, clientId: '11111111-2222-4333-8444-555555555555' }] }, { defaultClientSecret: 'x', fail })).toThrow(
      "Invalid configuration: 'identities.servicePrincipals[0].appId' must equal 'clientId' when both are given (they name the same application id).",
    );
    expect(() => parseIdentities({ managedIdentities: [{ name: 'm', appId: APP_ID }] }, { defaultClientSecret: 'x', fail })).toThrow(/'identities.managedIdentities\[0\].appId' is not a known field/);
  });

  it('runs under the tenant id of KV_EMULATOR_TENANT_ID, which must be a GUID', () => {
    expect(configFromEnv({ KV_EMULATOR_TENANT_ID: '72F988BF-86F1-41AF-91AB-2D7CD011DB47' }).tenantId).toBe('72f988bf-86f1-41af-91ab-2d7cd011db47');
    expect(() => configFromEnv({ KV_EMULATOR_TENANT_ID: 'contoso.onmicrosoft.com' })).toThrow('KV_EMULATOR_TENANT_ID must be a GUID');
    expect(configFromEnv({ KV_EMULATOR_PROXY_PORT: 'off' }).proxyPort).toBe('off');
    expect(() => configFromEnv({ KV_EMULATOR_PROXY_PORT: '99999' })).toThrow("KV_EMULATOR_PROXY_PORT must be a port number (0-65535) or 'off'");
  });
});
