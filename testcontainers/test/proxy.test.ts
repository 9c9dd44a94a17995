// The module's proxy agent against a real emulator started through its CLI (no Docker needed): the real
// SDK reaching https://<vault>.vault.azure.net through the emulator's HTTPS proxy, with the module's
// managed-identity credential and with a ClientSecretCredential at the default authority
// (login.microsoftonline.com, through the proxy too), trusting only the emulator's CA inside the
// tunnel; and the banner line the container's wait strategy waits for. Nothing here reaches the
// internet: every name used is one the proxy answers for.
import { ClientSecretCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureVaultUrlFor, emulatorAgent, EmulatorManagedIdentityCredential, PROXY_READY_LINE, proxyAgent, proxyUrlFor } from '../src/index.js';

const CLI = resolve(import.meta.dirname, '../../emulator/dist/cli.mjs');
const TENANT = '5e2a9c41-7b3d-4f68-9a0e-1c2b3d4e5f61';
const WRITER = { name: 'writer', appId: '2b3c4d5e-6f70-4a81-9b2c-3d4e5f607182', clientSecret: 'local-writer-secret' };

let child: ChildProcess;
let dataDir: string;
let banner = '';
let port: number;
let proxyPort: number;
let ca: string;
const agents: Array<{ destroy(): void }> = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'kv-testcontainers-proxy-'));
  writeFileSync(
    join(dataDir, 'config.json'),
    JSON.stringify({
      tenantId: TENANT,
      identityHeader: 'header-for-proxy-tests',
      vaults: [{ name: 'orders', secrets: [{ name: 'seeded', value: 'seeded value' }] }],
      identities: { managedIdentities: [{ name: 'reader', systemAssigned: true }], servicePrincipals: [WRITER] },
      roleAssignments: [
        { principal: 'reader', role: 'Key Vault Secrets User', scope: '/vaults/orders' },
        { principal: 'writer', role: 'Key Vault Secrets Officer', scope: '/vaults/orders' },
      ],
    }),
  );
  child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dataDir, '--config', join(dataDir, 'config.json')], { stdio: ['ignore', 'pipe', 'pipe'] });
  [port, proxyPort] = await new Promise<[number, number]>((done, fail) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      banner += chunk.toString();
      const listening = /listening on https:\/\/[^\s:]+:(\d+)/.exec(banner);
      const proxy = /HTTPS proxy +http:\/\/[^\s:]+:(\d+)/.exec(banner);
      if (listening && proxy) done([Number(listening[1]), Number(proxy[1])]);
    });
    child.stderr!.on('data', (chunk: Buffer) => (banner += chunk.toString()));
    child.on('exit', (code) => fail(new Error(`emulator exited with ${code}: ${banner}`)));
  });
  ca = readFileSync(join(dataDir, 'ca.pem'), 'utf8');
});

afterAll(async () => {
  for (const agent of agents) agent.destroy();
  if (child && child.exitCode === null) await new Promise((done) => (child.once('exit', done), child.kill('SIGTERM')));
  rmSync(dataDir, { recursive: true, force: true });
});

function throughProxy(trusted = ca) {
  const agent = proxyAgent({ proxyUrl: proxyUrlFor('localhost', proxyPort), ca: trusted });
  agents.push(agent);
  return agent;
}

function managedIdentity() {
  const agent = emulatorAgent({ ca, host: '127.0.0.1' });
  agents.push(agent);
  return new EmulatorManagedIdentityCredential({ endpoint: `https://localhost:${port}/msi/token`, identityHeader: 'header-for-proxy-tests', agent });
}

describe('proxyAgent', () => {
  it('lets the real SDK read https://orders.vault.azure.net through the proxy with the managed identity', async () => {
    const client = new SecretClient(azureVaultUrlFor('orders'), managedIdentity(), { agent: throughProxy() });
    const secret = await client.getSecret('seeded');
    expect(secret.value).toBe('seeded value');
    expect(secret.properties.id).toMatch(/^https:\/\/orders\.vault\.azure\.net\/secrets\/seeded\/[0-9a-f]{32}$/);
  });

  it('signs a service principal in at login.microsoftonline.com through the proxy, and writes', async () => {
    const agent = throughProxy();
    const credential = new ClientSecretCredential(TENANT, WRITER.appId, WRITER.clientSecret, { agent });
    const token = await credential.getToken('https://vault.azure.net/.default');
    const claims = JSON.parse(Buffer.from(token.token.split('.')[1]!, 'base64url').toString()) as { tid: string; appid: string; aud: string };
    expect(claims).toMatchObject({ tid: TENANT, appid: WRITER.appId, aud: 'https://vault.azure.net' });
    const client = new SecretClient(azureVaultUrlFor('orders'), credential, { agent });
    expect((await client.setSecret('written', 'through the proxy')).value).toBe('through the proxy');
    expect((await client.getSecret('written')).value).toBe('through the proxy');
  });

  it('trusts only the CA it is given inside the tunnel', async () => {
    const client = new SecretClient(azureVaultUrlFor('orders'), managedIdentity(), { agent: throughProxy(rootCertificates[0]!), retryOptions: { maxRetries: 0 } });
    await expect(client.getSecret('seeded')).rejects.toThrow(/certificate/i);
  });
});

describe('the container wait strategy', () => {
  it('waits for a line the start banner prints once the proxy listens', () => {
    const lines = banner.split('\n').filter((line) => PROXY_READY_LINE.test(line));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`:${proxyPort}`);
  });
});
