import { describe, expect, it } from 'vitest';
import { isSupportedApiVersion } from '../../src/http/api-version.js';
import { nextLink, parseSkipToken } from '../../src/http/ids.js';
import { challengeResourceFor, hostnameOf, vaultNameFromHost } from '../../src/http/pipeline.js';
import { ConfigError, parseConfigObject } from '../../src/config.js';
import { ControllableClock } from '../../src/vault/clock.js';
import { cloudOfVaultHost } from '../../src/vault/clouds.js';
import { recoveryLevelOf } from '../../src/vault/model.js';

describe('api versions', () => {
  it('accepts the published versions and later dates, refuses the rest', () => {
    for (const v of ['7.0', '7.3', '7.6', '7.6-preview.2', '2025-07-01', '2026-04-01', '2026-03-01-preview', '2099-01-01']) expect(isSupportedApiVersion(v), v).toBe(true);
    for (const v of ['7.7', '6.0', '2016-10-01', '2025-06-30', '2025-13-01', '2026-04-01-beta', '', 'x']) expect(isSupportedApiVersion(v), v).toBe(false);
  });
});

describe('continuation tokens', () => {
  it('round-trip through nextLink in the real service shape', () => {
    const link = nextLink('https://v.vault.azure.net', '/secrets', '7.6', 'name-key', 5);
    const url = new URL(link);
    expect(url.searchParams.get('api-version')).toBe('7.6');
    expect(url.searchParams.get('maxresults')).toBe('5');
    const token = url.searchParams.get('$skiptoken')!;
    expect(JSON.parse(Buffer.from(token, 'base64').toString())).toMatchObject({ NextMarker: expect.stringMatching(/^2!\d+!/), TargetLocation: 0 });
    expect(parseSkipToken(token)).toBe('name-key');
    expect(parseSkipToken('bm90IGpzb24=')).toBeUndefined();
  });
});

describe('hosts', () => {
  it('selects vaults by host name', () => {
    expect(vaultNameFromHost('MyVault.vault.azure.net', 'default')).toBe('myvault');
    expect(vaultNameFromHost('a.vault.localhost:8443', 'default')).toBe('a');
    expect(vaultNameFromHost('b.localhost:1', 'default')).toBe('b');
    expect(vaultNameFromHost('localhost:8443', 'default')).toBe('default');
    expect(vaultNameFromHost('127.0.0.1:8443', 'default')).toBe('default');
    expect(vaultNameFromHost('[::1]:8443', 'default')).toBe('default');
    expect(hostnameOf('[::1]:8443')).toBe('::1');
    expect(challengeResourceFor('x.vault.azure.net')).toBe('https://vault.azure.net');
    expect(challengeResourceFor('x.vault.localhost:1')).toBe('https://vault.localhost');
    expect(challengeResourceFor('localhost:1')).toBe('https://vault.azure.net');
  });

  it('knows the vault names of the other public clouds', () => {
    expect(vaultNameFromHost('cn1.vault.azure.cn', 'default')).toBe('cn1');
    expect(vaultNameFromHost('gov1.vault.usgovcloudapi.net:443', 'default')).toBe('gov1');
    expect(challengeResourceFor('cn1.vault.azure.cn')).toBe('https://vault.azure.cn');
    expect(challengeResourceFor('gov1.vault.usgovcloudapi.net')).toBe('https://vault.usgovcloudapi.net');
    expect(cloudOfVaultHost('a.b.vault.azure.net')).toBeUndefined();
    expect(cloudOfVaultHost('gov1.vault.usgovcloudapi.net')?.authorityHost).toBe('login.microsoftonline.us');
  });
});

describe('recovery levels', () => {
  it('follow retention and purge protection', () => {
    expect(recoveryLevelOf({ retentionDays: 90, purgeProtection: false, permissionModel: 'rbac' })).toBe('Recoverable+Purgeable');
    expect(recoveryLevelOf({ retentionDays: 90, purgeProtection: true, permissionModel: 'rbac' })).toBe('Recoverable');
    expect(recoveryLevelOf({ retentionDays: 7, purgeProtection: false, permissionModel: 'rbac' })).toBe('CustomizedRecoverable+Purgeable');
    expect(recoveryLevelOf({ retentionDays: 89, purgeProtection: true, permissionModel: 'rbac' })).toBe('CustomizedRecoverable');
  });
});

describe('clock', () => {
  it('freezes, offsets and moves both ways without touching the source', () => {
    let real = 1_000_000;
    const clock = new ControllableClock(() => real);
    clock.advance(5000);
    expect(clock.now()).toBe(1_005_000);
    real += 100;
    expect(clock.now()).toBe(1_005_100);
    clock.freeze();
    real += 100;
    expect(clock.now()).toBe(1_005_100);
    clock.advance(-10_000);
    expect(clock.now()).toBe(995_100);
    clock.unfreeze();
    real += 50;
    expect(clock.now()).toBe(995_150);
    clock.reset();
    expect(clock.now()).toBe(real);
  });
});

describe('config validation', () => {
  const error = (value: unknown) => {
    try {
      parseConfigObject(value);
    } catch (e) {
      if (e instanceof ConfigError) return e.message;
      throw e;
    }
    return 'ok';
  };
  it('names the offending field', () => {
    expect(error({ port: 'x' })).toBe("Invalid configuration: 'port' must be an integer from 0 to 65535.");
    expect(error({ vaults: [{ name: 'ok', softDeleteRetentionInDays: 3 }] })).toBe("Invalid configuration: 'vaults[0].softDeleteRetentionInDays' must be an integer from 7 to 90.");
    expect(error({ vaults: [{ name: 'ok', secrets: [{ name: 'bad_name', value: 'v' }] }] })).toBe(
      "Invalid configuration: 'vaults[0].secrets[0].name' must be 1-127 letters, digits and hyphens.",
    );
    expect(error({ vaults: [{ name: 'ok', secrets: [{ name: 'a' }] }] })).toBe("Invalid configuration: 'vaults[0].secrets[0].value' is required and must be a string.");
    expect(error({ colour: 'blue' })).toBe("Invalid configuration: 'colour' is not a known setting.");
    expect(error({ tenantId: 'abc' })).toBe("Invalid configuration: 'tenantId' must be a GUID.");
    expect(error({ vaults: [{ name: 'v', permissionModel: 'acl' }] })).toBe("Invalid configuration: 'vaults[0].permissionModel' must be one of 'rbac', 'accessPolicy'.");
    expect(error({ vaults: [{ name: 'v' }], durability: 'normal' })).toBe('ok');
  });
});

describe('request bodies', () => {
  it('keep a tag named __proto__ as a tag, beside the others, in order', async () => {
    const { parseSetSecret } = await import('../../src/http/wire.js');
    const input = parseSetSecret(JSON.parse('{"value":"v","tags":{"a":"1","__proto__":"x","constructor":"c"}}'));
    expect(Object.getPrototypeOf(input.tags)).toBe(Object.prototype);
    expect(Object.keys(input.tags!)).toEqual(['a', '__proto__', 'constructor']);
    expect(JSON.stringify(input.tags)).toBe('{"a":"1","__proto__":"x","constructor":"c"}');
  });
});
