// What the module decides without a container: the config file it writes, the command and ports, vault
// and proxy URLs, the token request's resource, and how its agent resolves *.localhost names.
import { describe, expect, it } from 'vitest';
import {
  azureVaultUrlFor,
  CONFIG_PATH,
  containerConfig,
  PRIVATE_NETWORK_RANGES,
  PROXY_PORT,
  defaultVaultOf,
  EMULATOR_PORT,
  emulatorCommand,
  KeyVaultEmulatorContainer,
  localhostLookup,
  proxyUrlFor,
  resourceFromScopes,
  vaultUrlFor,
} from '../src/index.js';

const lookup = (host: string, name: string, all = false) =>
  new Promise<unknown>((resolve, reject) =>
    localhostLookup(host)(name, { all }, (error, address, family) => (error ? reject(error) : resolve(all ? address : { address, family }))),
  );

describe('container config', () => {
  it('adds the admin key and identity header, keeping the caller settings', () => {
    const config = containerConfig({ vaults: [{ name: 'app' }], logLevel: 'info' }, { adminKey: 'k', identityHeader: 'h', aliases: [] });
    expect(config).toEqual({ vaults: [{ name: 'app' }], logLevel: 'info', adminKey: 'k', identityHeader: 'h' });
  });

  it('adds network aliases the default certificate does not cover as server names', () => {
    const config = containerConfig({ serverNames: ['lan.example'] }, { adminKey: 'k', identityHeader: 'h', aliases: ['keyvault', 'app.vault.azure.net', 'x.vault.localhost', 'localhost'] });
    expect(config.serverNames).toEqual(['lan.example', 'keyvault']);
  });

  it('names the default vault: defaultVault, else the first vault, else "default"', () => {
    expect(defaultVaultOf({ defaultVault: 'main', vaults: [{ name: 'other' }] })).toBe('main');
    expect(defaultVaultOf({ vaults: [{ name: 'first' }, { name: 'second' }] })).toBe('first');
    expect(defaultVaultOf({})).toBe('default');
  });

  it('starts the emulator on every interface of the container with the copied config', () => {
    const command = emulatorCommand();
    expect(command[0]).toBe('start');
    expect(command.slice(command.indexOf('--host'), command.indexOf('--host') + 2)).toEqual(['--host', '0.0.0.0']);
    expect(command.slice(command.indexOf('--config'), command.indexOf('--config') + 2)).toEqual(['--config', CONFIG_PATH]);
  });

  it('starts the proxy on its fixed port, which is exposed with the HTTPS port', () => {
    const command = emulatorCommand();
    expect(command.slice(command.indexOf('--proxy-port'), command.indexOf('--proxy-port') + 2)).toEqual(['--proxy-port', '8444']);
    expect(command.slice(command.indexOf('--port'), command.indexOf('--port') + 2)).toEqual(['--port', '8443']);
    const exposed = (new KeyVaultEmulatorContainer() as unknown as { exposedPorts: unknown[] }).exposedPorts;
    expect(exposed).toEqual([EMULATOR_PORT, PROXY_PORT]);
    expect(PROXY_PORT).toBe(8444);
  });

  it('names the ranges IMDS answers besides loopback in the config file (withImdsAllowedSources)', () => {
    const container = new KeyVaultEmulatorContainer().withConfig({ logLevel: 'info' }).withImdsAllowedSources(...PRIVATE_NETWORK_RANGES);
    const config = (container as unknown as { config: Record<string, unknown> }).config;
    expect(config).toEqual({ logLevel: 'info', imds: { allowedSources: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'] } });
    expect(containerConfig(config, { adminKey: 'k', identityHeader: 'h', aliases: [] }).imds).toEqual(config.imds);
  });

  it('refuses a config that is not an object', () => {
    expect(() => new KeyVaultEmulatorContainer().withConfig([] as never)).toThrow('withConfig expects the config file as an object.');
  });
});

describe('vault URLs and name resolution', () => {
  it('builds <vault>.vault.localhost URLs and rejects names that are not vault names', () => {
    expect(vaultUrlFor('Orders', 49153)).toBe('https://orders.vault.localhost:49153');
    expect(() => vaultUrlFor('bad_name', 1)).toThrow("'bad_name' is not a vault name");
  });

  it('builds the real vault URLs the proxy answers, and proxy URLs (IPv6 hosts in brackets)', () => {
    expect(azureVaultUrlFor('Orders')).toBe('https://orders.vault.azure.net');
    expect(() => azureVaultUrlFor('orders.vault.azure.net')).toThrow("'orders.vault.azure.net' is not a vault name");
    expect(proxyUrlFor('localhost', 49154)).toBe('http://localhost:49154');
    expect(proxyUrlFor('10.1.2.3', 49154)).toBe('http://10.1.2.3:49154');
    expect(proxyUrlFor('::1', 49154)).toBe('http://[::1]:49154');
  });

  it('resolves localhost and every *.localhost name to the container host, and nothing else', async () => {
    await expect(lookup('127.0.0.1', 'orders.vault.localhost')).resolves.toEqual({ address: '127.0.0.1', family: 4 });
    await expect(lookup('10.1.2.3', 'localhost')).resolves.toEqual({ address: '10.1.2.3', family: 4 });
    await expect(lookup('::1', 'a.vault.localhost', true)).resolves.toEqual([{ address: '::1', family: 6 }]);
    await expect(lookup('localhost', 'a.vault.localhost')).resolves.toEqual({ address: '127.0.0.1', family: 4 });
    await expect(lookup('10.1.2.3', 'notlocalhost.invalid')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('token scopes', () => {
  it('turns the one scope into the v1 resource parameter', () => {
    expect(resourceFromScopes('https://vault.azure.net/.default')).toBe('https://vault.azure.net');
    expect(resourceFromScopes(['https://vault.localhost/.default'])).toBe('https://vault.localhost');
    expect(() => resourceFromScopes(['a/.default', 'b/.default'])).toThrow('exactly one scope');
  });
});
