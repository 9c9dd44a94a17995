// KeyVaultEmulatorContainer against a real Docker engine: the image built from this checkout (or
// KV_EMULATOR_IMAGE), seeded with withConfig, used with the real SDK through getVaultUrl,
// getCredential and getClientOptions, and by its real URL through the mapped proxy port
// (getProxyVaultUrl, getProxyClientOptions). Without an engine the suite is skipped and says why, and
// start() is shown to fail with the engine's reason rather than hang.
import { SecretClient } from '@azure/keyvault-secrets';
import { X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { resolve } from 'node:path';
import { getContainerRuntimeClient } from 'testcontainers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerRuntimeStatus, KeyVaultEmulatorContainer, type StartedKeyVaultEmulatorContainer } from '../src/index.js';

const status = await containerRuntimeStatus();
if (!status.available) console.log(`[testcontainers] skipped the container suite: ${status.reason}`);

describe.runIf(!status.available)('without a container engine', () => {
  it('start() fails with the reason instead of hanging', async () => {
    await expect(new KeyVaultEmulatorContainer('kv-emulator:absent').start()).rejects.toThrow(/container runtime/i);
  });
});

describe.skipIf(!status.available)('KeyVaultEmulatorContainer', () => {
  let emulator: StartedKeyVaultEmulatorContainer;
  const writer = { name: 'writer', clientId: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f' };

  beforeAll(async () => {
    const image = process.env.KV_EMULATOR_IMAGE ?? (await KeyVaultEmulatorContainer.buildImage({ context: resolve(import.meta.dirname, '../..'), image: 'kv-emulator:test' }));
    emulator = await new KeyVaultEmulatorContainer(image)
      .withConfig({
        vaults: [{ name: 'orders', secrets: [{ name: 'db', value: 'Server=sql;Password=seeded' }] }],
        identities: { managedIdentities: [{ name: 'app', systemAssigned: true }, writer] },
        roleAssignments: [
          { principal: 'app', role: 'Key Vault Secrets User', scope: '/vaults/orders' },
          { principal: 'writer', role: 'Key Vault Secrets Officer', scope: '/' },
        ],
      })
      .withNetworkAliases('keyvault')
      .start();
  });

  afterAll(async () => {
    await emulator?.stop();
  });

  it('serves the seeded secret to the real SDK through its managed identity', async () => {
    expect(emulator.getVaultUrl()).toBe(`https://orders.vault.localhost:${emulator.getPort()}`);
    const client = new SecretClient(emulator.getVaultUrl(), emulator.getCredential(), emulator.getClientOptions());
    expect((await client.getSecret('db')).value).toBe('Server=sql;Password=seeded');
    await expect(client.setSecret('db', 'not allowed')).rejects.toMatchObject({ statusCode: 403 });
  });

  it('gives a credential for a user-assigned identity', async () => {
    const client = new SecretClient(emulator.getVaultUrl('orders'), emulator.getCredential({ clientId: writer.clientId }), emulator.getClientOptions());
    expect((await client.setSecret('written', 'value')).value).toBe('value');
  });

  it('serves https://orders.vault.azure.net through its proxy on the mapped port', async () => {
    expect(emulator.getProxyPort()).not.toBe(emulator.getPort());
    expect(emulator.getProxyUrl()).toMatch(new RegExp(`^http://[^/]+:${emulator.getProxyPort()}$`));
    expect(emulator.getProxyVaultUrl()).toBe('https://orders.vault.azure.net');
    const client = new SecretClient(emulator.getProxyVaultUrl(), emulator.getCredential(), emulator.getProxyClientOptions());
    const secret = await client.getSecret('db');
    expect(secret.value).toBe('Server=sql;Password=seeded');
    expect(secret.properties.id).toMatch(/^https:\/\/orders\.vault\.azure\.net\/secrets\/db\//);
  });

  it('hands out the CA that issued the server certificate, which names the network alias', async () => {
    const ca = new X509Certificate(emulator.getCaCertificate());
    expect(ca.ca).toBe(true);
    const server = new X509Certificate(await emulator.readDataFile('server.pem'));
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.subjectAltName).toContain('DNS:keyvault');
  });

  it('requires the admin key from outside the container', async () => {
    await expect(emulator.admin('/vaults')).resolves.toMatchObject({ value: expect.arrayContaining([expect.objectContaining({ name: 'orders' })]) });
    const withoutKey = await new Promise<{ status: number; body: string }>((done, fail) =>
      request(`${emulator.getOrigin()}/_emulator/vaults`, { agent: emulator.getAgent() }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      })
        .on('error', fail)
        .end(),
    );
    expect(withoutKey.status).toBe(401);
    expect(JSON.parse(withoutKey.body)).toMatchObject({ error: { code: 'Unauthorized' } });
  });

  it('runs as a non-root user, and its image health check passes', async () => {
    expect((await emulator.exec(['id', '-u'])).stdout.trim()).not.toBe('0');
    const client = await getContainerRuntimeClient();
    const inspected = await client.container.inspect(client.container.getById(emulator.getId()));
    const test = inspected.Config.Healthcheck?.Test ?? [];
    expect(test[0]).toBe('CMD');
    expect((await emulator.exec(test.slice(1))).exitCode).toBe(0);
  });
});
